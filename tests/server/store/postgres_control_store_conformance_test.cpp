// PostgresControlStore passes the ControlStore conformance suite, on a fresh
// schema of the test process's PostgreSQL cluster a test.
#include <stdexcept>

#include "crypto/secret_bytes.hpp"
#include "server/access/postgres_control_store.hpp"
#include "server/store/postgres_connection.hpp"
#include "tests/server/access/control_store_conformance.hpp"
#include "tests/support/postgres_cluster.hpp"

namespace casefile::server::testing {
namespace postgres_control_store_conformance {
namespace {

class PostgresControlBackend final : public ControlStoreBackend {
 public:
  std::unique_ptr<ControlStore> open() override {
    auto store = PostgresControlStore::open(connection_string_);
    if (!store.ok()) throw std::runtime_error("open: " + store.error().code + ": " + store.error().message);
    return std::move(store).value();
  }
  bool execute(const std::string& sql) override { return run(sql).ok(); }
  void tamper(const std::string& sql) override {
    Status done = run("ALTER TABLE audit_log DISABLE TRIGGER audit_log_refuses_update; " + sql);
    ASSERT_TRUE(done.ok()) << done.error().message;
  }
  std::string blob_literal(crypto::ByteView bytes) override {
    return "'\\x" + crypto::to_hex(bytes) + "'::bytea";
  }

 private:
  Status run(const std::string& sql) {
    auto connection = postgres::Connection::open(crypto::SecretBytes(crypto::as_bytes(connection_string_)));
    if (!connection.ok()) return std::move(connection).error();
    return (*connection)->execute_script(sql);
  }

  std::string connection_string_ = test_support::PostgresCluster::shared().new_schema_connection_string();
};

ControlStoreBackendParam postgres_control_backend_param() {
  return {"postgres", [] { return std::make_unique<PostgresControlBackend>(); }};
}

INSTANTIATE_TEST_SUITE_P(Postgres, ControlStoreConformance,
                         ::testing::Values(postgres_control_backend_param()), control_backend_name);
INSTANTIATE_TEST_SUITE_P(Postgres, AuditChainTamperConformance,
                         ::testing::Values(postgres_control_backend_param()), control_backend_name);

}  // namespace
}  // namespace postgres_control_store_conformance
}  // namespace casefile::server::testing
