#include "device/internal/attachment_outbox.hpp"

#include <algorithm>
#include <utility>

namespace casefile::device::internal {
namespace {

template <typename Tag>
crypto::ByteView id_bytes(const sync::Id128<Tag>& id) {
  return {id.bytes.data(), id.bytes.size()};
}

Error unavailable(const Error& cause) {
  return make_error("store_unavailable", cause.code + ": " + cause.message);
}

template <typename IdType>
std::optional<IdType> id_from_blob(const crypto::Bytes& bytes) {
  if (bytes.size() != 16) return std::nullopt;
  IdType id;
  std::copy(bytes.begin(), bytes.end(), id.bytes.begin());
  return id;
}

std::optional<AttachmentState> state_from_text(std::string_view text) {
  if (text == "pending") return AttachmentState::pending;
  if (text == "uploaded") return AttachmentState::uploaded;
  if (text == "quarantined") return AttachmentState::quarantined;
  return std::nullopt;
}

// Runs `sql` with `bind` and expects it to change exactly one row.
template <typename Bind>
Status update_one(schema::Database& database, const char* sql, Bind bind) {
  auto update = database.prepare(sql);
  if (!update.ok()) return unavailable(update.error());
  bind(*update);
  if (auto ran = update->run(); !ran.ok()) return unavailable(ran.error());
  if (database.changes() != 1) return make_error("attachment_unknown", "no such attachment in the outbox");
  return ok_status();
}

}  // namespace

Status enqueue_attachment(schema::Database& database, const sync::CaseId& case_id,
                          const sync::RecordId& record_id, std::uint64_t size_bytes) {
  auto insert = database.prepare(
      "INSERT INTO attachment_outbox (case_id, record_id, size_bytes, state) VALUES (?, ?, ?, 'pending')");
  if (!insert.ok()) return unavailable(insert.error());
  insert->bind_blob(1, id_bytes(case_id))
      .bind_blob(2, id_bytes(record_id))
      .bind_int64(3, static_cast<std::int64_t>(size_bytes));
  if (auto ran = insert->run(); !ran.ok()) return unavailable(ran.error());
  return ok_status();
}

Result<std::vector<AttachmentStatus>> read_attachment_outbox(schema::Database& database,
                                                             std::optional<sync::CaseId> case_id) {
  auto select = database.prepare(
      "SELECT case_id, record_id, size_bytes, state, upload_url, upload_offset, attempts, last_error_code, "
      "last_error_message FROM attachment_outbox WHERE ? IS NULL OR case_id = ? ORDER BY position");
  if (!select.ok()) return unavailable(select.error());
  if (case_id) {
    select->bind_blob(1, id_bytes(*case_id)).bind_blob(2, id_bytes(*case_id));
  } else {
    select->bind_null(1).bind_null(2);
  }
  std::vector<AttachmentStatus> rows;
  while (true) {
    auto row = select->step();
    if (!row.ok()) return unavailable(row.error());
    if (!*row) break;
    auto case_of_row = id_from_blob<sync::CaseId>(select->column_blob(0));
    auto record_id = id_from_blob<sync::RecordId>(select->column_blob(1));
    auto state = state_from_text(select->column_text(3));
    if (!case_of_row || !record_id || !state) {
      return make_error("store_unavailable", "corrupt: attachment_outbox (a row does not decode)");
    }
    AttachmentStatus status;
    status.record = sync::RecordKey{*case_of_row, std::string(kAttachmentsCollection), *record_id};
    status.size_bytes = static_cast<std::uint64_t>(select->column_int64(2));
    status.state = *state;
    if (!select->column_is_null(4)) status.upload_url = select->column_text(4);
    status.uploaded_bytes = static_cast<std::uint64_t>(select->column_int64(5));
    status.attempts = static_cast<std::uint64_t>(select->column_int64(6));
    if (!select->column_is_null(7)) status.last_error_code = select->column_text(7);
    if (!select->column_is_null(8)) status.last_error_message = select->column_text(8);
    rows.push_back(std::move(status));
  }
  return rows;
}

Status store_upload_position(schema::Database& database, const sync::RecordId& record_id,
                             const std::optional<std::string>& upload_url, std::uint64_t offset) {
  return update_one(
      database, "UPDATE attachment_outbox SET upload_url = ?, upload_offset = ? WHERE record_id = ?",
      [&](schema::Statement& update) {
        if (upload_url) {
          update.bind_text(1, *upload_url);
        } else {
          update.bind_null(1);
        }
        update.bind_int64(2, static_cast<std::int64_t>(offset)).bind_blob(3, id_bytes(record_id));
      });
}

Status mark_attachment_uploaded(schema::Database& database, const sync::RecordId& record_id) {
  return update_one(
      database,
      "UPDATE attachment_outbox SET state = 'uploaded', upload_offset = size_bytes, upload_url = "
      "NULL, last_error_code = NULL, last_error_message = NULL WHERE record_id = ?",
      [&](schema::Statement& update) { update.bind_blob(1, id_bytes(record_id)); });
}

Status record_attachment_failure(schema::Database& database, const sync::RecordId& record_id,
                                 const Error& failure) {
  return update_one(
      database,
      "UPDATE attachment_outbox SET attempts = attempts + 1, last_error_code = ?, "
      "last_error_message = ? WHERE record_id = ?",
      [&](schema::Statement& update) {
        update.bind_text(1, failure.code).bind_text(2, failure.message).bind_blob(3, id_bytes(record_id));
      });
}

Status quarantine_attachment(schema::Database& database, const sync::RecordId& record_id,
                             const Error& reason) {
  return update_one(
      database,
      "UPDATE attachment_outbox SET state = 'quarantined', upload_url = NULL, attempts = attempts "
      "+ 1, last_error_code = ?, last_error_message = ? WHERE record_id = ?",
      [&](schema::Statement& update) {
        update.bind_text(1, reason.code).bind_text(2, reason.message).bind_blob(3, id_bytes(record_id));
      });
}

}  // namespace casefile::device::internal
