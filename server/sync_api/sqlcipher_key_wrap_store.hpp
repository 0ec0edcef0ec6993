// SqlcipherKeyWrapStore: the KeyWrapStore in its own SQLCipher file, keys.db
// beside the sync store (casefile.db), keyed with the instance database key.
// One connection, behind a mutex: uploads come once an epoch, reads once a
// device and case.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>

#include "crypto/secret_bytes.hpp"
#include "schema/database.hpp"
#include "server/sync_api/key_wrap_store.hpp"

namespace casefile::server {

// keys.db in the directory of the sync store's database file.
std::filesystem::path key_wrap_database_path(const std::filesystem::path& sync_database);

class SqlcipherKeyWrapStore final : public KeyWrapStore {
 public:
  // Opens or creates the file and applies its migrations. Errors:
  // schema::Database::open's ("wrong_key", ...), "schema_too_new", the
  // migrations' errors.
  static Result<std::unique_ptr<SqlcipherKeyWrapStore>> open(const std::filesystem::path& path,
                                                             const crypto::SecretBytes& database_key);

  Result<KeyEpochStored> put_epoch(const KeyEpoch& epoch) override;
  Result<std::vector<KeyEpochForDevice>> epochs_for_device(const sync::CaseId& case_id,
                                                           const sync::DeviceId& device) override;
  Result<KeyEpochStored> add_wraps(const sync::CaseId& case_id, std::uint32_t epoch,
                                   std::span<const KeyWrap> wraps) override;
  Result<std::vector<CaseHeadEpoch>> head_epochs(std::span<const sync::CaseId> cases) override;
  Result<std::vector<KeyEpoch>> epochs(const sync::CaseId& case_id) override;

  // Re-encrypts the file under `new_key` (schema::Database::rekey) on the
  // store's one connection; calls wait on the store's mutex meanwhile, and
  // the connection carries on under the new key. REQUIRES: no other
  // connection to the file is open (casefile-admin's included).
  [[nodiscard]] Status rekey(const crypto::SecretBytes& new_key);

 private:
  explicit SqlcipherKeyWrapStore(schema::Database database) : database_(std::move(database)) {}

  std::mutex mutex_;
  schema::Database database_;  // GUARDED_BY(mutex_)
};

}  // namespace casefile::server
