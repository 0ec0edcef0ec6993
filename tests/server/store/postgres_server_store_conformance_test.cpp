// PostgresServerStore passes the conformance suite, crash tests included
// (SIGKILLed clients; the PostgreSQL server itself keeps running).
#include "tests/server/store/postgres_server_store_backend.hpp"

namespace casefile::server::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(Postgres, ServerStoreConformance, ::testing::Values(postgres_backend_param()),
                         backend_name);
INSTANTIATE_TEST_SUITE_P(Postgres, ServerStoreCrashConformance, ::testing::Values(postgres_backend_param()),
                         backend_name);

}  // namespace
}  // namespace casefile::server::testing
