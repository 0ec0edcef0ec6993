# Pieces shared by the benchmark programs (bench/support/): the benchmark
# instance and enrolled devices, and the transport load driver with its
# minimal Beast TLS server. bench/CMakeLists.txt includes this file first.
add_library(casefile_bench_support STATIC
  ${CMAKE_CURRENT_LIST_DIR}/support/bench_instance.cpp
  ${CMAKE_CURRENT_LIST_DIR}/support/transport_load.cpp)
target_link_libraries(casefile_bench_support
  PUBLIC casefile_device casefile_server_access casefile_server
  PRIVATE casefile_postgres_control_store
  PRIVATE casefile_warnings)
