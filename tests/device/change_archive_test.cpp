// The change archive in a real SQLCipher replica (device/change_archive.hpp):
// what it returns verifies under the original signature, each header is
// stored once, runs are bounded and filtered by case, a purge takes a case's
// rows, and a replica written before the archive existed upgrades to it.
// And the instance epoch rules (device/internal/instance_epoch.hpp).
#include "device/change_archive.hpp"

#include <gtest/gtest.h>

#include "device/internal/instance_epoch.hpp"
#include "device/internal/replica_migrations.hpp"
#include "schema/migrations.hpp"
#include "sync/replica.hpp"
#include "tests/device/replica_test_support.hpp"

namespace casefile::device::testing {
namespace {

sync::CaseId case_number(std::uint8_t number) {
  sync::CaseId id;
  id.bytes[15] = number;
  return id;
}

std::int64_t count_rows(schema::Database& database, const std::string& table) {
  auto select = database.prepare("SELECT count(*) FROM " + table);
  if (!select.ok()) throw std::runtime_error("count " + table);
  auto row = select->step();
  if (!row.ok() || !*row) throw std::runtime_error("count " + table);
  return select->column_int64(0);
}

class ChangeArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_.emplace(open_store(directory_.path() / "replica.db", key_));
    device_.bytes[0] = 0xd1;
    replica_.emplace(sync::Replica::open(device_, *store_).value());
  }

  // `count` changes to records of `case_id`, sealed into one signed batch.
  sync::Batch signed_batch(const sync::CaseId& case_id, int count) {
    for (int i = 0; i < count; ++i) {
      sync::RecordId record;
      record.bytes[0] = static_cast<std::uint8_t>(++records_);
      const sync::RecordKey key{case_id, "notes", record};
      EXPECT_TRUE(replica_->write_fields(key, {{"body", std::string("note")}}, 1'750'000'000'000).ok());
    }
    sync::BatchId id;
    id.bytes[0] = static_cast<std::uint8_t>(++batches_);
    auto outbox = store_->read_outbox(after_, static_cast<std::size_t>(count)).value();
    auto batch = sync::seal_batch(id, signing_key_, device_, outbox).value();
    after_ = outbox.back().id.sequence;
    return batch;
  }

  Status add(const sync::Batch& batch) {
    CASEFILE_RETURN_IF_ERROR(store_->begin_commit_group());
    auto added = archive().add({batch.header}, batch.changes);
    if (!added.ok()) {
      store_->abandon_commit_group();
      return added;
    }
    return store_->finish_commit_group();
  }

  ChangeArchive archive() { return ChangeArchive(store_->database()); }

  ScratchDirectory directory_;
  crypto::SecretBytes key_ = random_storage_key();
  crypto::Ed25519PrivateKey signing_key_ = crypto::Ed25519PrivateKey::generate().value();
  sync::DeviceId device_;
  std::optional<SqlcipherReplicaStore> store_;
  std::optional<sync::Replica> replica_;
  int records_ = 0;
  int batches_ = 0;
  std::uint64_t after_ = 0;
};

const auto kEveryCase = [](const sync::CaseId&) { return true; };

TEST_F(ChangeArchiveTest, AnArchivedBatchReadsBackUnderItsOriginalSignatureWithTheHeaderStoredOnce) {
  const sync::Batch batch = signed_batch(case_number(1), 5);
  ASSERT_TRUE(add(batch).ok());
  ASSERT_TRUE(add(batch).ok());  // a second add of the same changes keeps the first
  EXPECT_EQ(count_rows(store_->database(), "archive_batches"), 1);
  EXPECT_EQ(count_rows(store_->database(), "archive_changes"), 5);

  auto run = archive().read_run(0, 100, kEveryCase);
  ASSERT_TRUE(run.ok()) << run.error().message;
  ASSERT_TRUE(run->batch.has_value());
  EXPECT_EQ(run->batch->header, batch.header);
  EXPECT_EQ(run->batch->changes, batch.changes);
  const crypto::Ed25519PublicKey public_key = signing_key_.public_key();
  EXPECT_TRUE(sync::verify_batch_signature(run->batch->header, public_key).ok());
  for (const sync::SignedChange& change : run->batch->changes) {
    EXPECT_TRUE(sync::verify_change_inclusion(change, run->batch->header).ok());
  }
  auto rest = archive().read_run(run->last_position, 100, kEveryCase);
  ASSERT_TRUE(rest.ok());
  EXPECT_FALSE(rest->batch.has_value());
}

TEST_F(ChangeArchiveTest, ARunHoldsOneBatchAtMostTheLimitAndPassesOverCasesNotRelayed) {
  const sync::Batch first = signed_batch(case_number(1), 3);
  const sync::Batch hidden = signed_batch(case_number(2), 2);
  const sync::Batch last = signed_batch(case_number(1), 2);
  for (const auto* batch : {&first, &hidden, &last}) ASSERT_TRUE(add(*batch).ok());
  const auto only_case_one = [](const sync::CaseId& id) { return id == case_number(1); };

  std::vector<std::vector<sync::SignedChange>> runs;
  std::uint64_t position = 0;
  while (true) {
    auto run = archive().read_run(position, 2, only_case_one);
    ASSERT_TRUE(run.ok()) << run.error().message;
    if (!run->batch) break;
    EXPECT_GT(run->last_position, position);
    position = run->last_position;
    runs.push_back(run->batch->changes);
  }
  // first: 2 + 1 (the limit), hidden: passed over, last: 2.
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0], std::vector<sync::SignedChange>(first.changes.begin(), first.changes.begin() + 2));
  EXPECT_EQ(runs[1], std::vector<sync::SignedChange>(first.changes.begin() + 2, first.changes.end()));
  EXPECT_EQ(runs[2], last.changes);
  EXPECT_EQ(archive().count_after(0).value(), 7u);
}

TEST_F(ChangeArchiveTest, PurgingACaseRemovesItsChangesAndTheHeadersNoChangeNamesAnyMore) {
  ASSERT_TRUE(add(signed_batch(case_number(1), 2)).ok());
  ASSERT_TRUE(add(signed_batch(case_number(2), 3)).ok());
  ASSERT_TRUE(store_->purge_case(case_number(2)).ok());
  EXPECT_EQ(count_rows(store_->database(), "archive_batches"), 1);
  EXPECT_EQ(count_rows(store_->database(), "archive_changes"), 2);
  auto run = archive().read_run(0, 100, kEveryCase);
  ASSERT_TRUE(run.ok() && run->batch);
  EXPECT_EQ(run->batch->changes.front().change.record.case_id, case_number(1));
}

TEST_F(ChangeArchiveTest, AChangeWithoutItsHeaderIsRefusedAndNothingIsArchived) {
  sync::Batch batch = signed_batch(case_number(1), 2);
  sync::BatchHeader other = batch.header;
  other.id.bytes[1] = 0x55;
  ASSERT_TRUE(store_->begin_commit_group().ok());
  auto added = archive().add({other}, batch.changes);
  store_->abandon_commit_group();
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().code, "invalid_argument");
  EXPECT_EQ(count_rows(store_->database(), "archive_changes"), 0);
}

TEST(ChangeArchiveMigrationTest, AReplicaWrittenBeforeTheArchiveUpgradesWithItsDataAndNoEpoch) {
  ScratchDirectory directory;
  const auto path = directory.path() / "replica.db";
  const crypto::SecretBytes key = random_storage_key();
  {
    auto database = schema::Database::open(path, key).value();
    const auto migrations = internal::replica_migrations();
    ASSERT_EQ(migrations[3].version, 4);
    ASSERT_TRUE(schema::migrate(database, migrations.subspan(0, 4)).ok());
    auto update = database.prepare("UPDATE replica_meta SET pull_cursor = 'c41'");
    ASSERT_TRUE(update.ok() && update->run().ok());
  }
  SqlcipherReplicaStore store = open_store(path, key);
  EXPECT_EQ(store.load_meta().value().pull_cursor, "c41");
  ChangeArchive archive(store.database());
  EXPECT_EQ(archive.epoch_state().value(), InstanceEpochState{});
  EXPECT_EQ(archive.count_after(0).value(), 0u);
  const InstanceEpochState healing{std::string(32, 'a'), std::string(32, 'b'), 17};
  ASSERT_TRUE(archive.save_epoch_state(healing).ok());
  EXPECT_EQ(archive.epoch_state().value(), healing);
}

// --- The instance epoch rules ---

const std::string kOld(32, '1');
const std::string kNew(32, '2');
const std::string kNewer(32, '3');

TEST(InstanceEpochTest, TheFirstEpochSeenIsRecordedWithoutAHeal) {
  const InstanceEpochState next = internal::observe_instance_epoch({}, kOld, false);
  EXPECT_EQ(next.epoch, kOld);
  EXPECT_FALSE(next.healing_epoch.has_value());
}

TEST(InstanceEpochTest, AnotherEpochOrALogBehindTheCursorStartsAHeal) {
  const InstanceEpochState synced{kOld, std::nullopt, 0};
  EXPECT_EQ(internal::observe_instance_epoch(synced, kOld, false), synced);
  EXPECT_EQ(internal::observe_instance_epoch(synced, std::nullopt, false), synced);
  EXPECT_EQ(internal::observe_instance_epoch(synced, kNew, false), (InstanceEpochState{kOld, kNew, 0}));
  // Restored without a new epoch: its log is behind the cursor.
  EXPECT_EQ(internal::observe_instance_epoch(synced, kOld, true), (InstanceEpochState{kOld, kOld, 0}));
  // Never synced before, and the log is behind: heal all the same.
  EXPECT_EQ(internal::observe_instance_epoch({}, kNew, true), (InstanceEpochState{std::nullopt, kNew, 0}));
}

TEST(InstanceEpochTest, AHealKeepsItsProgressUntilTheServerIsRestoredAgain) {
  const InstanceEpochState healing{kOld, kNew, 40};
  EXPECT_EQ(internal::observe_instance_epoch(healing, kNew, false), healing);
  EXPECT_EQ(internal::observe_instance_epoch(healing, kNew, true), healing);
  EXPECT_EQ(internal::observe_instance_epoch(healing, kNewer, false), (InstanceEpochState{kOld, kNewer, 0}));
  EXPECT_EQ(internal::finish_heal(healing), (InstanceEpochState{kNew, std::nullopt, 0}));
}

TEST(InstanceEpochTest, AMalformedEpochHeaderIsABadResponse) {
  EXPECT_FALSE(internal::parse_instance_epoch(std::nullopt).value().has_value());
  EXPECT_EQ(internal::parse_instance_epoch(kOld).value(), kOld);
  for (const std::string& bad : {std::string(31, '1'), std::string(33, '1'), std::string(32, 'G'),
                                 std::string(32, 'A'), std::string()}) {
    auto parsed = internal::parse_instance_epoch(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().code, "bad_response");
  }
}

}  // namespace
}  // namespace casefile::device::testing
