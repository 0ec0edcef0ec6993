# keyring_benchmark: planning, signing and wrapping a rotation of 1,000 cases x 5 devices.
casefile_add_benchmark(keyring_benchmark
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/keyring_benchmark.cpp
  LIBRARIES casefile_sync)
