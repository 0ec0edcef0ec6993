// SqlcipherServerStore passes the conformance suite, crash tests included.
#include "tests/server/store/sqlcipher_server_store_backend.hpp"

namespace casefile::server::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(Sqlcipher, ServerStoreConformance, ::testing::Values(sqlcipher_backend_param()),
                         backend_name);
INSTANTIATE_TEST_SUITE_P(Sqlcipher, ServerStoreCrashConformance, ::testing::Values(sqlcipher_backend_param()),
                         backend_name);

}  // namespace
}  // namespace casefile::server::testing
