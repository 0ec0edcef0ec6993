// The replica file gives nothing away without its key (DESIGN §1, threat 1).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "crypto/random.hpp"
#include "schema/database.hpp"
#include "tests/schema/notes_table.hpp"
#include "tests/support/scratch_directory.hpp"

namespace casefile::schema {
namespace {

using test_support::ScratchDirectory;

constexpr std::string_view kMarker = "CASEFILE-MARKER-allegation-of-coercion-7f3a9c";

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The database file and its WAL and shared-memory companions, concatenated.
std::string read_database_files(const std::filesystem::path& path) {
  std::string bytes;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    const std::filesystem::path part = path.string() + suffix;
    if (std::filesystem::exists(part)) bytes += read_file(part);
  }
  return bytes;
}

bool contains_marker(const std::string& bytes) { return bytes.find(kMarker) != std::string::npos; }

void write_markers(Database& database) {
  testing::create_notes_table(database);
  auto transaction = database.begin();
  ASSERT_TRUE(transaction.ok());
  for (int i = 0; i < 50; ++i) {
    const std::string body = std::string(kMarker) + " note " + std::to_string(i);
    ASSERT_TRUE(testing::insert_note(database, 1, crypto::as_bytes(body)).ok());
  }
  ASSERT_TRUE(transaction->commit().ok());
}

TEST(EncryptionAtRest, KeyedDatabaseFilesHoldNoPlaintext) {
  ScratchDirectory directory;
  const auto path = directory.file("replica.db");
  {
    auto database = Database::open(path, test_support::random_database_key());
    ASSERT_TRUE(database.ok()) << database.error().message;
    write_markers(*database);
    // While open the rows sit in the WAL; scan it too.
    ASSERT_TRUE(std::filesystem::exists(path.string() + "-wal"));
    const std::string open_bytes = read_database_files(path);
    ASSERT_GT(open_bytes.size(), 50 * kMarker.size());
    EXPECT_FALSE(contains_marker(open_bytes));
  }
  EXPECT_FALSE(contains_marker(read_database_files(path)));
}

TEST(EncryptionAtRest, UnkeyedDatabaseFilesDoHoldThePlaintextSoTheScanCanFail) {
  ScratchDirectory directory;
  const auto path = directory.file("plain.db");
  auto database = Database::open_unencrypted_for_benchmark_only(path);
  ASSERT_TRUE(database.ok()) << database.error().message;
  write_markers(*database);
  EXPECT_TRUE(contains_marker(read_database_files(path)));
}

TEST(EncryptionAtRest, WrongKeyIsRefusedWithWrongKey) {
  ScratchDirectory directory;
  const auto path = directory.file("replica.db");
  {
    auto database = Database::open(path, test_support::random_database_key());
    ASSERT_TRUE(database.ok());
    write_markers(*database);
  }
  auto reopened = Database::open(path, test_support::random_database_key());
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.error().code, "wrong_key");
  auto reader = Database::open_reader(path, test_support::random_database_key());
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.error().code, "wrong_key");
}

TEST(EncryptionAtRest, EncryptedDatabaseOpenedWithoutKeyIsNotReadable) {
  ScratchDirectory directory;
  const auto path = directory.file("replica.db");
  {
    auto database = Database::open(path, test_support::random_database_key());
    ASSERT_TRUE(database.ok());
    write_markers(*database);
  }
  auto unkeyed = Database::open_unencrypted_for_benchmark_only(path);
  ASSERT_FALSE(unkeyed.ok());
  EXPECT_EQ(unkeyed.error().code, "corrupt");
}

TEST(EncryptionAtRest, KeyOfWrongSizeIsRefused) {
  ScratchDirectory directory;
  auto database = Database::open(directory.file("replica.db"), crypto::SecretBytes(16));
  ASSERT_FALSE(database.ok());
  EXPECT_EQ(database.error().code, "invalid_key");
}

// A damaged file must give a readable error, never a crash or a silent success.
class DamagedFile : public ::testing::TestWithParam<std::size_t> {};

TEST_P(DamagedFile, TruncatedDatabaseGivesCorruptOrWrongKey) {
  ScratchDirectory directory;
  const auto path = directory.file("replica.db");
  const auto key = test_support::random_database_key();
  {
    auto database = Database::open(path, key);
    ASSERT_TRUE(database.ok());
    testing::create_notes_table(*database);
    const auto body = crypto::random_bytes(700);
    ASSERT_TRUE(body.ok());
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(testing::insert_note(*database, 1, *body).ok());
  }  // the last close checkpoints and removes the WAL
  ASSERT_FALSE(std::filesystem::exists(path.string() + "-wal"));
  std::filesystem::resize_file(path, GetParam());

  auto database = Database::open(path, key);
  if (!database.ok()) {
    EXPECT_TRUE(database.error().code == "corrupt" || database.error().code == "wrong_key")
        << database.error().code << ": " << database.error().message;
    return;
  }
  // Page 1 survived; the pages of the table did not.
  auto scan = database->prepare("SELECT sum(length(body)) FROM notes");
  ASSERT_TRUE(scan.ok());
  auto row = scan->step();
  ASSERT_FALSE(row.ok());
  EXPECT_TRUE(row.error().code == "corrupt" || row.error().code == "wrong_key")
      << row.error().code << ": " << row.error().message;
}

INSTANTIATE_TEST_SUITE_P(Sizes, DamagedFile, ::testing::Values(100, 2048, 4096 + 100, 3 * 4096));

TEST(EncryptionAtRest, RandomBytesFileGivesWrongKey) {
  ScratchDirectory directory;
  const auto path = directory.file("garbage.db");
  {
    const auto garbage = crypto::random_bytes(8 * 4096);
    ASSERT_TRUE(garbage.ok());
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(garbage->data()), static_cast<std::streamsize>(garbage->size()));
  }
  auto database = Database::open(path, test_support::random_database_key());
  ASSERT_FALSE(database.ok());
  EXPECT_EQ(database.error().code, "wrong_key");
}

TEST(EncryptionAtRest, FlippedByteInsideADataPageGivesCorrupt) {
  ScratchDirectory directory;
  const auto path = directory.file("replica.db");
  const auto key = test_support::random_database_key();
  {
    auto database = Database::open(path, key);
    ASSERT_TRUE(database.ok());
    testing::create_notes_table(*database);
    const auto body = crypto::random_bytes(700);
    ASSERT_TRUE(body.ok());
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(testing::insert_note(*database, 1, *body).ok());
  }
  {
    std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
    file.seekg(5 * 4096 + 1000);
    char byte = 0;
    file.read(&byte, 1);
    byte = static_cast<char>(byte ^ 0x01);
    file.seekp(5 * 4096 + 1000);
    file.write(&byte, 1);
  }
  auto database = Database::open(path, key);
  ASSERT_TRUE(database.ok()) << database.error().message;  // page 1 is intact
  auto scan = database->prepare("SELECT sum(length(body)) FROM notes");
  ASSERT_TRUE(scan.ok());
  auto row = scan->step();
  ASSERT_FALSE(row.ok());
  EXPECT_EQ(row.error().code, "corrupt") << row.error().message;
}

}  // namespace
}  // namespace casefile::schema
