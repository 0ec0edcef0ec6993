// A process killed mid-transaction leaves exactly the committed transactions:
// WAL with synchronous=FULL, checked by SIGKILLing a real writer process.
#include <gtest/gtest.h>

#include <random>

#include "crypto/random.hpp"
#include "schema/database.hpp"
#include "tests/support/child_process.hpp"
#include "tests/schema/notes_table.hpp"
#include "tests/support/scratch_directory.hpp"

namespace casefile::schema {
namespace {

using test_support::ChildProcess;
using test_support::report_progress;
using test_support::ScratchDirectory;

constexpr int kRowsPerTransaction = 25;
constexpr char kCommitted = 'c';
constexpr char kMidTransaction = 'm';

// Child side: writes one batch of rows numbered `batch`. Any failure ends the
// child at once with a distinctive status, which the parent sees as a short read.
void write_batch(Database& database, std::int64_t batch) {
  const auto body = crypto::random_bytes(700);
  if (!body.ok()) _exit(4);
  for (int row = 0; row < kRowsPerTransaction; ++row) {
    if (!testing::insert_note(database, batch, *body).ok()) _exit(5);
  }
}

// Child side: commits batches first_batch, first_batch+1, ... reporting each
// commit; after `commits` of them (or forever if commits < 0) begins one more
// batch, writes half of it, reports, and waits to be killed.
void run_writer(const std::filesystem::path& path, const crypto::SecretBytes& key, std::int64_t first_batch,
                int commits, int progress_fd) {
  auto database = Database::open(path, key);
  if (!database.ok()) _exit(6);
  for (std::int64_t batch = first_batch; commits < 0 || batch < first_batch + commits; ++batch) {
    auto transaction = database->begin();
    if (!transaction.ok()) _exit(7);
    write_batch(*database, batch);
    if (!transaction->commit().ok()) _exit(8);
    report_progress(progress_fd, kCommitted);
  }
  auto transaction = database->begin();
  if (!transaction.ok()) _exit(7);
  const auto body = crypto::random_bytes(700);
  for (int row = 0; row < kRowsPerTransaction / 2; ++row) {
    if (!testing::insert_note(*database, first_batch + commits, *body).ok()) _exit(5);
  }
  report_progress(progress_fd, kMidTransaction);
  for (;;) pause();
}

// Every batch 1..batches is present with all its rows, and nothing else.
void expect_exactly_batches(Database& database, std::int64_t batches) {
  EXPECT_EQ(testing::count_notes(database), batches * kRowsPerTransaction);
  EXPECT_EQ(testing::query_int64(database, "SELECT count(DISTINCT batch) FROM notes"), batches);
  EXPECT_EQ(testing::query_int64(database,
                                 "SELECT count(*) FROM (SELECT batch FROM notes GROUP BY batch "
                                 "HAVING count(*) <> " +
                                     std::to_string(kRowsPerTransaction) + ")"),
            0);
  if (batches > 0) {
    EXPECT_EQ(testing::query_int64(database, "SELECT min(batch) FROM notes"), 1);
    EXPECT_EQ(testing::query_int64(database, "SELECT max(batch) FROM notes"), batches);
  }
}

class CrashRecovery : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = Database::open(path_, key_);
    ASSERT_TRUE(database.ok()) << database.error().message;
    testing::create_notes_table(*database);
  }

  ScratchDirectory directory_;
  std::filesystem::path path_ = directory_.file("replica.db");
  crypto::SecretBytes key_ = test_support::random_database_key();
};

TEST_F(CrashRecovery, KillMidTransactionKeepsExactlyTheCommittedTransactions) {
  std::int64_t committed = 0;
  for (int round = 0; round < 5; ++round) {
    const int commits = 3 + round;
    ChildProcess child(
        [&](int progress_fd) { run_writer(path_, key_, committed + 1, commits, progress_fd); });
    for (int i = 0; i < commits; ++i) ASSERT_EQ(child.read_progress(), kCommitted) << "round " << round;
    ASSERT_EQ(child.read_progress(), kMidTransaction) << "round " << round;
    ASSERT_TRUE(child.kill_and_wait());
    committed += commits;

    auto reopened = Database::open(path_, key_);
    ASSERT_TRUE(reopened.ok()) << reopened.error().message;
    expect_exactly_batches(*reopened, committed);
  }
}

TEST_F(CrashRecovery, KillAtAnArbitraryMomentKeepsWholeTransactionsOnly) {
  std::mt19937 random(20240611);
  std::int64_t committed = 0;
  for (int round = 0; round < 8; ++round) {
    const int reports_before_kill = 1 + static_cast<int>(random() % 10);
    ChildProcess child([&](int progress_fd) { run_writer(path_, key_, committed + 1, -1, progress_fd); });
    for (int i = 0; i < reports_before_kill; ++i) ASSERT_EQ(child.read_progress(), kCommitted);
    // The child is committing further batches as we kill it: one may land in
    // the middle of its write, its fsync, or between the two.
    ASSERT_TRUE(child.kill_and_wait());

    auto reopened = Database::open(path_, key_);
    ASSERT_TRUE(reopened.ok()) << reopened.error().message;
    const std::int64_t batches = testing::query_int64(*reopened, "SELECT count(DISTINCT batch) FROM notes");
    ASSERT_GE(batches, committed + reports_before_kill);
    expect_exactly_batches(*reopened, batches);
    committed = batches;
  }
}

}  // namespace
}  // namespace casefile::schema
