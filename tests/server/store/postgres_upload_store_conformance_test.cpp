// PostgresUploadStore passes the UploadStore conformance suite, on a fresh
// schema of the test process's PostgreSQL cluster a test.
#include <stdexcept>

#include "server/attachments/postgres_upload_store.hpp"
#include "tests/server/attachments/upload_store_conformance.hpp"
#include "tests/support/postgres_cluster.hpp"

namespace casefile::server::testing {
namespace postgres_upload_store_conformance {
namespace {

class PostgresUploadBackend final : public UploadStoreBackend {
 public:
  std::unique_ptr<UploadStore> open() override {
    auto store = PostgresUploadStore::open(connection_string_);
    if (!store.ok()) throw std::runtime_error("open: " + store.error().code + ": " + store.error().message);
    return std::move(store).value();
  }

 private:
  std::string connection_string_ = test_support::PostgresCluster::shared().new_schema_connection_string();
};

INSTANTIATE_TEST_SUITE_P(Postgres, UploadStoreConformance,
                         ::testing::Values(UploadStoreBackendParam{
                             "postgres", [] { return std::make_unique<PostgresUploadBackend>(); }}),
                         upload_backend_name);

}  // namespace
}  // namespace postgres_upload_store_conformance
}  // namespace casefile::server::testing
