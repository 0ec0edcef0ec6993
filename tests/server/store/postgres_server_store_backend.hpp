// The conformance suite's backend for PostgresServerStore: a fresh schema in
// the test process's PostgreSQL cluster (tests/support/postgres_cluster.hpp),
// reopened on restart as a restarted casefiled reconnects.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include "server/store/postgres_server_store.hpp"
#include "tests/server/store/server_store_conformance.hpp"
#include "tests/support/postgres_cluster.hpp"

namespace casefile::server::testing {

class PostgresBackend final : public ServerStoreBackend {
 public:
  explicit PostgresBackend(PostgresServerStoreOptions options = {})
      : connection_string_(test_support::PostgresCluster::shared().new_schema_connection_string()),
        options_(options) {}

  std::unique_ptr<sync::ServerStore> open() override { return open_postgres(); }

  std::unique_ptr<PostgresServerStore> open_postgres() {
    auto store = PostgresServerStore::open(connection_string_, options_);
    if (!store.ok()) throw std::runtime_error("open: " + store.error().code + ": " + store.error().message);
    return std::move(store).value();
  }

  const std::string& connection_string() const { return connection_string_; }

 private:
  std::string connection_string_;
  PostgresServerStoreOptions options_;
};

inline ServerStoreBackendParam postgres_backend_param() {
  return {"postgres", [] { return std::make_unique<PostgresBackend>(); }};
}

}  // namespace casefile::server::testing
