// A replica commit applies all of its parts or none: a commit that fails
// midway (a constraint raised inside the transaction) or that is refused
// before it starts leaves every read as it was, and the store stays usable.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "device/sqlcipher_replica_store.hpp"
#include "schema/database.hpp"
#include "sync/memory_store.hpp"
#include "tests/device/replica_test_support.hpp"
#include "tests/sync/sync_test_support.hpp"

namespace casefile::device {
namespace {

using sync::testing::device_id;
using sync::testing::make_change;
using sync::testing::record_key;
using sync::testing::set_op;
using testing::ScratchDirectory;

sync::Change local_change(std::uint64_t sequence, const sync::RecordKey& key, std::string stage) {
  return make_change(sync::Dot{device_id(1), sequence}, key,
                     sync::Hlc::from_parts(1'700'000'000'000 + sequence % 1000, 0),
                     {set_op("stage", std::move(stage))});
}

// Meta, two records, three outbox changes and a quarantined one.
sync::ReplicaCommit first_commit() {
  sync::ReplicaCommit commit;
  commit.meta.pull_cursor = "AAAAAAAAAAM";
  commit.meta.next_sequence = 4;
  commit.meta.clock_last = sync::Hlc::from_parts(1'700'000'000'003, 0);
  for (std::uint64_t sequence = 1; sequence <= 3; ++sequence) {
    const auto key = record_key(1, sequence % 2);
    commit.outbox_append.push_back(local_change(sequence, key, "arrest " + std::to_string(sequence)));
  }
  for (std::uint64_t r = 0; r < 2; ++r) {
    sync::RecordState state(record_key(1, r));
    for (const sync::Change& change : commit.outbox_append) {
      if (change.record == state.key()) state.apply(change);
    }
    commit.records.push_back(state);
  }
  commit.quarantine_append.push_back(
      {local_change(9, record_key(2, 7), "x"), make_error("case_not_member", "no")});
  return commit;
}

// A commit touching every table: new meta, one record rewritten and one new,
// an outbox change appended and one removed, and a quarantined change.
sync::ReplicaCommit second_commit(sync::ReplicaStore& store, std::string quarantine_code) {
  sync::ReplicaCommit commit;
  commit.meta = *store.load_meta();
  commit.meta.pull_cursor = "AAAAAAAAAB4";
  commit.meta.next_sequence = 5;
  const sync::Change edit = local_change(4, record_key(1, 0), "trial");
  sync::RecordState rewritten = **store.load_record(record_key(1, 0));
  rewritten.apply(edit);
  sync::RecordState created(record_key(1, 5));
  created.apply(local_change(4, record_key(1, 5), "appeal"));
  commit.records = {rewritten, created};
  commit.outbox_append = {edit};
  commit.outbox_remove = {sync::ChangeId{device_id(1), 1}};
  commit.quarantine_append.push_back(
      {local_change(2, record_key(1, 0), "y"), make_error(quarantine_code, "refused")});
  return commit;
}

class ReplicaCommitAtomicity : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = testing::open_store(path_, key_);
    ASSERT_TRUE(store.commit(first_commit()).ok());
    ASSERT_TRUE(twin_.commit(first_commit()).ok());
  }

  // A trigger, installed behind the store's back, that aborts the transaction
  // when the last part of a commit (its quarantine insert) carries this code.
  void install_trip_wire() {
    auto database = schema::Database::open(path_, key_);
    ASSERT_TRUE(database.ok()) << database.error().message;
    ASSERT_TRUE(
        database
            ->execute("CREATE TRIGGER trip_wire BEFORE INSERT ON quarantine "
                      "WHEN NEW.reason_code = 'trip_wire' BEGIN SELECT RAISE(ABORT, 'trip wire'); END")
            .ok());
  }

  const std::vector<sync::RecordKey> probes_ = {record_key(1, 0), record_key(1, 1), record_key(1, 5)};
  ScratchDirectory directory_;
  std::filesystem::path path_ = directory_.file("replica.db");
  crypto::SecretBytes key_ = testing::random_storage_key();
  sync::MemoryReplicaStore twin_;  // holds the state every read must show
};

TEST_F(ReplicaCommitAtomicity, CommitFailingAtItsLastStatementLeavesThePreviousState) {
  ASSERT_NO_FATAL_FAILURE(install_trip_wire());
  auto store = testing::open_store(path_, key_);
  const Status failed = store.commit(second_commit(store, "trip_wire"));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, "store_unavailable");
  EXPECT_EQ(failed.error().message.rfind("constraint:", 0), 0u) << failed.error().message;
  testing::expect_same_observable_state(twin_, store, probes_);

  // The store stays usable, and the same commit without the trip wire applies in full.
  const sync::ReplicaCommit good = second_commit(store, "case_not_member");
  ASSERT_TRUE(store.commit(good).ok());
  ASSERT_TRUE(twin_.commit(good).ok());
  testing::expect_same_observable_state(twin_, store, probes_);
}

TEST_F(ReplicaCommitAtomicity, FailedCommitLeavesNothingBehindAfterReopening) {
  ASSERT_NO_FATAL_FAILURE(install_trip_wire());
  {
    auto store = testing::open_store(path_, key_);
    ASSERT_FALSE(store.commit(second_commit(store, "trip_wire")).ok());
  }
  auto reopened = testing::open_store(path_, key_);
  testing::expect_same_observable_state(twin_, reopened, probes_);
}

TEST_F(ReplicaCommitAtomicity, InvalidChangeIsRefusedBeforeAnythingIsWritten) {
  auto store = testing::open_store(path_, key_);
  sync::ReplicaCommit commit = second_commit(store, "case_not_member");
  sync::Change invalid = local_change(6, record_key(1, 0), "z");
  invalid.operations.push_back(invalid.operations.front());  // the same field twice
  commit.outbox_append.push_back(invalid);
  const Status refused = store.commit(commit);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "change_invalid");
  testing::expect_same_observable_state(twin_, store, probes_);
}

TEST_F(ReplicaCommitAtomicity, SequenceBeyondTheStorableRangeIsRefusedBeforeAnythingIsWritten) {
  auto store = testing::open_store(path_, key_);
  for (const std::uint64_t sequence :
       {std::uint64_t{0}, std::uint64_t{1} << 63, std::numeric_limits<std::uint64_t>::max()}) {
    sync::ReplicaCommit commit = second_commit(store, "case_not_member");
    commit.outbox_append.push_back(local_change(sequence, record_key(1, 0), "z"));
    const Status refused = store.commit(commit);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, sequence == 0 ? "change_invalid" : "sequence_out_of_range")
        << sequence << ": " << refused.error().message;
    testing::expect_same_observable_state(twin_, store, probes_);
  }
}

}  // namespace
}  // namespace casefile::device
