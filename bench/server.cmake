# casefiled's transport against a minimal Beast TLS server, same run, same driver.
# bench/CMakeLists.txt includes this file (OPTIONAL), like crypto.cmake and sqlcipher.cmake.
casefile_add_benchmark(server_transport_benchmark SOURCES ${CMAKE_CURRENT_LIST_DIR}/server_baseline.cpp LIBRARIES casefile_bench_support casefile_server)
target_compile_definitions(server_transport_benchmark PRIVATE CASEFILED_BINARY="$<TARGET_FILE:casefiled>")
add_dependencies(server_transport_benchmark casefiled)
# The tests' TLS client and casefiled process (tests/support/tls_test_client.hpp).
target_link_libraries(server_transport_benchmark PRIVATE casefile_test_https)
