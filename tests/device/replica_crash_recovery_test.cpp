// A device process killed (SIGKILL) during a stream of replica commits leaves
// the replica at its last committed step, whole: meta, records, outbox and
// quarantine all agree on one step number, and it is at least the last step
// the process reported as committed.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>

#include "device/sqlcipher_replica_store.hpp"
#include "tests/support/child_process.hpp"
#include "tests/device/replica_test_support.hpp"
#include "tests/sync/sync_test_support.hpp"

namespace casefile::device {
namespace {

using sync::testing::device_id;
using sync::testing::record_key;
using test_support::ChildProcess;
using test_support::report_progress;
using testing::ScratchDirectory;

constexpr char kCommitted = 'c';
constexpr std::uint64_t kStartMillis = 1'700'000'000'000;
constexpr std::uint64_t kOutboxWindow = 3;             // the outbox keeps the last three changes
constexpr std::uint64_t kQuarantineEvery = 7;          // every seventh step quarantines one change
const sync::RecordKey kStepRecord = record_key(2, 0);  // its "step" field always holds the step

std::string cursor_for(std::uint64_t step) { return "cursor-" + std::to_string(step); }

sync::Change change_for(std::uint64_t step, const sync::RecordKey& key, const std::string& field,
                        std::vector<sync::Dot> supersedes) {
  return sync::testing::make_change(
      sync::Dot{device_id(1), step}, key, sync::Hlc::from_parts(kStartMillis + step, 0),
      {sync::testing::set_op(field, std::int64_t(step), std::move(supersedes))});
}

// Step n: the meta says n, the step record's field and record (1, n % 5)'s
// "count" are set to n, change n joins the outbox and change n-3 leaves it.
// Returns false on any store error.
bool commit_step(SqlcipherReplicaStore& store, std::uint64_t step) {
  sync::ReplicaCommit commit;
  commit.meta.pull_cursor = cursor_for(step);
  commit.meta.next_sequence = step + 1;
  commit.meta.clock_last = sync::Hlc::from_parts(kStartMillis + step, 0);
  for (const auto& [key, field] :
       {std::pair{kStepRecord, "step"}, std::pair{record_key(1, step % 5), "count"}}) {
    auto stored = store.load_record(key);
    if (!stored.ok()) return false;
    sync::RecordState state = stored->has_value() ? **stored : sync::RecordState(key);
    const sync::Change change = change_for(step, key, field, state.live_dots(field));
    state.apply(change);
    commit.records.push_back(state);
    if (key == kStepRecord) commit.outbox_append.push_back(change);
  }
  if (step > kOutboxWindow)
    commit.outbox_remove.push_back(sync::ChangeId{device_id(1), step - kOutboxWindow});
  if (step % kQuarantineEvery == 0) {
    commit.quarantine_append.push_back({commit.outbox_append.front(), make_error("case_not_member", "step")});
  }
  return store.commit(commit).ok();
}

// Child side: continues from the replica's last step and commits steps until
// killed, reporting each commit after it returns.
void run_committer(const std::filesystem::path& path, const crypto::SecretBytes& key, int progress_fd) {
  auto store = SqlcipherReplicaStore::open(path, key);
  if (!store.ok()) _exit(4);
  auto meta = store->load_meta();
  if (!meta.ok()) _exit(5);
  for (std::uint64_t step = meta->next_sequence;; ++step) {
    if (!commit_step(*store, step)) _exit(6);
    report_progress(progress_fd, kCommitted);
  }
}

std::int64_t winner_integer(const sync::RecordState& state, const std::string& field) {
  const sync::FieldRegister* field_register = state.field(field);
  if (field_register == nullptr || field_register->winner() == nullptr) return -1;
  return std::get<std::int64_t>(field_register->winner()->value);
}

// Every part of the replica says `step`.
void expect_whole_step(SqlcipherReplicaStore& store, std::uint64_t step) {
  auto meta = store.load_meta();
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->pull_cursor, cursor_for(step));
  EXPECT_EQ(meta->clock_last, sync::Hlc::from_parts(kStartMillis + step, 0));
  auto step_record = store.load_record(kStepRecord);
  ASSERT_TRUE(step_record.ok() && step_record->has_value());
  EXPECT_EQ(winner_integer(**step_record, "step"), static_cast<std::int64_t>(step));
  EXPECT_FALSE((*step_record)->has_field_conflict());
  auto count_record = store.load_record(record_key(1, step % 5));
  ASSERT_TRUE(count_record.ok() && count_record->has_value());
  EXPECT_EQ(winner_integer(**count_record, "count"), static_cast<std::int64_t>(step));
  auto outbox = store.read_outbox(0, 100);
  ASSERT_TRUE(outbox.ok());
  const std::uint64_t first = step > kOutboxWindow ? step - kOutboxWindow + 1 : 1;
  ASSERT_EQ(outbox->size(), step - first + 1);
  for (std::uint64_t sequence = first; sequence <= step; ++sequence) {
    EXPECT_EQ((*outbox)[sequence - first].id.sequence, sequence);
  }
  auto quarantine = store.read_quarantine();
  ASSERT_TRUE(quarantine.ok());
  EXPECT_EQ(quarantine->size(), step / kQuarantineEvery);
}

TEST(ReplicaCrashRecovery, KillDuringAStreamOfCommitsKeepsTheLastCommittedStepWhole) {
  ScratchDirectory directory;
  const auto path = directory.file("replica.db");
  const auto key = testing::random_storage_key();
  { auto store = testing::open_store(path, key); }
  std::mt19937 random(20240612);
  std::uint64_t committed = 0;
  for (int round = 0; round < 8; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const int reports_before_kill = 1 + static_cast<int>(random() % 12);
    ChildProcess child([&](int progress_fd) { run_committer(path, key, progress_fd); });
    for (int i = 0; i < reports_before_kill; ++i) ASSERT_EQ(child.read_progress(), kCommitted);
    // The child is committing further steps as it dies: the kill may land in
    // the middle of a commit's writes, its fsync, or between commits.
    ASSERT_TRUE(child.kill_and_wait());

    auto store = testing::open_store(path, key);
    auto meta = store.load_meta();
    ASSERT_TRUE(meta.ok());
    const std::uint64_t step = meta->next_sequence - 1;
    ASSERT_GE(step, committed + static_cast<std::uint64_t>(reports_before_kill));
    ASSERT_NO_FATAL_FAILURE(expect_whole_step(store, step));
    committed = step;
  }
}

}  // namespace
}  // namespace casefile::device
