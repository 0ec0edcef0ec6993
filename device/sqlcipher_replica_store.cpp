#include "device/sqlcipher_replica_store.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "device/change_archive.hpp"
#include "device/internal/replica_migrations.hpp"
#include "schema/migrations.hpp"
#include "sync/change_encoding.hpp"

namespace casefile::device {
namespace {

// Outbox sequences are compared in SQL as signed 64-bit integers.
constexpr std::uint64_t kMaxStoredSequence = std::numeric_limits<std::int64_t>::max();

// Unsigned 64-bit values are stored as the signed integer with the same bits.
std::int64_t to_stored(std::uint64_t value) { return static_cast<std::int64_t>(value); }
std::uint64_t from_stored(std::int64_t value) { return static_cast<std::uint64_t>(value); }

template <typename Tag>
crypto::ByteView id_bytes(const sync::Id128<Tag>& id) {
  return {id.bytes.data(), id.bytes.size()};
}

Error unavailable(const Error& cause) {
  return make_error("store_unavailable", cause.code + ": " + cause.message);
}

// A row that does not decode: the file was altered or written by a buggy
// program. The message names the table, never the row's contents.
Error corrupt_row(const std::string& what, const std::string& detail) {
  return make_error("store_unavailable", "corrupt: " + what + " (" + detail + ")");
}

template <typename IdType>
std::optional<IdType> id_from_column(const schema::Statement& statement, int column) {
  const crypto::Bytes bytes = statement.column_blob(column);
  IdType id;
  if (bytes.size() != id.bytes.size()) return std::nullopt;
  std::copy(bytes.begin(), bytes.end(), id.bytes.begin());
  return id;
}

Status check_storable(const sync::Change& change) {
  CASEFILE_RETURN_IF_ERROR(sync::validate_change(change));
  if (change.id.sequence == 0 || change.id.sequence > kMaxStoredSequence) {
    return make_error("sequence_out_of_range", "a device sequence must be between 1 and 2^63-1, not " +
                                                   std::to_string(change.id.sequence));
  }
  return ok_status();
}

}  // namespace

Result<SqlcipherReplicaStore> SqlcipherReplicaStore::open(const std::filesystem::path& path,
                                                          const crypto::SecretBytes& storage_key) {
  schema::DatabaseOptions options;
  options.synchronous = schema::Synchronous::full;  // DESIGN §4: a returned commit is on disk
  auto database = schema::Database::open(path, storage_key, options);
  if (!database.ok()) return std::move(database).error();
  CASEFILE_RETURN_IF_ERROR(schema::migrate(*database, internal::replica_migrations()));
  return SqlcipherReplicaStore(std::move(*database));
}

Result<sync::ReplicaMeta> SqlcipherReplicaStore::load_meta() {
  auto select = database_.prepare(
      "SELECT pull_cursor, next_sequence, clock_last, clock_offset_millis FROM replica_meta WHERE singleton "
      "= 1");
  if (!select.ok()) return unavailable(select.error());
  auto row = select->step();
  if (!row.ok()) return unavailable(row.error());
  if (!*row) return corrupt_row("replica_meta", "its row is missing");
  sync::ReplicaMeta meta;
  meta.pull_cursor = select->column_text(0);
  meta.next_sequence = from_stored(select->column_int64(1));
  meta.clock_last = sync::Hlc::from_packed(from_stored(select->column_int64(2)));
  meta.clock_offset_millis = select->column_int64(3);
  return meta;
}

Result<std::optional<sync::RecordState>> SqlcipherReplicaStore::load_record(const sync::RecordKey& key) {
  auto select =
      database_.prepare("SELECT state FROM records WHERE case_id = ? AND collection = ? AND record_id = ?");
  if (!select.ok()) return unavailable(select.error());
  select->bind_blob(1, id_bytes(key.case_id))
      .bind_text(2, key.collection)
      .bind_blob(3, id_bytes(key.record_id));
  auto row = select->step();
  if (!row.ok()) return unavailable(row.error());
  if (!*row) return std::optional<sync::RecordState>{};
  auto state = sync::decode_record_state(select->column_blob(0));
  if (!state.ok()) return corrupt_row("records", state.error().code);
  if (state->key() != key) return corrupt_row("records", "a state is filed under another record's key");
  return std::optional<sync::RecordState>{std::move(*state)};
}

Result<std::vector<sync::Change>> SqlcipherReplicaStore::read_outbox(std::uint64_t after_sequence,
                                                                     std::size_t limit) {
  std::vector<sync::Change> changes;
  if (limit == 0 || after_sequence >= kMaxStoredSequence) return changes;
  auto select =
      database_.prepare("SELECT sequence, change FROM outbox WHERE sequence > ? ORDER BY sequence LIMIT ?");
  if (!select.ok()) return unavailable(select.error());
  select->bind_int64(1, to_stored(after_sequence))
      .bind_int64(2, to_stored(std::min<std::uint64_t>(limit, kMaxStoredSequence)));
  for (;;) {
    auto row = select->step();
    if (!row.ok()) return unavailable(row.error());
    if (!*row) break;
    auto change = sync::decode_change(select->column_blob(1));
    if (!change.ok()) return corrupt_row("outbox", change.error().code);
    if (change->id.sequence != from_stored(select->column_int64(0))) {
      return corrupt_row("outbox", "a change is filed under another sequence");
    }
    changes.push_back(std::move(*change));
  }
  return changes;
}

Status SqlcipherReplicaStore::commit(const sync::ReplicaCommit& commit) {
  // Refuse what cannot be stored before anything is written.
  for (const sync::Change& change : commit.outbox_append) CASEFILE_RETURN_IF_ERROR(check_storable(change));
  for (const sync::QuarantinedChange& entry : commit.quarantine_append) {
    CASEFILE_RETURN_IF_ERROR(check_storable(entry.change));
  }
  if (commit_group_) {
    // Inside a group a failed write leaves the batch to abandon_commit_group().
    if (auto written = write_commit(commit); !written.ok()) return unavailable(written.error());
    return ok_status();
  }
  auto transaction = database_.begin();
  if (!transaction.ok()) return unavailable(transaction.error());
  // On failure the transaction is dropped uncommitted, which rolls it back.
  if (auto written = write_commit(commit); !written.ok()) return unavailable(written.error());
  if (auto committed = transaction->commit(); !committed.ok()) return unavailable(committed.error());
  return ok_status();
}

// REQUIRES: a transaction is open. Same order of effects as
// sync::MemoryReplicaStore::commit: an outbox entry appended and removed in
// one commit is gone.
Status SqlcipherReplicaStore::write_commit(const sync::ReplicaCommit& commit) {
  {
    auto update = database_.prepare(
        "UPDATE replica_meta SET pull_cursor = ?, next_sequence = ?, clock_last = ?, clock_offset_millis = ? "
        "WHERE singleton = 1");
    if (!update.ok()) return update.error();
    update->bind_text(1, commit.meta.pull_cursor)
        .bind_int64(2, to_stored(commit.meta.next_sequence))
        .bind_int64(3, to_stored(commit.meta.clock_last.packed()))
        .bind_int64(4, commit.meta.clock_offset_millis);
    CASEFILE_RETURN_IF_ERROR(update->run());
    if (database_.changes() != 1) return make_error("corrupt", "the replica_meta row is missing");
  }
  if (!commit.records.empty()) {
    // REPLACE resolves only the unique key: the old state of the record goes.
    auto upsert = database_.prepare(
        "INSERT OR REPLACE INTO records (case_id, collection, record_id, state) VALUES (?, ?, ?, ?)");
    if (!upsert.ok()) return upsert.error();
    for (const sync::RecordState& state : commit.records) {
      upsert->bind_blob(1, id_bytes(state.key().case_id))
          .bind_text(2, state.key().collection)
          .bind_blob(3, id_bytes(state.key().record_id))
          .bind_blob(4, sync::encode_record_state(state));
      CASEFILE_RETURN_IF_ERROR(upsert->run());
      upsert->reset();
    }
  }
  if (!commit.outbox_append.empty()) {
    auto append =
        database_.prepare("INSERT OR REPLACE INTO outbox (sequence, case_id, change) VALUES (?, ?, ?)");
    if (!append.ok()) return append.error();
    for (const sync::Change& change : commit.outbox_append) {
      append->bind_int64(1, to_stored(change.id.sequence))
          .bind_blob(2, id_bytes(change.record.case_id))
          .bind_blob(3, sync::encode_change(change));
      CASEFILE_RETURN_IF_ERROR(append->run());
      append->reset();
    }
  }
  if (!commit.outbox_remove.empty()) {
    auto remove = database_.prepare("DELETE FROM outbox WHERE sequence = ?");
    if (!remove.ok()) return remove.error();
    for (const sync::ChangeId& id : commit.outbox_remove) {
      if (id.sequence > kMaxStoredSequence) continue;  // cannot be in the outbox
      remove->bind_int64(1, to_stored(id.sequence));
      CASEFILE_RETURN_IF_ERROR(remove->run());
      remove->reset();
    }
  }
  if (!commit.quarantine_append.empty()) {
    auto quarantine = database_.prepare(
        "INSERT INTO quarantine (case_id, change, reason_code, reason_message) VALUES (?, ?, ?, ?)");
    if (!quarantine.ok()) return quarantine.error();
    for (const sync::QuarantinedChange& entry : commit.quarantine_append) {
      quarantine->bind_blob(1, id_bytes(entry.change.record.case_id))
          .bind_blob(2, sync::encode_change(entry.change))
          .bind_text(3, entry.reason.code)
          .bind_text(4, entry.reason.message);
      CASEFILE_RETURN_IF_ERROR(quarantine->run());
      quarantine->reset();
    }
  }
  return ok_status();
}

Result<std::vector<sync::RecordKey>> SqlcipherReplicaStore::list_record_keys() {
  auto select = database_.prepare(
      "SELECT case_id, collection, record_id FROM records ORDER BY case_id, collection, record_id");
  if (!select.ok()) return unavailable(select.error());
  std::vector<sync::RecordKey> keys;
  for (;;) {
    auto row = select->step();
    if (!row.ok()) return unavailable(row.error());
    if (!*row) break;
    auto case_id = id_from_column<sync::CaseId>(*select, 0);
    auto record_id = id_from_column<sync::RecordId>(*select, 2);
    if (!case_id || !record_id) return corrupt_row("records", "an id is not 16 bytes");
    keys.push_back(sync::RecordKey{*case_id, select->column_text(1), *record_id});
  }
  return keys;
}

Result<std::vector<sync::QuarantinedChange>> SqlcipherReplicaStore::read_quarantine() {
  auto select =
      database_.prepare("SELECT change, reason_code, reason_message FROM quarantine ORDER BY position");
  if (!select.ok()) return unavailable(select.error());
  std::vector<sync::QuarantinedChange> entries;
  for (;;) {
    auto row = select->step();
    if (!row.ok()) return unavailable(row.error());
    if (!*row) break;
    auto change = sync::decode_change(select->column_blob(0));
    if (!change.ok()) return corrupt_row("quarantine", change.error().code);
    entries.push_back(sync::QuarantinedChange{std::move(*change),
                                              make_error(select->column_text(1), select->column_text(2))});
  }
  return entries;
}

Result<std::uint64_t> SqlcipherReplicaStore::outbox_depth() {
  auto select = database_.prepare("SELECT count(*) FROM outbox");
  if (!select.ok()) return unavailable(select.error());
  auto row = select->step();
  if (!row.ok()) return unavailable(row.error());
  if (!*row) return corrupt_row("outbox", "count returned no row");
  return from_stored(select->column_int64(0));
}

Result<std::vector<sync::CaseId>> SqlcipherReplicaStore::outbox_cases() {
  auto select = database_.prepare("SELECT DISTINCT case_id FROM outbox ORDER BY case_id");
  if (!select.ok()) return unavailable(select.error());
  std::vector<sync::CaseId> cases;
  for (;;) {
    auto row = select->step();
    if (!row.ok()) return unavailable(row.error());
    if (!*row) break;
    auto case_id = id_from_column<sync::CaseId>(*select, 0);
    if (!case_id) return corrupt_row("outbox", "a case id is not 16 bytes");
    cases.push_back(*case_id);
  }
  return cases;
}

Status SqlcipherReplicaStore::purge_case(const sync::CaseId& case_id) {
  auto transaction = database_.begin();
  if (!transaction.ok()) return unavailable(transaction.error());
  for (const char* sql :
       {"DELETE FROM records WHERE case_id = ?", "DELETE FROM outbox WHERE case_id = ?",
        "DELETE FROM quarantine WHERE case_id = ?", "DELETE FROM attachment_outbox WHERE case_id = ?"}) {
    auto remove = database_.prepare(sql);
    if (!remove.ok()) return unavailable(remove.error());
    remove->bind_blob(1, id_bytes(case_id));
    if (auto removed = remove->run(); !removed.ok()) return unavailable(removed.error());
  }
  CASEFILE_RETURN_IF_ERROR(ChangeArchive(database_).purge_case(case_id));
  if (auto committed = transaction->commit(); !committed.ok()) return unavailable(committed.error());
  return ok_status();
}

Status SqlcipherReplicaStore::begin_commit_group() {
  if (commit_group_) return make_error("invalid_argument", "a commit group is already open");
  auto transaction = database_.begin();
  if (!transaction.ok()) return unavailable(transaction.error());
  commit_group_.emplace(std::move(*transaction));
  return ok_status();
}

Status SqlcipherReplicaStore::finish_commit_group() {
  if (!commit_group_) return make_error("invalid_argument", "no commit group is open");
  auto committed = commit_group_->commit();
  commit_group_.reset();  // rolls back if the commit failed
  if (!committed.ok()) return unavailable(committed.error());
  return ok_status();
}

void SqlcipherReplicaStore::abandon_commit_group() { commit_group_.reset(); }

Status SqlcipherReplicaStore::rekey(const crypto::SecretBytes& new_key) {
  if (auto rekeyed = database_.rekey(new_key); !rekeyed.ok()) return unavailable(rekeyed.error());
  return ok_status();
}

}  // namespace casefile::device
