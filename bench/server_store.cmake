# Push ingest through SqlcipherServerStore (group commit, 1/4/8 pushers) beside
# the raw SQLCipher insert of the same rows, and incremental pull at 10k/100k.
casefile_add_benchmark(server_store_benchmark SOURCES server_store_benchmark.cpp LIBRARIES casefile_server_store)
