// The conformance suite's backend for SqlcipherServerStore: one database file
// in a scratch directory, under one random key, reopened on restart.
#pragma once

#include <memory>

#include "server/store/sqlcipher_server_store.hpp"
#include "tests/support/scratch_directory.hpp"
#include "tests/server/store/server_store_conformance.hpp"

namespace casefile::server::testing {

class SqlcipherBackend final : public ServerStoreBackend {
 public:
  explicit SqlcipherBackend(SqlcipherServerStoreOptions options = {}) : options_(options) {}

  std::unique_ptr<sync::ServerStore> open() override { return open_sqlcipher(); }

  std::unique_ptr<SqlcipherServerStore> open_sqlcipher() {
    auto store = SqlcipherServerStore::open(path(), key_, options_);
    if (!store.ok()) throw std::runtime_error("open: " + store.error().code + ": " + store.error().message);
    return std::move(store).value();
  }

  std::filesystem::path path() const { return directory_.file("casefile.db"); }
  const crypto::SecretBytes& key() const { return key_; }

 private:
  test_support::ScratchDirectory directory_;
  crypto::SecretBytes key_ = test_support::random_database_key();
  SqlcipherServerStoreOptions options_;
};

inline ServerStoreBackendParam sqlcipher_backend_param() {
  return {"sqlcipher", [] { return std::make_unique<SqlcipherBackend>(); }};
}

}  // namespace casefile::server::testing
