# Push and pull through FieldDevice, the sync client and a real casefiled over TLS, against raw
# SQLCipher inserts of the same bytes in the same run. bench/CMakeLists.txt includes this file.
casefile_add_benchmark(sync_transport_benchmark
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/sync_transport_benchmark.cpp
  LIBRARIES casefile_bench_support casefile_device casefile_server_access casefile_server)
target_compile_definitions(sync_transport_benchmark PRIVATE CASEFILED_BINARY="$<TARGET_FILE:casefiled>")
add_dependencies(sync_transport_benchmark casefiled)
# The tests' TLS client and casefiled process (tests/support/tls_test_client.hpp).
target_link_libraries(sync_transport_benchmark PRIVATE casefile_test_https)
