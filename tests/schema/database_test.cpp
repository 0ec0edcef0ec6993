// Connection behaviour: transactions, the statement cache, typed columns,
// error codes, readers beside a writer, and the online export.
#include "schema/database.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <string>

#include "crypto/random.hpp"
#include "schema/migrations.hpp"
#include "tests/schema/notes_table.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/scratch_directory.hpp"

namespace casefile::schema {
namespace {

using test_support::ScratchDirectory;
using testing::count_notes;
using testing::create_notes_table;
using testing::insert_note;

class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Database::open(path_, key_);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    database_.emplace(std::move(opened).value());
    create_notes_table(*database_);
  }

  ScratchDirectory directory_;
  std::filesystem::path path_ = directory_.file("replica.db");
  crypto::SecretBytes key_ = test_support::random_database_key();
  std::optional<Database> database_;
};

TEST_F(DatabaseTest, TransactionRollsBackOnScopeExit) {
  {
    auto transaction = database_->begin();
    ASSERT_TRUE(transaction.ok());
    ASSERT_TRUE(insert_note(*database_, 1, crypto::as_bytes("kept only if committed")).ok());
    EXPECT_EQ(count_notes(*database_), 1);
  }
  EXPECT_EQ(count_notes(*database_), 0);
}

TEST_F(DatabaseTest, CommittedTransactionSurvivesReopen) {
  {
    auto transaction = database_->begin();
    ASSERT_TRUE(transaction.ok());
    ASSERT_TRUE(insert_note(*database_, 1, crypto::as_bytes("committed")).ok());
    ASSERT_TRUE(transaction->commit().ok());
    EXPECT_TRUE(transaction->committed());
  }
  database_.reset();
  auto reopened = Database::open(path_, key_);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(count_notes(*reopened), 1);
}

TEST_F(DatabaseTest, TransactionsDoNotNest) {
  auto outer = database_->begin();
  ASSERT_TRUE(outer.ok());
  auto inner = database_->begin();
  ASSERT_FALSE(inner.ok());
  EXPECT_EQ(inner.error().code, "database_error");
}

TEST_F(DatabaseTest, StatementCacheReusesPreparedStatements) {
  const auto prepared_before = database_->statements_prepared();
  const auto reused_before = database_->statements_reused();
  for (int i = 0; i < 5; ++i) {
    auto query = database_->prepare("SELECT count(*) FROM notes WHERE batch = ?");
    ASSERT_TRUE(query.ok());
    query->bind_int64(1, i);
    ASSERT_TRUE(query->step().ok());
  }
  EXPECT_EQ(database_->statements_prepared() - prepared_before, 1u);
  EXPECT_EQ(database_->statements_reused() - reused_before, 4u);
}

TEST_F(DatabaseTest, ReusedStatementStartsWithNoBindingsAndNoRow) {
  {
    auto query = database_->prepare("SELECT ?");
    ASSERT_TRUE(query.ok());
    query->bind_text(1, "left over");
    auto row = query->step();
    ASSERT_TRUE(row.ok() && *row);
    EXPECT_EQ(query->column_text(0), "left over");
  }  // dropped mid-result: must be reset on return
  auto again = database_->prepare("SELECT ?");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(database_->statements_reused() > 0, true);
  auto row = again->step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_TRUE(again->column_is_null(0));
}

TEST_F(DatabaseTest, SameSqlCanBeHeldTwiceAtOnce) {
  ASSERT_TRUE(insert_note(*database_, 1, crypto::as_bytes("a")).ok());
  ASSERT_TRUE(insert_note(*database_, 2, crypto::as_bytes("b")).ok());
  auto first = database_->prepare("SELECT batch FROM notes ORDER BY id");
  auto second = database_->prepare("SELECT batch FROM notes ORDER BY id");
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_TRUE(*first->step());
  ASSERT_TRUE(*first->step());
  ASSERT_TRUE(*second->step());
  EXPECT_EQ(first->column_int64(0), 2);
  EXPECT_EQ(second->column_int64(0), 1);
}

TEST_F(DatabaseTest, ColumnsRoundTripInt64TextBlobAndNull) {
  ASSERT_TRUE(database_->execute("CREATE TABLE typed(i INTEGER, t TEXT, b BLOB, e BLOB, n BLOB)").ok());
  const crypto::Bytes blob = {0x00, 0xff, 0x10, 0x00};
  {
    auto insert = database_->prepare("INSERT INTO typed VALUES (?, ?, ?, ?, ?)");
    ASSERT_TRUE(insert.ok());
    insert->bind_int64(1, -9007199254740993LL)
        .bind_text(2, std::string("with\0nul", 8))
        .bind_blob(3, blob)
        .bind_blob(4, crypto::ByteView{})
        .bind_null(5);
    ASSERT_TRUE(insert->run().ok());
  }
  auto select = database_->prepare("SELECT i, t, b, e, n, typeof(e) FROM typed");
  ASSERT_TRUE(select.ok());
  auto row = select->step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(select->column_count(), 6);
  EXPECT_EQ(select->column_int64(0), -9007199254740993LL);
  EXPECT_EQ(select->column_text(1), std::string("with\0nul", 8));
  EXPECT_EQ(select->column_blob(2), blob);
  EXPECT_TRUE(select->column_blob(3).empty());
  EXPECT_EQ(select->column_text(5), "blob");  // empty, not NULL
  EXPECT_TRUE(select->column_is_null(4));
  EXPECT_FALSE(*select->step());
}

TEST_F(DatabaseTest, BadBindIndexIsReportedByStep) {
  auto query = database_->prepare("SELECT ?");
  ASSERT_TRUE(query.ok());
  query->bind_int64(7, 1);
  auto row = query->step();
  ASSERT_FALSE(row.ok());
  EXPECT_EQ(row.error().code, "database_error");
}

TEST_F(DatabaseTest, PrepareTakesExactlyOneStatement) {
  auto two = database_->prepare("SELECT 1; SELECT 2");
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.error().code, "database_error");
  EXPECT_TRUE(database_->prepare("SELECT 1;  ").ok());
}

TEST_F(DatabaseTest, SyntaxErrorIsDatabaseError) {
  auto bad = database_->prepare("SELEKT 1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "database_error");
}

TEST_F(DatabaseTest, UniqueAndForeignKeyViolationsAreConstraint) {
  ASSERT_TRUE(database_
                  ->execute("CREATE TABLE cases(id TEXT PRIMARY KEY);"
                            "CREATE TABLE interviews(id TEXT PRIMARY KEY,"
                            " case_id TEXT NOT NULL REFERENCES cases(id));"
                            "INSERT INTO cases VALUES ('case-1');")
                  .ok());
  auto duplicate = database_->execute("INSERT INTO cases VALUES ('case-1')");
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().code, "constraint");
  auto orphan = database_->prepare("INSERT INTO interviews VALUES ('interview-1', 'no-such-case')");
  ASSERT_TRUE(orphan.ok());
  auto result = orphan->run();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "constraint");
}

TEST_F(DatabaseTest, FullDatabaseReportsFullAndKeepsTheLastCommit) {
  ASSERT_TRUE(insert_note(*database_, 1, crypto::as_bytes("committed before the disk filled")).ok());
  // max_page_count stands in for a full disk: SQLite answers SQLITE_FULL the same way.
  const auto pages = testing::query_int64(*database_, "PRAGMA page_count");
  ASSERT_TRUE(database_->execute("PRAGMA max_page_count = " + std::to_string(pages + 3)).ok());
  const auto body = crypto::random_bytes(700);
  ASSERT_TRUE(body.ok());
  Status status;
  {
    auto transaction = database_->begin();
    ASSERT_TRUE(transaction.ok());
    for (int i = 0; i < 100 && status.ok(); ++i) status = insert_note(*database_, 2, *body);
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, "full") << status.error().message;
  }
  EXPECT_EQ(count_notes(*database_), 1);
  ASSERT_TRUE(database_->execute("PRAGMA max_page_count = 1000000").ok());
  EXPECT_TRUE(insert_note(*database_, 3, *body).ok());
}

TEST_F(DatabaseTest, AFileSizeLimitReportsFullAndKeepsTheLastCommit) {
  // RLIMIT_FSIZE makes a write past it fail with EFBIG, which SQLite
  // reports as SQLITE_IOERR_WRITE: it must read "full" as well. In a child
  // process, which ignores SIGXFSZ as casefiled and casefile-device do.
  ASSERT_TRUE(insert_note(*database_, 1, crypto::as_bytes("committed before the limit")).ok());
  database_.reset();
  const std::uint64_t limit = std::filesystem::file_size(path_) + 64 * 1024;
  test_support::ChildProcess child([&](int progress) {
    ::signal(SIGXFSZ, SIG_IGN);
    rlimit file_size{};
    ::getrlimit(RLIMIT_FSIZE, &file_size);
    file_size.rlim_cur = limit;
    if (::setrlimit(RLIMIT_FSIZE, &file_size) != 0) return test_support::report_progress(progress, 'l');
    auto opened = Database::open(path_, key_);
    if (!opened.ok()) return test_support::report_progress(progress, 'o');
    const auto body = crypto::random_bytes(700);
    Status status;
    {
      auto transaction = opened->begin();
      for (int i = 0; i < 1000 && status.ok(); ++i) status = insert_note(*opened, 2, *body);
      if (status.ok()) status = transaction->commit();
    }
    test_support::report_progress(progress, status.ok() ? 'n' : status.error().code == "full" ? 'F' : 'x');
  });
  EXPECT_EQ(child.read_progress(), 'F');
  child.kill_and_wait();
  auto reopened = Database::open(path_, key_);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  EXPECT_EQ(count_notes(*reopened), 1);
  auto integrity = reopened->prepare("PRAGMA integrity_check");
  ASSERT_TRUE(integrity.ok());
  auto row = integrity->step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(integrity->column_text(0), "ok");
}

TEST_F(DatabaseTest, SecondWriterGetsBusyWhileFirstHoldsTheWriteLock) {
  DatabaseOptions impatient;
  impatient.busy_timeout = std::chrono::milliseconds(0);
  auto second = Database::open(path_, key_, impatient);
  ASSERT_TRUE(second.ok()) << second.error().message;
  auto held = database_->begin();
  ASSERT_TRUE(held.ok());
  auto refused = second->begin();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "busy");
}

TEST_F(DatabaseTest, ReaderSeesCommittedWritesAndCannotWrite) {
  auto reader = Database::open_reader(path_, key_);
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  EXPECT_EQ(count_notes(*reader), 0);
  {
    auto transaction = database_->begin();
    ASSERT_TRUE(transaction.ok());
    ASSERT_TRUE(insert_note(*database_, 1, crypto::as_bytes("seen by the reader")).ok());
    // Uncommitted: the reader still sees its snapshot.
    EXPECT_EQ(count_notes(*reader), 0);
    ASSERT_TRUE(transaction->commit().ok());
  }
  EXPECT_EQ(count_notes(*reader), 1);
  auto write = reader->execute("DELETE FROM notes");
  ASSERT_FALSE(write.ok());
  EXPECT_EQ(count_notes(*database_), 1);
}

TEST_F(DatabaseTest, ReaderOfMissingFileIsIoError) {
  auto reader = Database::open_reader(directory_.file("missing.db"), key_);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.error().code, "io_error");
}

TEST_F(DatabaseTest, StatementsSurviveTheirDatabaseBeingMoved) {
  std::optional<Database> moved;  // declared first: outlives the statement
  auto query = database_->prepare("SELECT count(*) FROM notes");
  ASSERT_TRUE(query.ok());
  moved.emplace(std::move(*database_));
  database_.reset();
  auto row = query->step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(query->column_int64(0), 0);
}

TEST_F(DatabaseTest, ExportCopiesDataAndVersionUnderANewKey) {
  ASSERT_TRUE(database_->execute("PRAGMA user_version = 7").ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(insert_note(*database_, i, crypto::as_bytes("exported")).ok());
  const auto copy_path = directory_.file("copy.db");
  const auto copy_key = test_support::random_database_key();
  auto exported = database_->export_to(copy_path, copy_key);
  ASSERT_TRUE(exported.ok()) << exported.error().message;
  // The source stays usable.
  ASSERT_TRUE(insert_note(*database_, 99, crypto::as_bytes("after export")).ok());

  auto copy = Database::open(copy_path, copy_key);
  ASSERT_TRUE(copy.ok()) << copy.error().message;
  EXPECT_EQ(count_notes(*copy), 20);
  auto version = schema_version(*copy);
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, 7);
  auto with_source_key = Database::open(copy_path, key_);
  ASSERT_FALSE(with_source_key.ok());
  EXPECT_EQ(with_source_key.error().code, "wrong_key");
}

TEST_F(DatabaseTest, ExportRefusesAnExistingDestination) {
  const auto copy_path = directory_.file("copy.db");
  ASSERT_TRUE(Database::open(copy_path, key_).ok());
  auto exported = database_->export_to(copy_path, test_support::random_database_key());
  ASSERT_FALSE(exported.ok());
  EXPECT_EQ(exported.error().code, "database_error");
}

}  // namespace
}  // namespace casefile::schema
