// SqlcipherUploadStore passes the UploadStore conformance suite, on a
// casefile.db made by SqlcipherServerStore in a scratch directory.
#include "server/attachments/sqlcipher_upload_store.hpp"

#include <mutex>

#include "server/store/sqlcipher_server_store.hpp"
#include "tests/server/attachments/upload_store_conformance.hpp"
#include "tests/support/scratch_directory.hpp"

namespace casefile::server::testing {
namespace {

class SqlcipherUploadBackend final : public UploadStoreBackend {
 public:
  SqlcipherUploadBackend() {
    // Creates casefile.db with every server migration, attachments' included.
    auto store = SqlcipherServerStore::open(path(), key_);
    if (!store.ok()) throw std::runtime_error("open: " + store.error().message);
  }
  std::unique_ptr<UploadStore> open() override {
    return std::make_unique<SqlcipherUploadStore>(opening_lender(path(), key_, mutex_));
  }

 private:
  std::filesystem::path path() const { return directory_.path() / "casefile.db"; }

  test_support::ScratchDirectory directory_;
  crypto::SecretBytes key_ = test_support::random_database_key();
  std::mutex mutex_;
};

INSTANTIATE_TEST_SUITE_P(SqlCipher, UploadStoreConformance,
                         ::testing::Values(UploadStoreBackendParam{
                             "sqlcipher", [] { return std::make_unique<SqlcipherUploadBackend>(); }}),
                         upload_backend_name);

}  // namespace
}  // namespace casefile::server::testing
