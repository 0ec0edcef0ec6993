#include "server/store/internal/push_commit_rows.hpp"

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
                    const crypto::Bytes& state) {
  const sync::RecordKey& key = write.state.key();
  if (write.expected_version == 0) {
    auto insert = database.prepare(
        "INSERT INTO records (case_id, collection, record_id, version, state) VALUES (?, ?, ?, 1, ?)");
    if (!insert.ok()) return std::move(insert).error();
    insert->bind_blob(1, id_column(key.case_id))
        .bind_text(2, key.collection)
        .bind_blob(3, id_column(key.record_id))
        .bind_blob(4, state);
    Status inserted = insert->run();
    if (!inserted.ok() && inserted.error().code == "constraint")
      return conflict("record created since it was read");
    return inserted;
  }
  auto update = database.prepare(
      "UPDATE records SET state = ?, version = version + 1 "
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
  rows.record_states.reserve(commit.records.size());
  for (const auto& write : commit.records)
    rows.record_states.push_back(sync::encode_record_state(write.state));
  return rows;
}

Result<std::vector<std::uint64_t>> write_push_commit(schema::Database& database, const PushCommitRows& rows,
                                                     std::uint64_t first_sequence) {
  const sync::PushCommit& commit = *rows.commit;
  // Records first: a stale version is the usual conflict, found before any
  // change row is written.
  for (std::size_t i = 0; i < commit.records.size(); ++i) {
    CASEFILE_RETURN_IF_ERROR(write_record(database, commit.records[i], rows.record_states[i]));
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
