#include "server/store/internal/push_commit_rows.hpp"

#include <map>

#include "server/store/internal/column_values.hpp"
#include "sync/change_encoding.hpp"
#include "sync/record_state.hpp"

namespace casefile::server::internal {
namespace {

Error conflict(const char* why) { return make_error("store_conflict", why); }

Status insert_batch(schema::Database& database, const sync::BatchHeader& batch) {
  // A batch pushed again (some of its changes refused the first time) keeps
  // the header stored first, as the change log's entries already name it.
  auto insert = database.prepare(
      "INSERT OR IGNORE INTO batches (author, batch_id, tree_size, root, signature) VALUES (?, ?, ?, ?, ?)");
  if (!insert.ok()) return std::move(insert).error();
  insert->bind_blob(1, id_column(batch.author))
      .bind_blob(2, id_column(batch.id))
      .bind_int64(3, to_column(batch.tree_size))
      .bind_blob(4, batch.root)
      .bind_blob(5, batch.signature);
  return insert->run();
}

Status insert_change(schema::Database& database, const PushCommitRows& rows, std::size_t index,
                     std::uint64_t sequence) {
  const sync::SignedChange& signed_change = rows.commit->accepted[index];
  const sync::Change& change = signed_change.change;
  auto insert = database.prepare(
      "INSERT INTO change_log (sequence, device, device_sequence, case_id, change_bytes, leaf_hash, "
      "batch_id, leaf_index, tree_size, proof_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!insert.ok()) return std::move(insert).error();
  insert->bind_int64(1, to_column(sequence))
      .bind_blob(2, id_column(change.id.device))
      .bind_int64(3, to_column(change.id.sequence))
      .bind_blob(4, id_column(change.record.case_id))
      .bind_blob(5, rows.change_bytes[index])
      .bind_blob(6, rows.commit->leaf_hashes[index])
      .bind_blob(7, id_column(signed_change.proof.batch))
      .bind_int64(8, to_column(signed_change.proof.leaf_index))
      .bind_int64(9, to_column(signed_change.proof.tree_size))
      .bind_blob(10, rows.proof_paths[index]);
  Status inserted = insert->run();
  // The sequence is the head's successor, so only (device, device_sequence) can clash.
  if (!inserted.ok() && inserted.error().code == "constraint")
    return conflict("change id already in the log");
  return inserted;
}

Status write_record(schema::Database& database, const sync::PushCommit::RecordWrite& write,
                    const crypto::Bytes& state, std::optional<std::uint64_t> created_by) {
  const sync::RecordKey& key = write.state.key();
  if (write.expected_version == 0) {
    auto insert = database.prepare(
        "INSERT INTO records (case_id, collection, record_id, version, state, created_by) "
        "VALUES (?, ?, ?, 1, ?, ?)");
    if (!insert.ok()) return std::move(insert).error();
    insert->bind_blob(1, id_column(key.case_id))
        .bind_text(2, key.collection)
        .bind_blob(3, id_column(key.record_id));
    if (created_by) {
      insert->bind_null(4).bind_int64(5, to_column(*created_by));
    } else {
      insert->bind_blob(4, state).bind_null(5);
    }
    Status inserted = insert->run();
    if (!inserted.ok() && inserted.error().code == "constraint")
      return conflict("record created since it was read");
    return inserted;
  }
  auto update = database.prepare(
      "UPDATE records SET state = ?, created_by = NULL, version = version + 1 "
      "WHERE case_id = ? AND collection = ? AND record_id = ? AND version = ?");
  if (!update.ok()) return std::move(update).error();
  update->bind_blob(1, state)
      .bind_blob(2, id_column(key.case_id))
      .bind_text(3, key.collection)
      .bind_blob(4, id_column(key.record_id))
      .bind_int64(5, to_column(write.expected_version));
  CASEFILE_RETURN_IF_ERROR(update->run());
  if (database.changes() != 1) return conflict("record changed since it was read");
  return ok_status();
}

// For each record the commit creates (expected_version 0): the index of the
// one accepted change that touches it, if its state is exactly that change
// applied to an empty record. Anything else (several changes, a state
// computed otherwise) keeps its full state. The change is decoded from the
// bytes the log will hold, as load_record will decode it.
std::vector<std::optional<std::size_t>> creating_changes(const sync::PushCommit& commit,
                                                         const std::vector<crypto::Bytes>& change_bytes) {
  std::map<sync::RecordKey, std::optional<std::size_t>> only_change;  // nullopt: more than one
  for (const auto& write : commit.records) {
    if (write.expected_version == 0) only_change.emplace(write.state.key(), std::nullopt);
  }
  std::map<sync::RecordKey, std::size_t> touches;
  for (std::size_t i = 0; i < commit.accepted.size(); ++i) {
    const sync::RecordKey& key = commit.accepted[i].change.record;
    auto found = only_change.find(key);
    if (found == only_change.end()) continue;
    if (++touches[key] == 1) found->second = i;
  }
  std::vector<std::optional<std::size_t>> created_by;
  created_by.reserve(commit.records.size());
  for (const auto& write : commit.records) {
    const sync::RecordKey& key = write.state.key();
    std::optional<std::size_t> change;
    if (write.expected_version == 0 && touches[key] == 1) {
      const std::size_t index = *only_change[key];
      auto logged = sync::decode_change(change_bytes[index]);
      if (logged.ok() && logged->record == key) {
        sync::RecordState derived(key);
        derived.apply(*logged);
        if (derived == write.state) change = index;
      }
    }
    created_by.push_back(change);
  }
  return created_by;
}

}  // namespace

Result<PushCommitRows> encode_push_commit(const sync::PushCommit& commit) {
  if (commit.leaf_hashes.size() != commit.accepted.size()) {
    return make_error("invalid_argument", "a push commit needs one leaf hash per accepted change");
  }
  PushCommitRows rows;
  rows.commit = &commit;
  rows.change_bytes.reserve(commit.accepted.size());
  rows.proof_paths.reserve(commit.accepted.size());
  for (const sync::SignedChange& signed_change : commit.accepted) {
    rows.change_bytes.push_back(sync::encode_change(signed_change.change));
    rows.proof_paths.push_back(encode_proof_path(signed_change.proof.path));
  }
  rows.record_created_by = creating_changes(commit, rows.change_bytes);
  rows.record_states.reserve(commit.records.size());
  for (std::size_t i = 0; i < commit.records.size(); ++i) {
    rows.record_states.push_back(
        rows.record_created_by[i] ? crypto::Bytes{} : sync::encode_record_state(commit.records[i].state));
  }
  return rows;
}

Result<std::vector<std::uint64_t>> write_push_commit(schema::Database& database, const PushCommitRows& rows,
                                                     std::uint64_t first_sequence) {
  const sync::PushCommit& commit = *rows.commit;
  // Records first: a stale version is the usual conflict, found before any
  // change row is written.
  for (std::size_t i = 0; i < commit.records.size(); ++i) {
    std::optional<std::uint64_t> created_by;
    if (rows.record_created_by[i]) created_by = first_sequence + *rows.record_created_by[i];
    CASEFILE_RETURN_IF_ERROR(write_record(database, commit.records[i], rows.record_states[i], created_by));
  }
  if (!commit.accepted.empty()) CASEFILE_RETURN_IF_ERROR(insert_batch(database, commit.batch));
  std::vector<std::uint64_t> sequences;
  sequences.reserve(commit.accepted.size());
  for (std::size_t i = 0; i < commit.accepted.size(); ++i) {
    CASEFILE_RETURN_IF_ERROR(insert_change(database, rows, i, first_sequence + i));
    sequences.push_back(first_sequence + i);
  }
  return sequences;
}

}  // namespace casefile::server::internal
