// Schema versions move forward one transaction a step, and refuse what they
// do not know.
#include "schema/migrations.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "tests/schema/notes_table.hpp"
#include "tests/support/scratch_directory.hpp"

namespace casefile::schema {
namespace {

using test_support::ScratchDirectory;
using testing::query_int64;

class MigrationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Database::open(directory_.file("replica.db"), test_support::random_database_key());
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    database_.emplace(std::move(opened).value());
  }

  int version() {
    auto current = schema_version(*database_);
    EXPECT_TRUE(current.ok());
    return current.ok() ? *current : -1;
  }

  bool table_exists(const std::string& name) {
    return query_int64(*database_, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '" +
                                       name + "'") == 1;
  }

  // Three steps that record the order they ran in.
  std::vector<Migration> recording_migrations() {
    std::vector<Migration> migrations;
    for (int version = 1; version <= 3; ++version) {
      // append(), not operator+ on a literal: GCC 12 at -O3 flags the latter
      // with a false -Wstringop-overflow (bug 105651) and fails the Release tree.
      const std::string table = std::string("t").append(std::to_string(version));
      migrations.push_back(Migration{version, std::string("create ").append(table),
                                     std::string("CREATE TABLE ").append(table).append("(x)"),
                                     [this, version](Database&) {
                                       ran_.push_back(version);
                                       return ok_status();
                                     }});
    }
    return migrations;
  }

  ScratchDirectory directory_;
  std::optional<Database> database_;
  std::vector<int> ran_;
};

TEST_F(MigrationsTest, EmptyDatabaseIsVersionZero) { EXPECT_EQ(version(), 0); }

TEST_F(MigrationsTest, AppliesEveryStepInOrder) {
  const auto migrations = recording_migrations();
  ASSERT_TRUE(migrate(*database_, migrations).ok());
  EXPECT_EQ(version(), 3);
  EXPECT_EQ(ran_, (std::vector<int>{1, 2, 3}));
  EXPECT_TRUE(table_exists("t1") && table_exists("t2") && table_exists("t3"));
}

TEST_F(MigrationsTest, RunsOnlyTheStepsAboveTheCurrentVersion) {
  auto migrations = recording_migrations();
  ASSERT_TRUE(migrate(*database_, std::span(migrations).first(2)).ok());
  EXPECT_EQ(version(), 2);
  ran_.clear();
  ASSERT_TRUE(migrate(*database_, migrations).ok());
  EXPECT_EQ(ran_, (std::vector<int>{3}));
  ran_.clear();
  ASSERT_TRUE(migrate(*database_, migrations).ok());
  EXPECT_TRUE(ran_.empty());
  EXPECT_EQ(version(), 3);
}

TEST_F(MigrationsTest, NewerDatabaseIsRefusedNamingBothVersions) {
  ASSERT_TRUE(database_->execute("PRAGMA user_version = 5").ok());
  const auto migrations = recording_migrations();
  auto status = migrate(*database_, migrations);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "schema_too_new");
  EXPECT_NE(status.error().message.find("version 5"), std::string::npos) << status.error().message;
  EXPECT_NE(status.error().message.find("up to 3"), std::string::npos) << status.error().message;
  EXPECT_TRUE(ran_.empty());
  EXPECT_EQ(version(), 5);
}

TEST_F(MigrationsTest, FailingSqlStepLeavesThePreviousVersionIntact) {
  std::vector<Migration> migrations = {
      {1, "create cases", "CREATE TABLE cases(id TEXT PRIMARY KEY)", nullptr},
      {2, "create interviews, then fail",
       "CREATE TABLE interviews(id TEXT); INSERT INTO cases VALUES ('x'); INSERT INTO no_such_table VALUES "
       "(1)",
       nullptr},
      {3, "never reached", "CREATE TABLE later(x)", nullptr},
  };
  auto status = migrate(*database_, migrations);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "database_error");
  EXPECT_NE(status.error().message.find("migration 2 (create interviews, then fail)"), std::string::npos)
      << status.error().message;
  EXPECT_EQ(version(), 1);
  EXPECT_TRUE(table_exists("cases"));
  EXPECT_FALSE(table_exists("interviews"));
  EXPECT_FALSE(table_exists("later"));
  EXPECT_EQ(query_int64(*database_, "SELECT count(*) FROM cases"), 0);
}

TEST_F(MigrationsTest, FailingFunctionStepRollsBackItsSql) {
  std::vector<Migration> migrations = {
      {1, "create and refuse", "CREATE TABLE doomed(x); INSERT INTO doomed VALUES (1)",
       [](Database&) -> Status { return make_error("data_rewrite_failed", "refused on purpose"); }},
  };
  auto status = migrate(*database_, migrations);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "data_rewrite_failed");
  EXPECT_EQ(version(), 0);
  EXPECT_FALSE(table_exists("doomed"));
  // Fixed forward, the same database migrates cleanly.
  migrations[0].apply = nullptr;
  ASSERT_TRUE(migrate(*database_, migrations).ok());
  EXPECT_EQ(version(), 1);
}

TEST_F(MigrationsTest, FunctionStepSeesItsOwnSql) {
  std::vector<Migration> migrations = {
      {1, "backfill", "CREATE TABLE counters(n INTEGER)",
       [](Database& database) { return database.execute("INSERT INTO counters VALUES (41), (1)"); }},
  };
  ASSERT_TRUE(migrate(*database_, migrations).ok());
  EXPECT_EQ(query_int64(*database_, "SELECT sum(n) FROM counters"), 42);
}

TEST_F(MigrationsTest, MisnumberedListIsAProgrammingError) {
  std::vector<Migration> migrations = {{1, "one", "SELECT 1", nullptr}, {3, "three", "SELECT 1", nullptr}};
  EXPECT_THROW((void)migrate(*database_, migrations), std::invalid_argument);
}

}  // namespace
}  // namespace casefile::schema
