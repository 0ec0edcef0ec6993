#include "server/attachments/postgres_upload_store.hpp"

#include <utility>

#include "crypto/secret_bytes.hpp"
#include "server/store/internal/column_values.hpp"
#include "server/store/postgres_connection.hpp"
#include "server/store/postgres_schema_migrations.hpp"

namespace casefile::server {
namespace {

using internal::id_column;
using postgres::Connection;
using postgres::Parameters;
using postgres::QueryResult;

#define UPLOAD_ASSIGN_OR_RETURN(name, expr)                         \
  auto name##_result = (expr);                                      \
  if (!name##_result.ok()) return std::move(name##_result).error(); \
  auto name = std::move(*name##_result)

// The interface's codes pass; anything else is the store failing, as
// SqlcipherUploadStore reports it.
Error upload_error(Error error) {
  if (error.code == "store_corrupt" || error.code == "upload_not_found" ||
      error.code == "attachment_already_stored" || error.code == "upload_quota_exceeded") {
    return error;
  }
  return make_error("store_unavailable", "attachment store: " + error.code + ": " + error.message);
}

template <typename Body>
auto with_connection(postgres::ConnectionPool& pool, Body&& body)
    -> decltype(body(std::declval<Connection&>())) {
  auto lease = pool.acquire();
  if (!lease.ok()) return upload_error(std::move(lease).error());
  auto result = body(lease->connection());
  if (!result.ok()) return upload_error(std::move(result).error());
  return result;
}

constexpr const char* kUploadColumns =
    "upload_id, device, case_id, record_id, length, upload_offset, expires_at";

template <typename Id>
Result<Id> id_at(const QueryResult& rows, int row, int column) {
  auto id = internal::id_from_bytes<Id>(rows.bytes(row, column));
  if (!id) return make_error("store_corrupt", "an attachment row holds a bad id");
  return *id;
}

Result<UploadRow> upload_at(const QueryResult& rows, int row) {
  UploadRow upload;
  upload.upload_id = rows.text(row, 0);
  UPLOAD_ASSIGN_OR_RETURN(device, id_at<sync::DeviceId>(rows, row, 1));
  UPLOAD_ASSIGN_OR_RETURN(case_id, id_at<sync::CaseId>(rows, row, 2));
  UPLOAD_ASSIGN_OR_RETURN(record_id, id_at<sync::RecordId>(rows, row, 3));
  UPLOAD_ASSIGN_OR_RETURN(length, rows.int64(row, 4));
  UPLOAD_ASSIGN_OR_RETURN(offset, rows.int64(row, 5));
  UPLOAD_ASSIGN_OR_RETURN(expires_at, rows.int64(row, 6));
  upload.device = device;
  upload.case_id = case_id;
  upload.record_id = record_id;
  upload.length = static_cast<std::uint64_t>(length);
  upload.offset = static_cast<std::uint64_t>(offset);
  upload.expires_at_ms = expires_at;
  return upload;
}

Result<std::optional<UploadRow>> first_upload(Result<QueryResult> rows) {
  if (!rows.ok()) return std::move(rows).error();
  if (rows->rows() == 0) return std::optional<UploadRow>();
  UPLOAD_ASSIGN_OR_RETURN(upload, upload_at(*rows, 0));
  return std::optional<UploadRow>(std::move(upload));
}

Result<std::uint64_t> device_bytes_on(Connection& connection, const sync::DeviceId& device) {
  UPLOAD_ASSIGN_OR_RETURN(
      total, connection.execute(
                 "SELECT ((SELECT coalesce(sum(length), 0) FROM attachment_uploads WHERE device = $1) "
                 "+ (SELECT coalesce(sum(size), 0) FROM attachment_blobs WHERE device = $1))::int8",
                 Parameters().bytes(id_column(device))));
  UPLOAD_ASSIGN_OR_RETURN(bytes, total.int64(0, 0));
  return static_cast<std::uint64_t>(bytes);
}

// Serialises quota checks of one device across instances until the
// transaction ends; the key is the device id's first 8 bytes, with a tag in
// the top byte so that it differs from the key-wrap store's case locks.
Status lock_device(Connection& connection, const sync::DeviceId& device) {
  std::uint64_t key = 0x55;  // 'U'
  for (int i = 1; i < 8; ++i) key = (key << 8) | device.bytes[static_cast<std::size_t>(i)];
  auto locked = connection.execute("SELECT pg_advisory_xact_lock($1)",
                                   Parameters().int64(static_cast<std::int64_t>(key)));
  if (!locked.ok()) return std::move(locked).error();
  return ok_status();
}

}  // namespace

Result<std::unique_ptr<PostgresUploadStore>> PostgresUploadStore::open(std::string_view connection_string,
                                                                       std::size_t connections) {
  const crypto::SecretBytes secret(crypto::as_bytes(connection_string));
  auto first = Connection::open(secret);
  if (!first.ok()) return upload_error(std::move(first).error());
  Status migrated = migrate_postgres(**first, postgres_server_migrations());
  if (!migrated.ok()) {
    if (migrated.error().code == "schema_too_new") return std::move(migrated).error();
    return upload_error(std::move(migrated).error());
  }
  auto pool = std::make_unique<postgres::ConnectionPool>(secret, std::move(first).value(), connections);
  return std::unique_ptr<PostgresUploadStore>(new PostgresUploadStore(std::move(pool)));
}

PostgresUploadStore::PostgresUploadStore(std::unique_ptr<postgres::ConnectionPool> pool)
    : pool_(std::move(pool)) {}

PostgresUploadStore::~PostgresUploadStore() = default;

Result<UploadRow> PostgresUploadStore::create_or_find(const UploadRow& upload,
                                                      std::uint64_t device_quota_bytes) {
  return with_connection(*pool_, [&](Connection& connection) -> Result<UploadRow> {
    return postgres::in_transaction(connection, "BEGIN", [&]() -> Result<UploadRow> {
      CASEFILE_RETURN_IF_ERROR(lock_device(connection, upload.device));
      UPLOAD_ASSIGN_OR_RETURN(
          existing, first_upload(connection.execute(std::string("SELECT ") + kUploadColumns +
                                                        " FROM attachment_uploads WHERE device = $1 AND "
                                                        "case_id = $2 AND record_id = $3",
                                                    Parameters()
                                                        .bytes(id_column(upload.device))
                                                        .bytes(id_column(upload.case_id))
                                                        .bytes(id_column(upload.record_id)))));
      if (existing) return *existing;
      UPLOAD_ASSIGN_OR_RETURN(used, device_bytes_on(connection, upload.device));
      if (used > device_quota_bytes || upload.length > device_quota_bytes - used) {
        return make_error("upload_quota_exceeded", "the device's attachment quota (" +
                                                       std::to_string(device_quota_bytes) +
                                                       " bytes) would be exceeded");
      }
      UPLOAD_ASSIGN_OR_RETURN(
          inserted, connection.execute(std::string("INSERT INTO attachment_uploads (") + kUploadColumns +
                                           ") VALUES ($1, $2, $3, $4, $5, $6, $7)",
                                       Parameters()
                                           .text(upload.upload_id)
                                           .bytes(id_column(upload.device))
                                           .bytes(id_column(upload.case_id))
                                           .bytes(id_column(upload.record_id))
                                           .int64(static_cast<std::int64_t>(upload.length))
                                           .int64(static_cast<std::int64_t>(upload.offset))
                                           .int64(upload.expires_at_ms)));
      (void)inserted;
      return upload;
    });
  });
}

Result<std::optional<UploadRow>> PostgresUploadStore::find(const std::string& upload_id) {
  return with_connection(*pool_, [&](Connection& connection) -> Result<std::optional<UploadRow>> {
    return first_upload(connection.execute(
        std::string("SELECT ") + kUploadColumns + " FROM attachment_uploads WHERE upload_id = $1",
        Parameters().text(upload_id)));
  });
}

Status PostgresUploadStore::set_offset(const std::string& upload_id, std::uint64_t offset,
                                       std::int64_t expires_at_ms) {
  return with_connection(*pool_, [&](Connection& connection) -> Status {
    UPLOAD_ASSIGN_OR_RETURN(
        updated,
        connection.execute(
            "UPDATE attachment_uploads SET upload_offset = $2, "
            "expires_at = $3 WHERE upload_id = $1",
            Parameters().text(upload_id).int64(static_cast<std::int64_t>(offset)).int64(expires_at_ms)));
    if (updated.affected_rows() == 0) return make_error("upload_not_found", "the upload is gone");
    return ok_status();
  });
}

Status PostgresUploadStore::remove(const std::string& upload_id) {
  return with_connection(*pool_, [&](Connection& connection) -> Status {
    auto removed = connection.execute("DELETE FROM attachment_uploads WHERE upload_id = $1",
                                      Parameters().text(upload_id));
    if (!removed.ok()) return std::move(removed).error();
    return ok_status();
  });
}

Status PostgresUploadStore::complete(const std::string& upload_id, const StoredAttachment& stored) {
  return with_connection(*pool_, [&](Connection& connection) -> Status {
    auto inserted = postgres::in_transaction(connection, "BEGIN", [&]() -> Result<std::uint64_t> {
      auto removed = connection.execute("DELETE FROM attachment_uploads WHERE upload_id = $1",
                                        Parameters().text(upload_id));
      if (!removed.ok()) return std::move(removed).error();
      UPLOAD_ASSIGN_OR_RETURN(
          insert,
          connection.execute("INSERT INTO attachment_blobs (case_id, record_id, size, sha256, device, "
                             "stored_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                             Parameters()
                                 .bytes(id_column(stored.case_id))
                                 .bytes(id_column(stored.record_id))
                                 .int64(static_cast<std::int64_t>(stored.size))
                                 .text(stored.sha256)
                                 .bytes(id_column(stored.device))
                                 .int64(stored.stored_at_ms)));
      return insert.affected_rows();
    });
    if (!inserted.ok()) return std::move(inserted).error();
    if (*inserted != 1)
      return make_error("attachment_already_stored", "the record's content is already stored");
    return ok_status();
  });
}

Result<std::optional<StoredAttachment>> PostgresUploadStore::find_stored(const sync::CaseId& case_id,
                                                                         const sync::RecordId& record_id) {
  return with_connection(*pool_, [&](Connection& connection) -> Result<std::optional<StoredAttachment>> {
    UPLOAD_ASSIGN_OR_RETURN(
        rows, connection.execute("SELECT size, sha256, device, stored_at FROM attachment_blobs "
                                 "WHERE case_id = $1 AND record_id = $2",
                                 Parameters().bytes(id_column(case_id)).bytes(id_column(record_id))));
    if (rows.rows() == 0) return std::optional<StoredAttachment>();
    StoredAttachment stored;
    stored.case_id = case_id;
    stored.record_id = record_id;
    UPLOAD_ASSIGN_OR_RETURN(size, rows.int64(0, 0));
    UPLOAD_ASSIGN_OR_RETURN(device, id_at<sync::DeviceId>(rows, 0, 2));
    UPLOAD_ASSIGN_OR_RETURN(stored_at, rows.int64(0, 3));
    stored.size = static_cast<std::uint64_t>(size);
    stored.sha256 = rows.text(0, 1);
    stored.device = device;
    stored.stored_at_ms = stored_at;
    return std::optional<StoredAttachment>(std::move(stored));
  });
}

Result<std::uint64_t> PostgresUploadStore::device_bytes(const sync::DeviceId& device) {
  return with_connection(*pool_, [&](Connection& connection) -> Result<std::uint64_t> {
    return device_bytes_on(connection, device);
  });
}

Result<std::vector<UploadRow>> PostgresUploadStore::expired(std::int64_t now_ms) {
  return with_connection(*pool_, [&](Connection& connection) -> Result<std::vector<UploadRow>> {
    UPLOAD_ASSIGN_OR_RETURN(
        rows, connection.execute(std::string("SELECT ") + kUploadColumns +
                                     " FROM attachment_uploads WHERE expires_at <= $1 LIMIT 1000",
                                 Parameters().int64(now_ms)));
    std::vector<UploadRow> uploads;
    for (int row = 0; row < rows.rows(); ++row) {
      UPLOAD_ASSIGN_OR_RETURN(upload, upload_at(rows, row));
      uploads.push_back(std::move(upload));
    }
    return uploads;
  });
}

Result<bool> PostgresUploadStore::take_lease(const std::string& upload_id, const std::string& holder,
                                             std::int64_t now_ms, std::int64_t until_ms) {
  return with_connection(*pool_, [&](Connection& connection) -> Result<bool> {
    // One statement: the compare and the set are one step for every instance.
    UPLOAD_ASSIGN_OR_RETURN(
        updated, connection.execute("UPDATE attachment_uploads SET lease_holder = $2, lease_until = $3 "
                                    "WHERE upload_id = $1 AND (lease_holder IS NULL OR lease_holder = $2 "
                                    "OR lease_until <= $4)",
                                    Parameters().text(upload_id).text(holder).int64(until_ms).int64(now_ms)));
    if (updated.affected_rows() == 1) return true;
    UPLOAD_ASSIGN_OR_RETURN(
        found, connection.execute("SELECT 1 FROM attachment_uploads WHERE upload_id = $1", Parameters().text(upload_id)));
    if (found.rows() == 0) return make_error("upload_not_found", "the upload is gone");
    return false;
  });
}

Status PostgresUploadStore::end_lease(const std::string& upload_id, const std::string& holder) {
  return with_connection(*pool_, [&](Connection& connection) -> Status {
    auto ended = connection.execute(
        "UPDATE attachment_uploads SET lease_holder = NULL, lease_until = 0 WHERE upload_id = $1 AND "
        "lease_holder = $2",
        Parameters().text(upload_id).text(holder));
    if (!ended.ok()) return std::move(ended).error();
    return ok_status();
  });
}

}  // namespace casefile::server
