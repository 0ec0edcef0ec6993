// What SqlcipherServerStore adds to the conformance suite: group commit
// (one transaction for every queued commit, a conflict rolled back alone),
// readers that do not wait for the writer, and opening errors.
#include "server/store/sqlcipher_server_store.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "schema/database.hpp"
#include "tests/server/store/sqlcipher_server_store_backend.hpp"
#include "tests/server/store/store_test_data.hpp"

namespace casefile::server::testing {
namespace {

void wait_until(const std::function<bool()>& condition) {
  while (!condition()) std::this_thread::yield();
}

TEST(SqlcipherServerStore, GroupCommitRollsBackAConflictAloneAndCommitsTheRestOfItsGroup) {
  SqlcipherServerStoreOptions options;
  options.busy_timeout = std::chrono::minutes(10);  // the writer waits for the lock this test holds
  SqlcipherBackend backend(options);
  auto store = backend.open_sqlcipher();
  const sync::PushCommit first = write_commit(*store, 1, 1, 1, {record_key(1, 1)});
  const sync::PushCommit creates_shared =
      write_commit(*store, 2, 2, 1, {record_key(1, 50), record_key(1, 51)});
  // Also creates record 50: refused once creates_shared is written before it.
  const sync::PushCommit also_creates_shared =
      write_commit(*store, 3, 3, 1, {record_key(2, 60), record_key(1, 50)});
  const sync::PushCommit independent = write_commit(*store, 4, 4, 1, {record_key(3, 70)});

  // Another connection holds the write lock, so the writer stalls on its
  // first group while the next commits queue behind it.
  auto blocker = schema::Database::open(backend.path(), backend.key());
  ASSERT_TRUE(blocker.ok()) << blocker.error().message;
  auto lock = blocker->begin();
  ASSERT_TRUE(lock.ok());

  std::vector<Result<std::vector<std::uint64_t>>> answers(4, Result<std::vector<std::uint64_t>>(Error{}));
  std::vector<std::thread> callers;
  auto submit = [&](std::size_t index, const sync::PushCommit& commit) {
    callers.emplace_back([&, index] { answers[index] = store->commit_push(commit); });
  };
  submit(0, first);
  wait_until([&] { return store->writing_commits() == 1; });
  submit(1, creates_shared);
  wait_until([&] { return store->queued_commits() == 1; });
  submit(2, also_creates_shared);
  wait_until([&] { return store->queued_commits() == 2; });
  submit(3, independent);
  wait_until([&] { return store->queued_commits() == 3; });

  // Readers read while the writer waits.
  auto slice = store->read_log(0, {case_id(1)}, 10);
  ASSERT_TRUE(slice.ok());
  EXPECT_EQ(slice->head, 0u);

  ASSERT_TRUE(lock->commit().ok());
  for (auto& caller : callers) caller.join();

  ASSERT_TRUE(answers[0].ok()) << answers[0].error().message;
  EXPECT_EQ(*answers[0], (std::vector<std::uint64_t>{1}));
  ASSERT_TRUE(answers[1].ok()) << answers[1].error().message;
  EXPECT_EQ(*answers[1], (std::vector<std::uint64_t>{2, 3}));
  ASSERT_FALSE(answers[2].ok());
  EXPECT_EQ(answers[2].error().code, "store_conflict");
  ASSERT_TRUE(answers[3].ok()) << answers[3].error().message;
  EXPECT_EQ(*answers[3], (std::vector<std::uint64_t>{4}));
  // Two transactions: the first commit alone, then the three queued behind it.
  EXPECT_EQ(store->group_commit_counters().groups, 2u);
  EXPECT_EQ(store->group_commit_counters().commits, 4u);

  auto refused_change = store->find_change(also_creates_shared.accepted[0].change.id);
  ASSERT_TRUE(refused_change.ok());
  EXPECT_FALSE(refused_change->has_value());
  auto refused_record = store->load_record(record_key(2, 60));
  ASSERT_TRUE(refused_record.ok());
  EXPECT_FALSE(refused_record->has_value());
  auto shared = store->load_record(record_key(1, 50));
  ASSERT_TRUE(shared.ok() && shared->has_value());
  EXPECT_EQ((*shared)->state, creates_shared.records[0].state);
}

TEST(SqlcipherServerStore, AnEmptyCommitWritesNothingAndNeedsNoGroup) {
  SqlcipherBackend backend;
  auto store = backend.open_sqlcipher();
  auto sequences = store->commit_push(sync::PushCommit{});
  ASSERT_TRUE(sequences.ok());
  EXPECT_TRUE(sequences->empty());
  EXPECT_EQ(store->group_commit_counters().groups, 0u);
}

TEST(SqlcipherServerStore, OpeningWithAnotherKeyFailsWithWrongKey) {
  SqlcipherBackend backend;
  backend.open_sqlcipher().reset();
  auto other_key = test_support::random_database_key();
  auto store = SqlcipherServerStore::open(backend.path(), other_key);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, "wrong_key");
}

TEST(SqlcipherServerStore, OpeningANewerSchemaIsRefused) {
  SqlcipherBackend backend;
  backend.open_sqlcipher().reset();
  {
    auto database = schema::Database::open(backend.path(), backend.key());
    ASSERT_TRUE(database.ok());
    ASSERT_TRUE(database->execute("PRAGMA user_version = 99").ok());
  }
  auto store = SqlcipherServerStore::open(backend.path(), backend.key());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, "schema_too_new");
}

TEST(SqlcipherServerStore, ACommitWithoutALeafHashPerChangeIsRefused) {
  SqlcipherBackend backend;
  auto store = backend.open_sqlcipher();
  sync::PushCommit commit = write_commit(*store, 1, 1, 1, {record_key(1, 1)});
  commit.leaf_hashes.clear();
  auto refused = store->commit_push(commit);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "invalid_argument");
}

}  // namespace
}  // namespace casefile::server::testing
