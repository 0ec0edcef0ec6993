// The conformance tests (server_store_conformance.hpp says how a backend
// plugs in). Each test states one property of the ServerStore contract.
#include "tests/server/store/server_store_conformance.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <random>
#include <sstream>
#include <thread>

#include "sync/cursor.hpp"
#include "sync/memory_store.hpp"
#include "sync/pull.hpp"
#include "sync/push.hpp"
#include "tests/support/child_process.hpp"
#include "tests/server/store/store_test_data.hpp"

namespace casefile::server::testing {
namespace {

using sync::LogEntry;
using sync::PushCommit;

std::vector<std::uint64_t> commit_ok(sync::ServerStore& store, const PushCommit& commit) {
  auto sequences = store.commit_push(commit);
  EXPECT_TRUE(sequences.ok()) << sequences.error().code << ": " << sequences.error().message;
  return sequences.ok() ? *sequences : std::vector<std::uint64_t>{};
}

std::vector<LogEntry> whole_log(sync::ServerStore& store, const std::set<sync::CaseId>& cases) {
  std::vector<LogEntry> entries;
  std::uint64_t after = 0;
  for (;;) {
    auto slice = store.read_log(after, cases, 1000);
    EXPECT_TRUE(slice.ok());
    if (!slice.ok()) return entries;
    entries.insert(entries.end(), slice->entries.begin(), slice->entries.end());
    if (slice->scanned_through >= slice->head) return entries;
    after = slice->scanned_through;
  }
}

std::vector<std::uint64_t> sequences_of(const std::vector<LogEntry>& entries) {
  std::vector<std::uint64_t> sequences;
  for (const LogEntry& entry : entries) sequences.push_back(entry.sequence);
  return sequences;
}

std::vector<std::uint64_t> one_to(std::uint64_t last) {
  std::vector<std::uint64_t> sequences(last);
  for (std::uint64_t i = 0; i < last; ++i) sequences[i] = i + 1;
  return sequences;
}

const std::set<sync::CaseId> kCasesOneToFour = {case_id(1), case_id(2), case_id(3), case_id(4)};

TEST_P(ServerStoreConformance, SequencesStartAtOneAndGrowWithoutGaps) {
  EXPECT_EQ(commit_ok(*store_, write_commit(*store_, 1, 1, 1, {record_key(1, 1), record_key(1, 2)})),
            (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(commit_ok(*store_,
                      write_commit(*store_, 2, 2, 1, {record_key(2, 3), record_key(1, 4), record_key(2, 5)})),
            (std::vector<std::uint64_t>{3, 4, 5}));
  EXPECT_EQ(commit_ok(*store_, write_commit(*store_, 1, 3, 3, {record_key(1, 1)})),
            (std::vector<std::uint64_t>{6}));

  auto slice = store_->read_log(0, kCasesOneToFour, 100);
  ASSERT_TRUE(slice.ok());
  EXPECT_EQ(slice->head, 6u);
  EXPECT_EQ(slice->scanned_through, 6u);
  EXPECT_EQ(sequences_of(slice->entries), one_to(6));
}

TEST_P(ServerStoreConformance, LogEntriesHoldTheChangeAndItsProofAsCommitted) {
  const PushCommit commit =
      write_commit(*store_, 1, 7, 1, {record_key(1, 1), record_key(2, 2), record_key(1, 3)});
  commit_ok(*store_, commit);
  auto slice = store_->read_log(0, kCasesOneToFour, 100);
  ASSERT_TRUE(slice.ok());
  ASSERT_EQ(slice->entries.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(slice->entries[i].sequence, i + 1);
    EXPECT_EQ(slice->entries[i].change, commit.accepted[i]);
  }
}

TEST_P(ServerStoreConformance, FindChangeAnswersWithTheSequenceAndLeafHashItWasGiven) {
  commit_ok(*store_, write_commit(*store_, 1, 1, 1, {record_key(1, 1)}));
  const PushCommit commit = write_commit(*store_, 2, 2, 5, {record_key(1, 2), record_key(1, 3)});
  commit_ok(*store_, commit);

  auto found = store_->find_change(sync::ChangeId{device_id(2), 6});
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->sequence, 3u);
  EXPECT_EQ((*found)->leaf_hash, commit.leaf_hashes[1]);

  auto absent = store_->find_change(sync::ChangeId{device_id(2), 7});
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());
  auto other_device = store_->find_change(sync::ChangeId{device_id(3), 5});
  ASSERT_TRUE(other_device.ok());
  EXPECT_FALSE(other_device->has_value());
}

TEST_P(ServerStoreConformance, RecordVersionStartsAtOneAndGrowsByOnePerCommit) {
  auto missing = store_->load_record(record_key(1, 1));
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  const PushCommit created = write_commit(*store_, 1, 1, 1, {record_key(1, 1)});
  commit_ok(*store_, created);
  auto first = store_->load_record(record_key(1, 1));
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->version, 1u);
  EXPECT_EQ((*first)->state, created.records[0].state);

  // Two changes to the record in one commit are one rewrite.
  const PushCommit updated = write_commit(*store_, 1, 2, 2, {record_key(1, 1), record_key(1, 1)});
  ASSERT_EQ(updated.records.size(), 1u);
  EXPECT_EQ(updated.records[0].expected_version, 1u);
  commit_ok(*store_, updated);
  auto second = store_->load_record(record_key(1, 1));
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((*second)->version, 2u);
  EXPECT_EQ((*second)->state, updated.records[0].state);
}

// Everything a refused commit could have touched is as it was before.
void expect_untouched_by(sync::ServerStore& store, const PushCommit& refused, std::uint64_t head_before,
                         const std::map<sync::RecordKey, std::optional<sync::StoredRecord>>& records_before) {
  auto slice = store.read_log(0, kCasesOneToFour, 1000);
  ASSERT_TRUE(slice.ok());
  EXPECT_EQ(slice->head, head_before);
  for (const sync::SignedChange& change : refused.accepted) {
    auto found = store.find_change(change.change.id);
    ASSERT_TRUE(found.ok());
    if (found->has_value()) {
      // Only a change that was already logged before the refused commit.
      EXPECT_LE((*found)->sequence, head_before);
    }
  }
  for (const auto& [key, before] : records_before) {
    auto now = store.load_record(key);
    ASSERT_TRUE(now.ok());
    ASSERT_EQ(now->has_value(), before.has_value());
    if (before) {
      EXPECT_EQ((*now)->version, before->version);
      EXPECT_EQ((*now)->state, before->state);
    }
  }
}

std::map<sync::RecordKey, std::optional<sync::StoredRecord>> snapshot_records(sync::ServerStore& store,
                                                                              const PushCommit& commit) {
  std::map<sync::RecordKey, std::optional<sync::StoredRecord>> records;
  for (const auto& write : commit.records) records[write.state.key()] = *store.load_record(write.state.key());
  return records;
}

TEST_P(ServerStoreConformance, StaleExpectedVersionIsAConflictThatCommitsNothing) {
  commit_ok(*store_, write_commit(*store_, 1, 1, 1, {record_key(1, 1), record_key(1, 2)}));
  // Computed from version 1 of record 2, which another push then rewrites.
  PushCommit stale = write_commit(*store_, 2, 2, 1, {record_key(1, 3), record_key(1, 2), record_key(2, 4)});
  commit_ok(*store_, write_commit(*store_, 1, 3, 3, {record_key(1, 2)}));
  const auto records_before = snapshot_records(*store_, stale);

  auto refused = store_->commit_push(stale);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "store_conflict");
  expect_untouched_by(*store_, stale, 3, records_before);
  auto batches = store_->load_batches({{device_id(2), batch_id(2)}});
  ASSERT_TRUE(batches.ok());
  EXPECT_TRUE(batches->empty()) << "the refused commit's batch header was stored";
}

TEST_P(ServerStoreConformance, CreatingARecordThatExistsIsAConflict) {
  commit_ok(*store_, write_commit(*store_, 1, 1, 1, {record_key(1, 1)}));
  PushCommit stale = write_commit(*store_, 2, 2, 1, {record_key(1, 2), record_key(1, 1)});
  for (auto& write : stale.records) write.expected_version = 0;  // as if record 1 had not been seen
  const auto records_before = snapshot_records(*store_, stale);

  auto refused = store_->commit_push(stale);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "store_conflict");
  expect_untouched_by(*store_, stale, 1, records_before);
}

TEST_P(ServerStoreConformance, ReusedChangeIdIsAConflictThatCommitsNothing) {
  commit_ok(*store_, write_commit(*store_, 1, 1, 1, {record_key(1, 1), record_key(1, 2)}));
  // Device 1's sequence 2 again, inside a commit that is otherwise new.
  PushCommit reused = write_commit(*store_, 1, 2, 2, {record_key(2, 3)});
  PushCommit fresh_first = write_commit(*store_, 1, 2, 3, {record_key(2, 4)});
  fresh_first.accepted.push_back(reused.accepted[0]);
  fresh_first.leaf_hashes.push_back(reused.leaf_hashes[0]);
  fresh_first.records.push_back(reused.records[0]);
  const auto records_before = snapshot_records(*store_, fresh_first);

  auto refused = store_->commit_push(fresh_first);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "store_conflict");
  expect_untouched_by(*store_, fresh_first, 2, records_before);
  auto original = store_->find_change(sync::ChangeId{device_id(1), 2});
  ASSERT_TRUE(original.ok() && original->has_value());
  EXPECT_EQ((*original)->sequence, 2u);
}

TEST_P(ServerStoreConformance, ARefusedCommitLeavesNoGapForTheNext) {
  commit_ok(*store_, write_commit(*store_, 1, 1, 1, {record_key(1, 1)}));
  PushCommit stale = write_commit(*store_, 2, 2, 1, {record_key(1, 1), record_key(1, 2)});
  commit_ok(*store_, write_commit(*store_, 1, 3, 2, {record_key(1, 1)}));
  ASSERT_FALSE(store_->commit_push(stale).ok());
  EXPECT_EQ(commit_ok(*store_, write_commit(*store_, 3, 4, 1, {record_key(1, 5), record_key(1, 6)})),
            (std::vector<std::uint64_t>{3, 4}));
  EXPECT_EQ(sequences_of(whole_log(*store_, kCasesOneToFour)), one_to(4));
}

// Eight changes; case of each: 1 2 3 1 1 2 3 1 (sequences 1..8).
void commit_eight_changes_over_three_cases(sync::ServerStore& store) {
  const std::vector<std::uint64_t> cases = {1, 2, 3, 1, 1, 2, 3, 1};
  std::vector<sync::RecordKey> records;
  for (std::size_t i = 0; i < cases.size(); ++i) records.push_back(record_key(cases[i], 100 + i));
  commit_ok(store, write_commit(store, 1, 1, 1, {records.begin(), records.begin() + 3}));
  commit_ok(store, write_commit(store, 2, 2, 1, {records.begin() + 3, records.end()}));
}

// The sequences read_log returns; checks that each is in a readable case and
// that the head is 8.
std::vector<std::uint64_t> read_sequences(sync::ServerStore& store, std::uint64_t after,
                                          const std::set<sync::CaseId>& cases, std::size_t limit,
                                          std::uint64_t& scanned_through) {
  auto slice = store.read_log(after, cases, limit);
  EXPECT_TRUE(slice.ok());
  if (!slice.ok()) return {};
  EXPECT_EQ(slice->head, 8u);
  for (const LogEntry& entry : slice->entries) EXPECT_EQ(cases.count(entry.change.change.record.case_id), 1u);
  scanned_through = slice->scanned_through;
  return sequences_of(slice->entries);
}

TEST_P(ServerStoreConformance, ReadLogReturnsOnlyTheReadableCasesInSequenceOrder) {
  commit_eight_changes_over_three_cases(*store_);
  std::uint64_t scanned = 0;
  EXPECT_EQ(read_sequences(*store_, 0, {case_id(1)}, 100, scanned), (std::vector<std::uint64_t>{1, 4, 5, 8}));
  EXPECT_EQ(scanned, 8u);
  EXPECT_EQ(read_sequences(*store_, 0, {case_id(2), case_id(3)}, 100, scanned),
            (std::vector<std::uint64_t>{2, 3, 6, 7}));
  EXPECT_EQ(scanned, 8u);
  EXPECT_EQ(read_sequences(*store_, 0, {case_id(9)}, 100, scanned), (std::vector<std::uint64_t>{}));
  EXPECT_EQ(scanned, 8u);
  EXPECT_EQ(read_sequences(*store_, 0, {}, 100, scanned), (std::vector<std::uint64_t>{}));
  EXPECT_EQ(scanned, 8u);
}

TEST_P(ServerStoreConformance, ReadLogStopsAtTheLimitAndScansThroughTheLastEntryReturned) {
  commit_eight_changes_over_three_cases(*store_);
  std::uint64_t scanned = 0;
  EXPECT_EQ(read_sequences(*store_, 0, {case_id(1), case_id(3)}, 3, scanned),
            (std::vector<std::uint64_t>{1, 3, 4}));
  EXPECT_EQ(scanned, 4u);
  EXPECT_EQ(read_sequences(*store_, 4, {case_id(1), case_id(3)}, 3, scanned),
            (std::vector<std::uint64_t>{5, 7, 8}));
  EXPECT_EQ(scanned, 8u);
  EXPECT_EQ(read_sequences(*store_, 0, {case_id(2)}, 1, scanned), (std::vector<std::uint64_t>{2}));
  EXPECT_EQ(scanned, 2u);
}

TEST_P(ServerStoreConformance, ReadLogStartsAfterTheGivenSequence) {
  commit_eight_changes_over_three_cases(*store_);
  std::uint64_t scanned = 0;
  EXPECT_EQ(read_sequences(*store_, 5, {case_id(1), case_id(2), case_id(3)}, 100, scanned),
            (std::vector<std::uint64_t>{6, 7, 8}));
  EXPECT_EQ(scanned, 8u);
  EXPECT_EQ(read_sequences(*store_, 8, {case_id(1)}, 100, scanned), (std::vector<std::uint64_t>{}));
  EXPECT_EQ(scanned, 8u);
  // A cursor from a newer backup: nothing, and the scan does not move backwards.
  EXPECT_EQ(read_sequences(*store_, 20, {case_id(1)}, 100, scanned), (std::vector<std::uint64_t>{}));
  EXPECT_EQ(scanned, 20u);
}

TEST_P(ServerStoreConformance, BatchHeaderIsStoredOnceAndLoadedByAuthorAndId) {
  // One batch of four changes pushed as two commits (as when a push is retried
  // after part of it was refused).
  std::vector<sync::Change> changes;
  for (std::uint64_t i = 1; i <= 4; ++i)
    changes.push_back(body_change(1, i, record_key(1, i), std::int64_t{7}));
  const sync::Batch batch = seal(1, 42, changes);
  sync::Batch first_half{batch.header, {batch.changes.begin(), batch.changes.begin() + 2}};
  commit_ok(*store_, commit_for(*store_, first_half));
  sync::Batch second_half{batch.header, {batch.changes.begin() + 2, batch.changes.end()}};
  commit_ok(*store_, commit_for(*store_, second_half));
  const sync::Batch other = seal(2, 43, {body_change(2, 1, record_key(2, 9), true)});
  commit_ok(*store_, commit_for(*store_, other));

  auto headers = store_->load_batches(
      {{device_id(2), batch_id(43)}, {device_id(1), batch_id(43)}, {device_id(1), batch_id(42)}});
  ASSERT_TRUE(headers.ok());
  EXPECT_EQ(*headers, (std::vector<sync::BatchHeader>{other.header, batch.header}));
  auto none = store_->load_batches({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(ServerStoreConformance, EverythingCommittedSurvivesARestart) {
  const PushCommit first = write_commit(*store_, 1, 1, 1, {record_key(1, 1), record_key(2, 2)});
  commit_ok(*store_, first);
  const PushCommit second = write_commit(*store_, 2, 2, 1, {record_key(1, 1)});
  commit_ok(*store_, second);
  auto record_before = store_->load_record(record_key(1, 1));
  ASSERT_TRUE(record_before.ok());

  restart();

  const std::vector<LogEntry> log = whole_log(*store_, kCasesOneToFour);
  ASSERT_EQ(sequences_of(log), one_to(3));
  EXPECT_EQ(log[0].change, first.accepted[0]);
  EXPECT_EQ(log[2].change, second.accepted[0]);
  auto found = store_->find_change(sync::ChangeId{device_id(1), 2});
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->sequence, 2u);
  auto record_after = store_->load_record(record_key(1, 1));
  ASSERT_TRUE(record_after.ok() && record_after->has_value());
  EXPECT_EQ((*record_after)->version, 2u);
  EXPECT_EQ((*record_after)->state, (*record_before)->state);
  auto headers = store_->load_batches({{device_id(1), batch_id(1)}, {device_id(2), batch_id(2)}});
  ASSERT_TRUE(headers.ok());
  EXPECT_EQ(*headers, (std::vector<sync::BatchHeader>{first.batch, second.batch}));
  // Numbering carries on where it stopped.
  EXPECT_EQ(commit_ok(*store_, write_commit(*store_, 3, 3, 1, {record_key(3, 3)})),
            (std::vector<std::uint64_t>{4}));
}

TEST_P(ServerStoreConformance, ConcurrentPushesAreEachAnsweredWithDenseSequencesInCommitOrder) {
  constexpr int kPushers = 8;
  constexpr int kCommitsEach = 12;
  // Every pusher also rewrites one shared record on each commit, so that
  // commits conflict and are retried (re-read, recomputed), as handle_push does.
  const sync::RecordKey shared = record_key(4, 999);
  struct Answered {
    PushCommit commit;
    std::vector<std::uint64_t> sequences;
  };
  std::vector<std::vector<Answered>> answered(kPushers);
  std::atomic<int> failures{0};
  std::atomic<int> conflicts{0};
  std::vector<std::thread> pushers;
  for (int pusher = 0; pusher < kPushers; ++pusher) {
    pushers.emplace_back([&, pusher] {
      const std::uint64_t device = 10 + pusher;
      std::uint64_t device_sequence = 1;
      for (int i = 0; i < kCommitsEach; ++i) {
        const std::uint64_t changes = 1 + (pusher + i) % 4;
        std::vector<sync::RecordKey> records;
        for (std::uint64_t c = 0; c < changes; ++c)
          records.push_back(record_key(1 + (device + c) % 3, device * 1000 + device_sequence + c));
        records.push_back(shared);
        for (;;) {
          PushCommit commit = write_commit(*store_, device, device * 1000 + i, device_sequence, records);
          auto sequences = store_->commit_push(commit);
          if (!sequences.ok() && sequences.error().code == "store_conflict") {
            ++conflicts;
            continue;
          }
          if (!sequences.ok()) {
            ++failures;
            return;
          }
          answered[pusher].push_back({std::move(commit), *sequences});
          break;
        }
        device_sequence += records.size();
      }
    });
  }
  for (auto& pusher : pushers) pusher.join();
  ASSERT_EQ(failures.load(), 0);

  const std::vector<LogEntry> log = whole_log(*store_, kCasesOneToFour);
  std::uint64_t total = 0;
  for (int pusher = 0; pusher < kPushers; ++pusher) {
    ASSERT_EQ(answered[pusher].size(), static_cast<std::size_t>(kCommitsEach));
    std::uint64_t previous = 0;
    for (const Answered& answer : answered[pusher]) {
      ASSERT_EQ(answer.sequences.size(), answer.commit.accepted.size());
      total += answer.sequences.size();
      // One commit: consecutive sequences, later than the pusher's earlier commit,
      // holding exactly its changes in its order.
      EXPECT_GT(answer.sequences.front(), previous);
      previous = answer.sequences.back();
      for (std::size_t i = 0; i < answer.sequences.size(); ++i) {
        EXPECT_EQ(answer.sequences[i], answer.sequences.front() + i);
        ASSERT_LE(answer.sequences[i], log.size());
        EXPECT_EQ(log[answer.sequences[i] - 1].change, answer.commit.accepted[i]);
      }
    }
  }
  EXPECT_EQ(sequences_of(log), one_to(total));
  auto shared_record = store_->load_record(shared);
  ASSERT_TRUE(shared_record.ok() && shared_record->has_value());
  EXPECT_EQ((*shared_record)->version, static_cast<std::uint64_t>(kPushers * kCommitsEach));
  EXPECT_EQ((*shared_record)->state.field("body")->entries().size(),
            static_cast<std::size_t>(kPushers * kCommitsEach));
}

// Runs the same pushes and pulls through sync's handlers over the backend and
// over the in-memory twin, and expects the same answers.
TEST_P(ServerStoreConformance, SyncPushAndPullAnswerAsOverTheMemoryStore) {
  sync::MemoryServerStore reference;
  const std::uint64_t now = kBaseMillis + 60'000;
  auto context_for = [&](std::uint64_t device, std::set<sync::CaseId> writable) {
    sync::PushContext context;
    context.device = device_id(device);
    context.device_public_key = device_key(device).public_key();
    context.writable_cases = std::move(writable);
    context.server_now_millis = now;
    return context;
  };
  const sync::PushContext lawyer = context_for(1, {case_id(1), case_id(2)});
  const sync::PushContext supervisor = context_for(2, {case_id(1)});
  auto push_both = [&](const sync::PushContext& context, const sync::Batch& batch) {
    auto expected = sync::handle_push(reference, context, batch);
    auto actual = sync::handle_push(*store_, context, batch);
    ASSERT_TRUE(expected.ok()) << expected.error().message;
    ASSERT_TRUE(actual.ok()) << actual.error().message;
    EXPECT_EQ(*actual, *expected);
  };

  // New records; one change outside the device's cases (refused).
  push_both(lawyer, seal(1, 1,
                         {body_change(1, 1, record_key(1, 1), std::string("first")),
                          body_change(1, 2, record_key(2, 2), std::int64_t{5}),
                          body_change(1, 3, record_key(3, 3), std::string("not my case"))}));
  // A concurrent write to the same field (siblings), and a new record.
  push_both(supervisor,
            seal(2, 2,
                 {body_change(2, 1, record_key(1, 1), std::string("second")),
                  body_change(2, 2, record_key(1, 4), sync::SealedValue{crypto::Bytes(40, 0x5a)})}));
  // The first batch again: duplicates and the same refusal.
  push_both(lawyer, seal(1, 1,
                         {body_change(1, 1, record_key(1, 1), std::string("first")),
                          body_change(1, 2, record_key(2, 2), std::int64_t{5}),
                          body_change(1, 3, record_key(3, 3), std::string("not my case"))}));
  // A reused id with other bytes, a resolution of the siblings, and a delete.
  sync::Change resolution{sync::ChangeId{device_id(1), 5},
                          record_key(1, 1),
                          sync::Hlc::from_parts(kBaseMillis + 50, 0),
                          {sync::Operation{sync::OperationKind::resolve_conflict,
                                           "body",
                                           std::string("agreed"),
                                           {sync::Dot{device_id(1), 1}, sync::Dot{device_id(2), 1}}}}};
  sync::canonicalize_change(resolution);
  sync::Change deletion{
      sync::ChangeId{device_id(1), 6},
      record_key(2, 2),
      sync::Hlc::from_parts(kBaseMillis + 51, 0),
      {sync::Operation{
          sync::OperationKind::delete_record, "", sync::NullValue{}, {sync::Dot{device_id(1), 2}}}}};
  sync::canonicalize_change(deletion);
  push_both(lawyer, seal(1, 3, {body_change(1, 2, record_key(2, 2), std::int64_t{6}), resolution, deletion}));

  for (const sync::RecordKey& key :
       {record_key(1, 1), record_key(2, 2), record_key(1, 4), record_key(3, 3)}) {
    auto expected = reference.load_record(key);
    auto actual = store_->load_record(key);
    ASSERT_TRUE(expected.ok() && actual.ok());
    ASSERT_EQ(actual->has_value(), expected->has_value());
    if (expected->has_value()) {
      EXPECT_EQ((*actual)->state, (*expected)->state);
      EXPECT_EQ((*actual)->version, (*expected)->version);
    }
  }

  // Pages of two, for several membership sets, from the start to the end.
  for (const std::set<sync::CaseId>& readable :
       {std::set<sync::CaseId>{case_id(1)}, std::set<sync::CaseId>{case_id(1), case_id(2)},
        std::set<sync::CaseId>{case_id(2), case_id(3)}}) {
    std::string cursor;
    for (int page = 0; page < 10; ++page) {
      auto expected = sync::handle_pull(reference, readable, cursor, 2, now);
      auto actual = sync::handle_pull(*store_, readable, cursor, 2, now);
      ASSERT_TRUE(expected.ok() && actual.ok());
      EXPECT_EQ(*actual, *expected);
      cursor = expected->next_cursor;
      if (!expected->has_more) break;
    }
  }
  auto ahead = sync::handle_pull(*store_, {case_id(1)}, sync::encode_cursor(100), 2, now);
  ASSERT_FALSE(ahead.ok());
  EXPECT_EQ(ahead.error().code, "invalid_cursor");
}

// ---- Crash: acknowledged commits survive SIGKILL exactly once. ----

constexpr int kChildPushers = 3;
constexpr std::uint64_t kChangesPerCommit = 4;
const std::set<sync::CaseId> kCrashCases = {case_id(1), case_id(2), case_id(3)};

struct Acknowledged {
  std::uint64_t device = 0;
  std::uint64_t first_device_sequence = 0;
  std::uint64_t first_sequence = 0;
};

// Child side: pushers commit new records forever; after each commit_push
// returns, one line "device first_device_sequence first_sequence" goes down
// the pipe in a single write (atomic: shorter than PIPE_BUF).
[[noreturn]] void run_crash_child(ServerStoreBackend& backend, int round, int progress_fd) {
  std::unique_ptr<sync::ServerStore> store = backend.open();
  std::vector<std::thread> pushers;
  for (int pusher = 0; pusher < kChildPushers; ++pusher) {
    pushers.emplace_back([&, pusher] {
      const std::uint64_t device = 100 * static_cast<std::uint64_t>(round + 1) + pusher;
      for (std::uint64_t sequence = 1;; sequence += kChangesPerCommit) {
        std::vector<sync::RecordKey> records;
        for (std::uint64_t c = 0; c < kChangesPerCommit; ++c)
          records.push_back(record_key(1 + (sequence + c) % 3, device * 1'000'000 + sequence + c));
        auto sequences = store->commit_push(
            write_commit(*store, device, device * 1'000'000 + sequence, sequence, records));
        if (!sequences.ok()) _exit(20);
        const std::string line = std::to_string(device) + " " + std::to_string(sequence) + " " +
                                 std::to_string(sequences->front()) + "\n";
        if (write(progress_fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(21);
      }
    });
  }
  for (;;) pause();
}

// Reads one acknowledgement line; false at end of stream.
bool read_acknowledged(test_support::ChildProcess& child, Acknowledged& out) {
  std::string line;
  for (char byte = child.read_progress(); byte != '\n'; byte = child.read_progress()) {
    if (byte == 0) return false;
    line.push_back(byte);
  }
  std::istringstream fields(line);
  fields >> out.device >> out.first_device_sequence >> out.first_sequence;
  return !fields.fail();
}

TEST_P(ServerStoreCrashConformance, EveryAcknowledgedCommitSurvivesSigkillExactlyOnce) {
  std::mt19937 random(20240612);
  std::vector<Acknowledged> acknowledged;
  int rounds_killed_mid_work = 0;
  for (int round = 0; round < 12; ++round) {
    const int wait_for = 2 + static_cast<int>(random() % 25);
    test_support::ChildProcess child(
        [&](int progress_fd) { run_crash_child(*backend_, round, progress_fd); });
    Acknowledged ack;
    for (int i = 0; i < wait_for; ++i) {
      ASSERT_TRUE(read_acknowledged(child, ack)) << "the child stopped early in round " << round;
      acknowledged.push_back(ack);
    }
    // Kill while the pushers keep committing; acknowledgements already in the
    // pipe count too.
    if (child.kill_and_wait()) ++rounds_killed_mid_work;
    while (read_acknowledged(child, ack)) acknowledged.push_back(ack);

    std::unique_ptr<sync::ServerStore> store = backend_->open();
    const std::vector<LogEntry> log = whole_log(*store, kCrashCases);
    ASSERT_EQ(sequences_of(log), one_to(log.size())) << "round " << round;
    std::set<sync::ChangeId> seen;
    std::map<sync::BatchId, std::size_t> changes_per_batch;
    for (const LogEntry& entry : log) {
      EXPECT_TRUE(seen.insert(entry.change.change.id).second) << "a change is logged twice";
      ++changes_per_batch[entry.change.proof.batch];
    }
    for (const auto& [batch, count] : changes_per_batch)
      EXPECT_EQ(count, kChangesPerCommit) << "a torn commit";
    for (const Acknowledged& a : acknowledged) {
      for (std::uint64_t c = 0; c < kChangesPerCommit; ++c) {
        auto found = store->find_change(sync::ChangeId{device_id(a.device), a.first_device_sequence + c});
        ASSERT_TRUE(found.ok());
        ASSERT_TRUE(found->has_value()) << "acknowledged change lost: device " << a.device << " sequence "
                                        << a.first_device_sequence + c << " (round " << round << ")";
        EXPECT_EQ((*found)->sequence, a.first_sequence + c);
      }
    }
  }
  EXPECT_EQ(rounds_killed_mid_work, 12);
  RecordProperty("acknowledged_commits", static_cast<int>(acknowledged.size()));
}

}  // namespace
}  // namespace casefile::server::testing
