// SqlcipherUploadStore: the UploadStore in the server store's database
// (casefile.db, tables attachment_uploads and attachment_blobs of server
// schema migration 4; the upload lease columns of migration 5).
//
// It holds no connection of its own: each call borrows one through a
// DatabaseLender, which casefiled opens under its database-key lock, so a
// database-key rotation (which needs every connection closed) never waits
// for, nor breaks, an upload.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>

#include "schema/database.hpp"
#include "server/attachments/upload_store.hpp"

namespace casefile::server {

// Runs `work` on a connection to casefile.db and returns what it returns.
// Errors: the connection's (open failures).
using DatabaseWork = std::function<Status(schema::Database&)>;
using DatabaseLender = std::function<Status(const DatabaseWork& work)>;

class SqlcipherUploadStore final : public UploadStore {
 public:
  explicit SqlcipherUploadStore(DatabaseLender lender) : lender_(std::move(lender)) {}

  Result<UploadRow> create_or_find(const UploadRow& upload, std::uint64_t device_quota_bytes) override;
  Result<std::optional<UploadRow>> find(const std::string& upload_id) override;
  Status set_offset(const std::string& upload_id, std::uint64_t offset, std::int64_t expires_at_ms) override;
  Status remove(const std::string& upload_id) override;
  Status complete(const std::string& upload_id, const StoredAttachment& stored) override;
  Result<std::optional<StoredAttachment>> find_stored(const sync::CaseId& case_id,
                                                      const sync::RecordId& record_id) override;
  Result<std::uint64_t> device_bytes(const sync::DeviceId& device) override;
  Result<std::vector<UploadRow>> expired(std::int64_t now_ms) override;
  Result<bool> take_lease(const std::string& upload_id, const std::string& holder, std::int64_t now_ms,
                          std::int64_t until_ms) override;
  Status end_lease(const std::string& upload_id, const std::string& holder) override;

 private:
  Status borrow(const DatabaseWork& work);

  DatabaseLender lender_;
};

// A lender that opens `database` under `key` for each call, while holding
// `lock` (casefiled's database-key mutex; the key is read under it).
DatabaseLender opening_lender(std::filesystem::path database, const crypto::SecretBytes& key,
                              std::mutex& lock);

}  // namespace casefile::server
