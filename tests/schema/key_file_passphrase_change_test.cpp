// The device storage key lives in a crypto key file wrapped under the
// passphrase (DESIGN §5). A passphrase change re-wraps that file and leaves
// the database alone; a full rotation re-keys the database too.
#include <gtest/gtest.h>

#include "crypto/key_file.hpp"
#include "schema/database.hpp"
#include "tests/schema/notes_table.hpp"
#include "tests/support/scratch_directory.hpp"

namespace casefile::schema {
namespace {

using crypto::kKeyFilePurposeDeviceStorage;
using test_support::ScratchDirectory;

void write_notes(const std::filesystem::path& path, const crypto::SecretBytes& key, int count) {
  auto database = Database::open(path, key);
  ASSERT_TRUE(database.ok()) << database.error().message;
  testing::create_notes_table(*database);
  for (int i = 0; i < count; ++i) {
    ASSERT_TRUE(testing::insert_note(*database, i, crypto::as_bytes("client statement")).ok());
  }
}

TEST(KeyFilePassphraseChange, DatabaseOpensWithTheKeyFromTheRewrappedFile) {
  ScratchDirectory directory;
  const auto key_path = directory.file("storage.key");
  const auto database_path = directory.file("replica.db");
  ASSERT_TRUE(crypto::save_key_file(key_path, test_support::random_database_key().view(), "first passphrase",
                                    kKeyFilePurposeDeviceStorage)
                  .ok());
  {
    auto key = crypto::load_key_file(key_path, "first passphrase", kKeyFilePurposeDeviceStorage);
    ASSERT_TRUE(key.ok()) << key.error().message;
    write_notes(database_path, *key, 30);
  }

  auto changed = crypto::change_key_file_passphrase(key_path, "first passphrase", "second passphrase",
                                                    kKeyFilePurposeDeviceStorage);
  ASSERT_TRUE(changed.ok()) << changed.error().message;

  auto old_passphrase = crypto::load_key_file(key_path, "first passphrase", kKeyFilePurposeDeviceStorage);
  ASSERT_FALSE(old_passphrase.ok());
  EXPECT_EQ(old_passphrase.error().code, "wrong_passphrase");

  auto key = crypto::load_key_file(key_path, "second passphrase", kKeyFilePurposeDeviceStorage);
  ASSERT_TRUE(key.ok()) << key.error().message;
  auto database = Database::open(database_path, *key);
  ASSERT_TRUE(database.ok()) << database.error().message;
  EXPECT_EQ(testing::count_notes(*database), 30);
}

// Full rotation in the order docs/storage.md gives: the new key is durable in
// a staged key file before the database is re-keyed, then the staged file
// replaces the old one. A crash between any two steps loses no key.
TEST(KeyFilePassphraseChange, FullRotationRekeysTheDatabaseUnderANewKeyFile) {
  ScratchDirectory directory;
  const auto key_path = directory.file("storage.key");
  const auto staged_path = directory.file("storage.key.next");
  const auto database_path = directory.file("replica.db");
  const std::string passphrase = "passphrase";
  ASSERT_TRUE(crypto::save_key_file(key_path, test_support::random_database_key().view(), passphrase,
                                    kKeyFilePurposeDeviceStorage)
                  .ok());
  auto old_key = crypto::load_key_file(key_path, passphrase, kKeyFilePurposeDeviceStorage);
  ASSERT_TRUE(old_key.ok());
  write_notes(database_path, *old_key, 30);

  const auto new_key = test_support::random_database_key();
  ASSERT_TRUE(
      crypto::save_key_file(staged_path, new_key.view(), passphrase, kKeyFilePurposeDeviceStorage).ok());
  {
    auto database = Database::open(database_path, *old_key);
    ASSERT_TRUE(database.ok());
    auto staged = crypto::load_key_file(staged_path, passphrase, kKeyFilePurposeDeviceStorage);
    ASSERT_TRUE(staged.ok());
    ASSERT_TRUE(database->rekey(*staged).ok());
  }
  std::filesystem::rename(staged_path, key_path);

  auto key = crypto::load_key_file(key_path, passphrase, kKeyFilePurposeDeviceStorage);
  ASSERT_TRUE(key.ok());
  auto database = Database::open(database_path, *key);
  ASSERT_TRUE(database.ok()) << database.error().message;
  EXPECT_EQ(testing::count_notes(*database), 30);
  auto with_old_key = Database::open(database_path, *old_key);
  ASSERT_FALSE(with_old_key.ok());
  EXPECT_EQ(with_old_key.error().code, "wrong_key");
}

}  // namespace
}  // namespace casefile::schema
