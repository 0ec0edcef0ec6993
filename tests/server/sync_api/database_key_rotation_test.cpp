// A database-key rotation can stop between any two of its steps (a crash, a
// failed rekey) and every state it leaves on disk opens: each database under
// exactly one of database.key and database.key.next, with all its rows; and
// running the rotation again finishes it under the next key alone.
#include "server/sync_api/database_key_rotation.hpp"

#include <gtest/gtest.h>

#include "schema/database.hpp"
#include "server/access/sqlcipher_control_store.hpp"
#include "server/store/sqlcipher_server_store.hpp"
#include "server/sync_api/database_key_file.hpp"
#include "server/sync_api/sqlcipher_key_wrap_store.hpp"
#include "tests/support/scratch_directory.hpp"

namespace casefile::server {
namespace {

using test_support::ScratchDirectory;

constexpr int kRows = 50;

bool opens_under(const std::filesystem::path& file, const crypto::SecretBytes& key) {
  auto database = schema::Database::open(file, key);
  if (!database.ok()) return false;
  auto count = database->prepare("SELECT count(*) FROM rotation_probe");
  if (!count.ok()) return false;
  auto row = count->step();
  return row.ok() && *row && count->column_int64(0) == kRows;
}

class DatabaseKeyRotation : public ::testing::Test {
 protected:
  void SetUp() override {
    // database.key: a "next" key promoted at once.
    auto first = write_next_database_key(key_file_);
    ASSERT_TRUE(first.ok()) << first.error().message;
    ASSERT_TRUE(promote_next_database_key(key_file_).ok());
    auto key = read_database_key_file(key_file_);
    ASSERT_TRUE(key.ok());
    // The three real stores create their files, as casefiled does at first start.
    {
      auto sync = SqlcipherServerStore::open(files_[0], *key);
      ASSERT_TRUE(sync.ok()) << sync.error().message;
      auto control = SqlCipherControlStore::open(files_[1], *key);
      ASSERT_TRUE(control.ok()) << control.error().message;
      auto keys = SqlcipherKeyWrapStore::open(files_[2], *key);
      ASSERT_TRUE(keys.ok()) << keys.error().message;
    }
    for (const auto& file : files_) {
      auto database = schema::Database::open(file, *key);
      ASSERT_TRUE(database.ok());
      ASSERT_TRUE(database->execute("CREATE TABLE rotation_probe (n INTEGER)").ok());
      for (int i = 0; i < kRows; ++i) {
        ASSERT_TRUE(database->execute("INSERT INTO rotation_probe VALUES (" + std::to_string(i) + ")").ok());
      }
    }
  }

  crypto::SecretBytes key(const std::filesystem::path& file) {
    auto read = read_database_key_file(file);
    EXPECT_TRUE(read.ok());
    return read.ok() ? std::move(read).value() : crypto::SecretBytes();
  }

  // The first `rekeyed` databases rekey, then the rotation stops as if killed.
  void stop_after(std::size_t rekeyed) {
    std::vector<RotatingDatabase> databases;
    for (std::size_t i = 0; i < files_.size(); ++i) {
      RotatingDatabase database = closed_database(files_[i]);
      if (i >= rekeyed) {
        database.rekey = [](const crypto::SecretBytes&, const crypto::SecretBytes&) -> Status {
          return make_error("killed", "the process died here");
        };
      }
      databases.push_back(std::move(database));
    }
    Status stopped = finish_database_key_rotation(key_file_, databases);
    ASSERT_FALSE(stopped.ok());
    EXPECT_EQ(stopped.error().code, "killed");
  }

  Status finish() {
    std::vector<RotatingDatabase> databases;
    for (const auto& file : files_) databases.push_back(closed_database(file));
    return finish_database_key_rotation(key_file_, databases);
  }

  ScratchDirectory directory_;
  std::filesystem::path key_file_ = directory_.file("database.key");
  std::vector<std::filesystem::path> files_ = instance_database_files(directory_.file("casefile.db"));
};

TEST_F(DatabaseKeyRotation, EveryStateBetweenStepsOpensAndFinishesUnderTheNextKey) {
  for (std::size_t rekeyed = 0; rekeyed <= files_.size(); ++rekeyed) {
    SCOPED_TRACE("stopped after " + std::to_string(rekeyed) + " databases");
    const crypto::SecretBytes current = key(key_file_);
    auto written = write_next_database_key(key_file_);
    ASSERT_TRUE(written.ok()) << written.error().message;
    if (rekeyed < files_.size()) {
      stop_after(rekeyed);
    } else {
      // Every database rekeyed, killed before the rename.
      for (const auto& file : files_) ASSERT_TRUE(closed_database(file).rekey(current, *written).ok());
    }
    // The state on disk: the current key file is untouched, and each
    // database opens under exactly the key its progress says.
    EXPECT_TRUE(std::equal(current.data(), current.data() + current.size(), key(key_file_).data()));
    for (std::size_t i = 0; i < files_.size(); ++i) {
      EXPECT_EQ(opens_under(files_[i], *written), i < rekeyed) << files_[i];
      EXPECT_EQ(opens_under(files_[i], current), i >= rekeyed) << files_[i];
    }
    // A second run (casefiled at its next start) finishes the rotation.
    Status finished = finish();
    ASSERT_TRUE(finished.ok()) << finished.error().message;
    EXPECT_FALSE(std::filesystem::exists(next_database_key_path(key_file_)));
    const crypto::SecretBytes promoted = key(key_file_);
    EXPECT_TRUE(std::equal(promoted.data(), promoted.data() + promoted.size(), written->data()));
    for (const auto& file : files_) {
      EXPECT_TRUE(opens_under(file, promoted)) << file;
      EXPECT_FALSE(opens_under(file, current)) << file;
    }
  }
}

TEST_F(DatabaseKeyRotation, ASecondRotationWaitsForTheFirstToFinish) {
  ASSERT_TRUE(write_next_database_key(key_file_).ok());
  auto again = write_next_database_key(key_file_);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "rotation_in_progress");
}

TEST_F(DatabaseKeyRotation, NothingToFinishWithoutANextKey) {
  Status finished = finish();
  ASSERT_FALSE(finished.ok());
  EXPECT_EQ(finished.error().code, "no_rotation");
}

TEST_F(DatabaseKeyRotation, AnOpenStoreRekeysAndStaysUsable) {
  const crypto::SecretBytes current = key(key_file_);
  auto next = write_next_database_key(key_file_);
  ASSERT_TRUE(next.ok());
  auto sync = SqlcipherServerStore::open(files_[0], current);
  ASSERT_TRUE(sync.ok());
  auto control = SqlCipherControlStore::open(files_[1], current);
  ASSERT_TRUE(control.ok());
  ASSERT_TRUE((*sync)->rekey(current, *next).ok());
  ASSERT_TRUE((*control)->rekey(*next).ok());
  // Still serving, under the new key.
  auto log = (*sync)->read_log(0, {}, 10);
  ASSERT_TRUE(log.ok()) << log.error().message;
  EXPECT_TRUE((*control)->list_users().ok());
  EXPECT_TRUE(opens_under(files_[0], *next));
  EXPECT_FALSE(opens_under(files_[0], current));
  EXPECT_TRUE(opens_under(files_[1], *next));
  // A repeated rekey (a resumed rotation) finds the file already under the next key.
  EXPECT_TRUE((*sync)->rekey(current, *next).ok());
  EXPECT_TRUE((*sync)->read_log(0, {}, 10).ok());
}

}  // namespace
}  // namespace casefile::server
