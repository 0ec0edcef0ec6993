// PostgresUploadStore: the UploadStore (upload_store.hpp) on the PostgreSQL
// database that PostgresServerStore uses (tables attachment_uploads and
// attachment_blobs, PostgreSQL schema versions 4 and 5), so that a tus upload begun
// through one casefiled instance resumes through another (docs/scale.md).
// The attachment bytes stay files under [attachments] directory, which every
// instance must share (a shared volume).
//
// Concurrency: create_or_find takes a transaction-scoped advisory lock on the
// device, so two instances cannot both pass the quota check; complete()
// inserts ON CONFLICT DO NOTHING; take_lease is one conditional UPDATE. Thread-safe: calls run on a pool of
// connections. A library of its own (casefile_postgres_upload_store), so
// that only what uses PostgreSQL links libpq.
#pragma once

#include <memory>
#include <string_view>

#include "server/attachments/upload_store.hpp"

namespace casefile::server {

namespace postgres {
class ConnectionPool;
}  // namespace postgres

class PostgresUploadStore final : public UploadStore {
 public:
  // Connects and applies the PostgreSQL migrations. Errors:
  // "store_unavailable", "schema_too_new".
  static Result<std::unique_ptr<PostgresUploadStore>> open(std::string_view connection_string,
                                                           std::size_t connections = 2);
  ~PostgresUploadStore() override;
  PostgresUploadStore(const PostgresUploadStore&) = delete;
  PostgresUploadStore& operator=(const PostgresUploadStore&) = delete;

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
  explicit PostgresUploadStore(std::unique_ptr<postgres::ConnectionPool> pool);

  std::unique_ptr<postgres::ConnectionPool> pool_;
};

}  // namespace casefile::server
