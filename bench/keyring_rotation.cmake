# keyring_rotation_benchmark: `keys rotate --all` (server::KeyringAdministration) over 1,000 cases x
# 5 devices on real instance files, with 10,000 and 1,000,000 records in casefile.db, in one run.
casefile_add_benchmark(keyring_rotation_benchmark
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/keyring_rotation_benchmark.cpp
  LIBRARIES casefile_server_sync_api casefile_server_access casefile_server_store casefile_server)
