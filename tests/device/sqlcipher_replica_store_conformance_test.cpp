// SqlcipherReplicaStore behaves as sync::MemoryReplicaStore, its in-memory
// twin: the same random sequence of commits, applied to both, gives the same
// answer to every read after every commit, also across closing and reopening
// the file.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "device/sqlcipher_replica_store.hpp"
#include "sync/memory_store.hpp"
#include "tests/device/replica_test_support.hpp"
#include "tests/sync/sync_test_support.hpp"

namespace casefile::device {
namespace {

using sync::testing::case_id;
using sync::testing::device_id;
using sync::testing::make_change;
using sync::testing::record_key;
using testing::ScratchDirectory;

const std::vector<std::string> kFields = {"stage", "statement", "count", "juvenile", "opened"};

// Random commits over a small universe of records, so that records are
// rewritten, outbox entries replaced and removed, and ids reused.
class CommitGenerator {
 public:
  explicit CommitGenerator(std::uint64_t seed) : random_(seed) {
    for (std::uint64_t c = 1; c <= 2; ++c) {
      for (std::uint64_t r = 1; r <= 3; ++r) {
        keys_.push_back(record_key(c, c * 10 + r, "interviews"));
        keys_.push_back(record_key(c, c * 10 + r, "clients"));
      }
    }
  }

  const std::vector<sync::RecordKey>& keys() const { return keys_; }

  sync::ReplicaCommit next(sync::MemoryReplicaStore& current) {
    sync::ReplicaCommit commit;
    commit.meta = next_meta(current);
    std::map<sync::RecordKey, sync::RecordState> touched;
    for (int i = pick(0, 3); i > 0; --i) {
      const sync::RecordKey& key = keys_[static_cast<std::size_t>(pick(0, int(keys_.size()) - 1))];
      auto it = touched.find(key);
      if (it == touched.end()) {
        auto stored = current.records().find(key);
        it = touched.emplace(key, stored == current.records().end() ? sync::RecordState(key) : stored->second)
                 .first;
      }
      it->second.apply(random_change(key, it->second, remote_sequence_++));
    }
    for (auto& [key, state] : touched) commit.records.push_back(std::move(state));
    for (int i = pick(0, 3); i > 0; --i) {
      // Mostly new sequences; sometimes one already in the outbox (replaced).
      const std::uint64_t sequence =
          chance(20) && !current.outbox().empty() ? current.outbox().rbegin()->first : ++local_sequence_;
      const sync::RecordKey& key = keys_[static_cast<std::size_t>(pick(0, int(keys_.size()) - 1))];
      commit.outbox_append.push_back(random_change(key, sync::RecordState(key), sequence, device_id(1)));
    }
    for (int i = pick(0, 2); i > 0; --i) {
      if (!current.outbox().empty() && chance(80)) {
        auto it = current.outbox().begin();
        std::advance(it, pick(0, int(current.outbox().size()) - 1));
        commit.outbox_remove.push_back(it->second.id);
      } else if (!commit.outbox_append.empty() && chance(50)) {
        commit.outbox_remove.push_back(commit.outbox_append.front().id);  // appended and removed at once
      } else {
        commit.outbox_remove.push_back(sync::ChangeId{device_id(1), local_sequence_ + 1000});  // absent
      }
    }
    if (chance(15)) {
      const sync::RecordKey& key = keys_[static_cast<std::size_t>(pick(0, int(keys_.size()) - 1))];
      commit.quarantine_append.push_back(sync::QuarantinedChange{
          random_change(key, sync::RecordState(key), ++local_sequence_, device_id(1)),
          make_error(chance(50) ? "case_not_member" : "change_invalid",
                     "refused by the server, reason " + std::to_string(pick(0, 999)))});
    }
    return commit;
  }

 private:
  int pick(int low, int high) { return std::uniform_int_distribution<int>(low, high)(random_); }
  bool chance(int percent) { return pick(0, 99) < percent; }

  sync::ReplicaMeta next_meta(sync::MemoryReplicaStore& current) {
    sync::ReplicaMeta meta = *current.load_meta();
    const std::vector<std::string> cursors = {"", "AAAAAAAAAAE", "curseur-é-ü-∑", std::string(300, 'c')};
    if (chance(40)) meta.pull_cursor = cursors[static_cast<std::size_t>(pick(0, int(cursors.size()) - 1))];
    if (chance(60)) meta.next_sequence = local_sequence_ + 1;
    if (chance(5)) meta.next_sequence = std::numeric_limits<std::uint64_t>::max();
    if (chance(50))
      meta.clock_last = sync::Hlc::from_parts(1'700'000'000'000 + std::uint64_t(pick(0, 1 << 30)), 7);
    if (chance(5)) meta.clock_last = sync::Hlc::from_packed(std::numeric_limits<std::uint64_t>::max());
    if (chance(30)) meta.clock_offset_millis = std::int64_t{pick(-1'000'000, 1'000'000)} * 1000;
    if (chance(3)) meta.clock_offset_millis = std::numeric_limits<std::int64_t>::min();
    return meta;
  }

  sync::FieldValue random_value() {
    switch (pick(0, 4)) {
      case 0:
        return sync::NullValue{};
      case 1:
        return chance(50);
      case 2:
        return std::int64_t{pick(-100000, 100000)};
      case 3:
        return std::string("value ") + std::to_string(pick(0, 99999));
      default: {
        crypto::Bytes envelope(static_cast<std::size_t>(pick(1, 600)));
        for (auto& byte : envelope) byte = static_cast<std::uint8_t>(pick(0, 255));
        return sync::SealedValue{std::move(envelope)};
      }
    }
  }

  // A valid change to `key` that supersedes some of what `state` shows.
  sync::Change random_change(const sync::RecordKey& key, const sync::RecordState& state,
                             std::uint64_t sequence, std::optional<sync::DeviceId> author = std::nullopt) {
    const sync::DeviceId device = author ? *author : device_id(static_cast<std::uint64_t>(pick(2, 4)));
    const sync::Hlc hlc =
        sync::Hlc::from_parts(1'700'000'000'000 + sequence, static_cast<std::uint32_t>(pick(0, 3)));
    std::vector<sync::Operation> operations;
    if (chance(10)) {
      operations.push_back(
          sync::testing::delete_op(chance(50) ? state.all_live_dots() : std::vector<sync::Dot>{}));
    } else {
      for (const std::string& field : kFields) {
        if (!chance(35)) continue;
        std::vector<sync::Dot> supersedes = chance(70) ? state.live_dots(field) : std::vector<sync::Dot>{};
        operations.push_back(chance(15) ? sync::testing::resolve_op(field, random_value(), supersedes)
                                        : sync::testing::set_op(field, random_value(), supersedes));
      }
      if (operations.empty())
        operations.push_back(sync::testing::set_op("stage", std::string("police custody")));
    }
    sync::Change change = make_change(sync::Dot{device, sequence}, key, hlc, std::move(operations));
    EXPECT_TRUE(sync::validate_change(change).ok());
    return change;
  }

  std::mt19937_64 random_;
  std::vector<sync::RecordKey> keys_;
  std::uint64_t local_sequence_ = 0;
  std::uint64_t remote_sequence_ = 1;
};

TEST(SqlcipherReplicaStoreConformance, NewReplicaReadsAsAnEmptyMemoryReplica) {
  ScratchDirectory directory;
  const auto key = testing::random_storage_key();
  auto store = testing::open_store(directory.file("replica.db"), key);
  sync::MemoryReplicaStore twin;
  testing::expect_same_observable_state(twin, store, {record_key(1, 1), record_key(2, 2, "clients")});
}

TEST(SqlcipherReplicaStoreConformance, EveryReadMatchesTheMemoryTwinAfterEveryCommitAndReopen) {
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    ScratchDirectory directory;
    const auto path = directory.file("replica.db");
    const auto key = testing::random_storage_key();
    CommitGenerator generator(seed);
    sync::MemoryReplicaStore twin;
    std::optional<SqlcipherReplicaStore> store(testing::open_store(path, key));
    for (int step = 1; step <= 120; ++step) {
      const sync::ReplicaCommit commit = generator.next(twin);
      ASSERT_TRUE(twin.commit(commit).ok());
      const Status committed = store->commit(commit);
      ASSERT_TRUE(committed.ok()) << committed.error().code << ": " << committed.error().message;
      if (step % 25 == 0) {
        store.reset();
        store.emplace(testing::open_store(path, key));
      }
      ASSERT_NO_FATAL_FAILURE(testing::expect_same_observable_state(twin, *store, generator.keys()))
          << "after step " << step;
      if (::testing::Test::HasFailure()) return;
    }
    store.reset();
    store.emplace(testing::open_store(path, key));
    testing::expect_same_observable_state(twin, *store, generator.keys());
  }
}

TEST(SqlcipherReplicaStoreConformance, AnEmptyCommitChangesOnlyTheMeta) {
  ScratchDirectory directory;
  auto store = testing::open_store(directory.file("replica.db"), testing::random_storage_key());
  sync::MemoryReplicaStore twin;
  sync::ReplicaCommit commit;
  commit.meta.pull_cursor = "AAAAAAAAAAU";
  commit.meta.next_sequence = 42;
  ASSERT_TRUE(twin.commit(commit).ok());
  ASSERT_TRUE(store.commit(commit).ok());
  testing::expect_same_observable_state(twin, store, {record_key(1, 1)});
}

}  // namespace
}  // namespace casefile::device
