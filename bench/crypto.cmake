# crypto_benchmark: AEAD, HPKE, envelopes, Ed25519 and key-file opening.
casefile_add_benchmark(crypto_benchmark
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/crypto_benchmark.cpp
  LIBRARIES casefile_crypto)
