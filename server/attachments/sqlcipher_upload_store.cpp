#include "server/attachments/sqlcipher_upload_store.hpp"

namespace casefile::server {
namespace {

template <class Id>
crypto::ByteView id_bytes(const Id& id) {
  return crypto::ByteView(id.bytes.data(), id.bytes.size());
}

template <class Id>
Result<Id> id_from_column(const schema::Statement& statement, int column) {
  const crypto::Bytes bytes = statement.column_blob(column);
  Id id;
  if (bytes.size() != id.bytes.size()) return make_error("store_corrupt", "an attachment row holds a bad id");
  std::copy(bytes.begin(), bytes.end(), id.bytes.begin());
  return id;
}

// The database's own codes become the store's one code for callers.
Error unavailable(const Error& error) {
  return make_error("store_unavailable", "attachment store: " + error.code + ": " + error.message);
}

constexpr const char* kUploadColumns =
    "upload_id, device, case_id, record_id, length, upload_offset, expires_at";

Result<UploadRow> upload_from(const schema::Statement& statement) {
  UploadRow row;
  row.upload_id = statement.column_text(0);
  auto device = id_from_column<sync::DeviceId>(statement, 1);
  auto case_id = id_from_column<sync::CaseId>(statement, 2);
  auto record_id = id_from_column<sync::RecordId>(statement, 3);
  if (!device.ok()) return std::move(device).error();
  if (!case_id.ok()) return std::move(case_id).error();
  if (!record_id.ok()) return std::move(record_id).error();
  row.device = *device;
  row.case_id = *case_id;
  row.record_id = *record_id;
  row.length = static_cast<std::uint64_t>(statement.column_int64(4));
  row.offset = static_cast<std::uint64_t>(statement.column_int64(5));
  row.expires_at_ms = statement.column_int64(6);
  return row;
}

Result<std::optional<UploadRow>> select_upload(schema::Database& database, std::string_view where,
                                               const std::function<void(schema::Statement&)>& bind) {
  auto statement = database.prepare(std::string("SELECT ") + kUploadColumns +
                                    " FROM attachment_uploads WHERE " + std::string(where));
  if (!statement.ok()) return std::move(statement).error();
  bind(*statement);
  auto row = statement->step();
  if (!row.ok()) return std::move(row).error();
  if (!*row) return std::optional<UploadRow>();
  auto upload = upload_from(*statement);
  if (!upload.ok()) return std::move(upload).error();
  return std::optional<UploadRow>(std::move(upload).value());
}

Result<std::uint64_t> device_bytes_on(schema::Database& database, const sync::DeviceId& device) {
  auto select = database.prepare(
      "SELECT (SELECT coalesce(sum(length), 0) FROM attachment_uploads WHERE device = ?1) + "
      "(SELECT coalesce(sum(size), 0) FROM attachment_blobs WHERE device = ?1)");
  if (!select.ok()) return std::move(select).error();
  select->bind_blob(1, id_bytes(device));
  auto row = select->step();
  if (!row.ok()) return std::move(row).error();
  return *row ? static_cast<std::uint64_t>(select->column_int64(0)) : std::uint64_t{0};
}

}  // namespace

Status SqlcipherUploadStore::borrow(const DatabaseWork& work) {
  Status status = lender_(work);
  if (!status.ok() && status.error().code != "store_corrupt" && status.error().code != "upload_not_found" &&
      status.error().code != "attachment_already_stored" && status.error().code != "upload_quota_exceeded") {
    return unavailable(status.error());
  }
  return status;
}

Result<UploadRow> SqlcipherUploadStore::create_or_find(const UploadRow& upload,
                                                       std::uint64_t device_quota_bytes) {
  UploadRow answer;
  CASEFILE_RETURN_IF_ERROR(borrow([&](schema::Database& database) -> Status {
    auto transaction = database.begin();
    if (!transaction.ok()) return std::move(transaction).error();
    auto existing = select_upload(database, "device = ?1 AND case_id = ?2 AND record_id = ?3",
                                  [&](schema::Statement& statement) {
                                    statement.bind_blob(1, id_bytes(upload.device))
                                        .bind_blob(2, id_bytes(upload.case_id))
                                        .bind_blob(3, id_bytes(upload.record_id));
                                  });
    if (!existing.ok()) return std::move(existing).error();
    if (*existing) {
      answer = **existing;
      return ok_status();
    }
    auto used = device_bytes_on(database, upload.device);
    if (!used.ok()) return std::move(used).error();
    if (*used > device_quota_bytes || upload.length > device_quota_bytes - *used) {
      return make_error("upload_quota_exceeded", "the device's attachment quota (" +
                                                     std::to_string(device_quota_bytes) +
                                                     " bytes) would be exceeded");
    }
    auto insert = database.prepare(std::string("INSERT INTO attachment_uploads (") + kUploadColumns +
                                   ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    if (!insert.ok()) return std::move(insert).error();
    insert->bind_text(1, upload.upload_id)
        .bind_blob(2, id_bytes(upload.device))
        .bind_blob(3, id_bytes(upload.case_id))
        .bind_blob(4, id_bytes(upload.record_id))
        .bind_int64(5, static_cast<std::int64_t>(upload.length))
        .bind_int64(6, static_cast<std::int64_t>(upload.offset))
        .bind_int64(7, upload.expires_at_ms);
    CASEFILE_RETURN_IF_ERROR(insert->run());
    CASEFILE_RETURN_IF_ERROR(transaction->commit());
    answer = upload;
    return ok_status();
  }));
  return answer;
}

Result<std::optional<UploadRow>> SqlcipherUploadStore::find(const std::string& upload_id) {
  std::optional<UploadRow> answer;
  CASEFILE_RETURN_IF_ERROR(borrow([&](schema::Database& database) -> Status {
    auto found = select_upload(database, "upload_id = ?1",
                               [&](schema::Statement& statement) { statement.bind_text(1, upload_id); });
    if (!found.ok()) return std::move(found).error();
    answer = std::move(found).value();
    return ok_status();
  }));
  return answer;
}

Status SqlcipherUploadStore::set_offset(const std::string& upload_id, std::uint64_t offset,
                                        std::int64_t expires_at_ms) {
  return borrow([&](schema::Database& database) -> Status {
    auto update = database.prepare(
        "UPDATE attachment_uploads SET upload_offset = ?2, expires_at = ?3 WHERE upload_id = ?1");
    if (!update.ok()) return std::move(update).error();
    update->bind_text(1, upload_id)
        .bind_int64(2, static_cast<std::int64_t>(offset))
        .bind_int64(3, expires_at_ms);
    CASEFILE_RETURN_IF_ERROR(update->run());
    if (database.changes() == 0) return make_error("upload_not_found", "the upload is gone");
    return ok_status();
  });
}

Status SqlcipherUploadStore::remove(const std::string& upload_id) {
  return borrow([&](schema::Database& database) -> Status {
    auto remove = database.prepare("DELETE FROM attachment_uploads WHERE upload_id = ?1");
    if (!remove.ok()) return std::move(remove).error();
    remove->bind_text(1, upload_id);
    return remove->run();
  });
}

Status SqlcipherUploadStore::complete(const std::string& upload_id, const StoredAttachment& stored) {
  return borrow([&](schema::Database& database) -> Status {
    auto transaction = database.begin();
    if (!transaction.ok()) return std::move(transaction).error();
    auto remove = database.prepare("DELETE FROM attachment_uploads WHERE upload_id = ?1");
    if (!remove.ok()) return std::move(remove).error();
    remove->bind_text(1, upload_id);
    CASEFILE_RETURN_IF_ERROR(remove->run());
    auto insert = database.prepare(
        "INSERT OR IGNORE INTO attachment_blobs (case_id, record_id, size, sha256, device, stored_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!insert.ok()) return std::move(insert).error();
    insert->bind_blob(1, id_bytes(stored.case_id))
        .bind_blob(2, id_bytes(stored.record_id))
        .bind_int64(3, static_cast<std::int64_t>(stored.size))
        .bind_text(4, stored.sha256)
        .bind_blob(5, id_bytes(stored.device))
        .bind_int64(6, stored.stored_at_ms);
    CASEFILE_RETURN_IF_ERROR(insert->run());
    const bool inserted = database.changes() == 1;
    CASEFILE_RETURN_IF_ERROR(transaction->commit());
    if (!inserted) return make_error("attachment_already_stored", "the record's content is already stored");
    return ok_status();
  });
}

Result<std::optional<StoredAttachment>> SqlcipherUploadStore::find_stored(const sync::CaseId& case_id,
                                                                          const sync::RecordId& record_id) {
  std::optional<StoredAttachment> answer;
  CASEFILE_RETURN_IF_ERROR(borrow([&](schema::Database& database) -> Status {
    auto select = database.prepare(
        "SELECT size, sha256, device, stored_at FROM attachment_blobs WHERE case_id = ?1 AND record_id = ?2");
    if (!select.ok()) return std::move(select).error();
    select->bind_blob(1, id_bytes(case_id)).bind_blob(2, id_bytes(record_id));
    auto row = select->step();
    if (!row.ok()) return std::move(row).error();
    if (!*row) return ok_status();
    StoredAttachment stored;
    stored.case_id = case_id;
    stored.record_id = record_id;
    stored.size = static_cast<std::uint64_t>(select->column_int64(0));
    stored.sha256 = select->column_text(1);
    auto device = id_from_column<sync::DeviceId>(*select, 2);
    if (!device.ok()) return std::move(device).error();
    stored.device = *device;
    stored.stored_at_ms = select->column_int64(3);
    answer = std::move(stored);
    return ok_status();
  }));
  return answer;
}

Result<std::uint64_t> SqlcipherUploadStore::device_bytes(const sync::DeviceId& device) {
  std::uint64_t total = 0;
  CASEFILE_RETURN_IF_ERROR(borrow([&](schema::Database& database) -> Status {
    auto used = device_bytes_on(database, device);
    if (!used.ok()) return std::move(used).error();
    total = *used;
    return ok_status();
  }));
  return total;
}

Result<std::vector<UploadRow>> SqlcipherUploadStore::expired(std::int64_t now_ms) {
  std::vector<UploadRow> rows;
  CASEFILE_RETURN_IF_ERROR(borrow([&](schema::Database& database) -> Status {
    auto select = database.prepare(std::string("SELECT ") + kUploadColumns +
                                   " FROM attachment_uploads WHERE expires_at <= ?1 LIMIT 1000");
    if (!select.ok()) return std::move(select).error();
    select->bind_int64(1, now_ms);
    for (;;) {
      auto row = select->step();
      if (!row.ok()) return std::move(row).error();
      if (!*row) return ok_status();
      auto upload = upload_from(*select);
      if (!upload.ok()) return std::move(upload).error();
      rows.push_back(std::move(upload).value());
    }
  }));
  return rows;
}

DatabaseLender opening_lender(std::filesystem::path database, const crypto::SecretBytes& key,
                              std::mutex& lock) {
  return [database = std::move(database), &key, &lock](const DatabaseWork& work) -> Status {
    const std::lock_guard held(lock);
    auto connection = schema::Database::open(database, key);
    if (!connection.ok()) return std::move(connection).error();
    return work(*connection);
  };
}

Result<bool> SqlcipherUploadStore::take_lease(const std::string& upload_id, const std::string& holder,
                                              std::int64_t now_ms, std::int64_t until_ms) {
  bool taken = false;
  CASEFILE_RETURN_IF_ERROR(borrow([&](schema::Database& database) -> Status {
    // One statement: the compare and the set are one step for every connection.
    auto update = database.prepare(
        "UPDATE attachment_uploads SET lease_holder = ?2, lease_until = ?3 WHERE upload_id = ?1 AND "
        "(lease_holder IS NULL OR lease_holder = ?2 OR lease_until <= ?4)");
    if (!update.ok()) return std::move(update).error();
    update->bind_text(1, upload_id).bind_text(2, holder).bind_int64(3, until_ms).bind_int64(4, now_ms);
    CASEFILE_RETURN_IF_ERROR(update->run());
    taken = database.changes() == 1;
    if (taken) return ok_status();
    auto found = select_upload(database, "upload_id = ?1",
                               [&](schema::Statement& statement) { statement.bind_text(1, upload_id); });
    if (!found.ok()) return std::move(found).error();
    if (!*found) return make_error("upload_not_found", "the upload is gone");
    return ok_status();
  }));
  return taken;
}

Status SqlcipherUploadStore::end_lease(const std::string& upload_id, const std::string& holder) {
  return borrow([&](schema::Database& database) -> Status {
    auto update = database.prepare(
        "UPDATE attachment_uploads SET lease_holder = NULL, lease_until = 0 "
        "WHERE upload_id = ?1 AND lease_holder = ?2");
    if (!update.ok()) return std::move(update).error();
    update->bind_text(1, upload_id).bind_text(2, holder);
    return update->run();
  });
}

}  // namespace casefile::server
