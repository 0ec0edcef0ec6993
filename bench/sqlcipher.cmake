# SQLCipher insert rate: the storage ceiling later benchmarks compare against.
casefile_add_benchmark(sqlcipher_benchmark SOURCES sqlcipher_benchmark.cpp LIBRARIES casefile_schema)
