# A 1 GiB attachment uploaded (tus PATCH) and downloaded (range GETs) through a real
# casefiled over TLS, and attached, synced and fetched by real casefile-device
# processes, against raw TLS on loopback with the same certificate and cipher.
# bench/CMakeLists.txt includes this file.
casefile_add_benchmark(attachment_transfer_benchmark
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/attachment_transfer_benchmark.cpp
  LIBRARIES casefile_server_attachments casefile_server_sync_api casefile_server_access casefile_server
            casefile_e2e_support GTest::gtest)
target_compile_definitions(attachment_transfer_benchmark PRIVATE CASEFILED_BINARY="$<TARGET_FILE:casefiled>")
add_dependencies(attachment_transfer_benchmark casefiled casefile-device)
# The tests' TLS client and casefiled process (tests/support/tls_test_client.hpp).
target_link_libraries(attachment_transfer_benchmark PRIVATE casefile_test_https)
