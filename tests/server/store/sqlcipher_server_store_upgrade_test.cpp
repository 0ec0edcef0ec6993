// A store file written by schema version 1 (records WITHOUT ROWID, every
// state stored whole) opens under the current schema, keeps serving its old
// changes, proofs and records exactly, and takes new commits.
//
// The version-1 file is made here with version 1's own SQL (the statements
// push_commit_rows.cpp ran before migration 2), over migration 1 alone.
#include <gtest/gtest.h>

#include "schema/database.hpp"
#include "schema/migrations.hpp"
#include "server/store/internal/column_values.hpp"
#include "server/store/server_schema_migrations.hpp"
#include "server/store/sqlcipher_server_store.hpp"
#include "sync/memory_store.hpp"
#include "sync/record_state.hpp"
#include "tests/server/store/sqlcipher_server_store_backend.hpp"
#include "tests/server/store/store_test_data.hpp"

namespace casefile::server::testing {
namespace {

using internal::encode_proof_path;
using internal::id_column;
using internal::to_column;

// Writes `commit` as version 1 did, numbering its changes from `first_sequence`.
void write_as_version_1(schema::Database& database, const sync::PushCommit& commit,
                        std::uint64_t first_sequence) {
  auto transaction = database.begin();
  ASSERT_TRUE(transaction.ok());
  for (const auto& write : commit.records) {
    const sync::RecordKey& key = write.state.key();
    const crypto::Bytes state = sync::encode_record_state(write.state);
    if (write.expected_version == 0) {
      auto insert = database.prepare(
          "INSERT INTO records (case_id, collection, record_id, version, state) VALUES (?, ?, ?, 1, ?)");
      ASSERT_TRUE(insert.ok());
      insert->bind_blob(1, id_column(key.case_id))
          .bind_text(2, key.collection)
          .bind_blob(3, id_column(key.record_id))
          .bind_blob(4, state);
      ASSERT_TRUE(insert->run().ok());
    } else {
      auto update = database.prepare(
          "UPDATE records SET state = ?, version = version + 1 "
          "WHERE case_id = ? AND collection = ? AND record_id = ? AND version = ?");
      ASSERT_TRUE(update.ok());
      update->bind_blob(1, state)
          .bind_blob(2, id_column(key.case_id))
          .bind_text(3, key.collection)
          .bind_blob(4, id_column(key.record_id))
          .bind_int64(5, to_column(write.expected_version));
      ASSERT_TRUE(update->run().ok());
      ASSERT_EQ(database.changes(), 1);
    }
  }
  auto batch = database.prepare(
      "INSERT OR IGNORE INTO batches (author, batch_id, tree_size, root, signature) VALUES (?, ?, ?, ?, ?)");
  ASSERT_TRUE(batch.ok());
  batch->bind_blob(1, id_column(commit.batch.author))
      .bind_blob(2, id_column(commit.batch.id))
      .bind_int64(3, to_column(commit.batch.tree_size))
      .bind_blob(4, commit.batch.root)
      .bind_blob(5, commit.batch.signature);
  ASSERT_TRUE(batch->run().ok());
  for (std::size_t i = 0; i < commit.accepted.size(); ++i) {
    const sync::SignedChange& signed_change = commit.accepted[i];
    auto insert = database.prepare(
        "INSERT INTO change_log (sequence, device, device_sequence, case_id, change_bytes, leaf_hash, "
        "batch_id, leaf_index, tree_size, proof_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    ASSERT_TRUE(insert.ok());
    insert->bind_int64(1, to_column(first_sequence + i))
        .bind_blob(2, id_column(signed_change.change.id.device))
        .bind_int64(3, to_column(signed_change.change.id.sequence))
        .bind_blob(4, id_column(signed_change.change.record.case_id))
        .bind_blob(5, sync::encode_change(signed_change.change))
        .bind_blob(6, commit.leaf_hashes[i])
        .bind_blob(7, id_column(signed_change.proof.batch))
        .bind_int64(8, to_column(signed_change.proof.leaf_index))
        .bind_int64(9, to_column(signed_change.proof.tree_size))
        .bind_blob(10, encode_proof_path(signed_change.proof.path));
    ASSERT_TRUE(insert->run().ok());
  }
  ASSERT_TRUE(transaction->commit().ok());
}

// Device 3's change writing a sealed value to `record`.
sync::Change sealed_change(std::uint64_t sequence, const sync::RecordKey& record) {
  return body_change(3, sequence, record,
                     sync::SealedValue{crypto::Bytes(700, static_cast<std::uint8_t>(sequence))});
}

TEST(SqlcipherServerStoreUpgrade, AVersion1FileServesItsOldChangesWithValidProofsAndTakesNewCommits) {
  SqlcipherBackend backend;
  // What the file should hold, as the in-memory twin holds it.
  sync::MemoryServerStore expected;
  {
    auto database = schema::Database::open(backend.path(), backend.key());
    ASSERT_TRUE(database.ok());
    ASSERT_TRUE(schema::migrate(*database, server_schema_migrations().first(1)).ok());
    std::uint64_t head = 0;
    auto commit_both = [&](const sync::PushCommit& commit) {
      auto sequences = expected.commit_push(commit);
      ASSERT_TRUE(sequences.ok());
      ASSERT_EQ(sequences->front(), head + 1);
      write_as_version_1(*database, commit, head + 1);
      head += sequences->size();
    };
    // New records (two in case 1, one in case 2), one of them sealed.
    commit_both(write_commit(expected, 1, 1, 1, {record_key(1, 10), record_key(1, 11), record_key(2, 20)}));
    // An update of record 10, and a record created by two changes of one batch.
    commit_both(write_commit(expected, 2, 2, 1, {record_key(1, 10), record_key(2, 21), record_key(2, 21)}));
    commit_both(commit_for(
        expected, seal(3, 3, {sealed_change(1, record_key(1, 12)), sealed_change(2, record_key(2, 20))})));
    auto version = schema::schema_version(*database);
    ASSERT_TRUE(version.ok());
    ASSERT_EQ(*version, 1);
  }

  auto store = backend.open_sqlcipher();  // migrates
  const std::set<sync::CaseId> cases{case_id(1), case_id(2)};
  auto upgraded = store->read_log(0, cases, 100);
  auto reference = expected.read_log(0, cases, 100);
  ASSERT_TRUE(upgraded.ok()) << upgraded.error().message;
  ASSERT_TRUE(reference.ok());
  EXPECT_EQ(upgraded->head, reference->head);
  ASSERT_EQ(upgraded->entries.size(), 8u);
  ASSERT_EQ(upgraded->entries.size(), reference->entries.size());
  for (std::size_t i = 0; i < upgraded->entries.size(); ++i) {
    const sync::LogEntry& entry = upgraded->entries[i];
    EXPECT_EQ(entry.sequence, reference->entries[i].sequence);
    EXPECT_EQ(entry.change, reference->entries[i].change);
    const sync::ChangeProof& proof = entry.change.proof;
    auto header = store->load_batches({{entry.change.change.id.device, proof.batch}});
    ASSERT_TRUE(header.ok());
    ASSERT_EQ(header->size(), 1u);
    EXPECT_TRUE(sync::verify_inclusion(sync::merkle_leaf_hash(sync::encode_change(entry.change.change)),
                                       proof.leaf_index, proof.tree_size, proof.path, header->front().root))
        << "entry " << entry.sequence;
    auto found = store->find_change(entry.change.change.id);
    ASSERT_TRUE(found.ok());
    ASSERT_TRUE(found->has_value());
    EXPECT_EQ((*found)->sequence, entry.sequence);
  }
  for (const sync::RecordKey& key :
       {record_key(1, 10), record_key(1, 11), record_key(1, 12), record_key(2, 20), record_key(2, 21)}) {
    auto loaded = store->load_record(key);
    auto reference_record = expected.load_record(key);
    ASSERT_TRUE(loaded.ok());
    ASSERT_TRUE(reference_record.ok());
    ASSERT_TRUE(loaded->has_value());
    EXPECT_EQ((*loaded)->state, (*reference_record)->state);
    EXPECT_EQ((*loaded)->version, (*reference_record)->version);
  }

  // New commits on the upgraded file: an old record updated, a new one created.
  const sync::PushCommit next = write_commit(*store, 4, 4, 1, {record_key(1, 11), record_key(1, 13)});
  ASSERT_TRUE(expected.commit_push(next).ok());
  auto sequences = store->commit_push(next);
  ASSERT_TRUE(sequences.ok()) << sequences.error().message;
  EXPECT_EQ(*sequences, (std::vector<std::uint64_t>{9, 10}));
  for (const sync::RecordKey& key : {record_key(1, 11), record_key(1, 13)}) {
    auto loaded = store->load_record(key);
    auto reference_record = expected.load_record(key);
    ASSERT_TRUE(loaded.ok() && loaded->has_value());
    EXPECT_EQ((*loaded)->state, (*reference_record)->state);
    EXPECT_EQ((*loaded)->version, (*reference_record)->version);
  }
  store.reset();
  auto database = schema::Database::open(backend.path(), backend.key());
  ASSERT_TRUE(database.ok());
  auto version = schema::schema_version(*database);
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, static_cast<int>(server_schema_migrations().size()));
}

}  // namespace
}  // namespace casefile::server::testing
