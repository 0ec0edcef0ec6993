# casefile-bench (bench/casefile_bench/): the load harness of issue 9 against a real casefiled,
# with its peers (minimal Beast TLS, nginx, PouchDB). bench/CMakeLists.txt includes this file.
add_executable(casefile-bench
  ${CMAKE_CURRENT_LIST_DIR}/casefile_bench/main.cpp
  ${CMAKE_CURRENT_LIST_DIR}/casefile_bench/report.cpp
  ${CMAKE_CURRENT_LIST_DIR}/casefile_bench/sync_scenarios.cpp
  ${CMAKE_CURRENT_LIST_DIR}/casefile_bench/incremental_pull.cpp
  ${CMAKE_CURRENT_LIST_DIR}/casefile_bench/connections_scenario.cpp
  ${CMAKE_CURRENT_LIST_DIR}/casefile_bench/peer_scenarios.cpp
  ${CMAKE_CURRENT_LIST_DIR}/casefile_bench/scale_out_scenario.cpp)
target_link_libraries(casefile-bench PRIVATE casefile_bench_support casefile_server_store casefile_server_sync_api
                      casefile_test_https casefile_postgres_server_store casefile_warnings)
target_compile_definitions(casefile-bench PRIVATE
  CASEFILED_BINARY="$<TARGET_FILE:casefiled>"
  CASEFILE_PEER_SCRIPT="${CMAKE_CURRENT_LIST_DIR}/peer/pouchdb_replication.js"
  CASEFILE_PEER_NODE_MODULES="${CMAKE_BINARY_DIR}/peer/node_modules")
add_dependencies(casefile-bench casefiled)
