// The replica file's schema: versioned, refused when newer than the program,
// and laid out so that a case's records are found (and purged) by index.
#include <gtest/gtest.h>

#include <string>

#include "device/internal/replica_migrations.hpp"
#include "device/sqlcipher_replica_store.hpp"
#include "schema/database.hpp"
#include "schema/migrations.hpp"
#include "sync/replica.hpp"
#include "tests/device/replica_test_support.hpp"
#include "tests/sync/sync_test_support.hpp"

namespace casefile::device {
namespace {

using sync::testing::case_id;
using sync::testing::device_id;
using sync::testing::record_key;
using testing::ScratchDirectory;

class ReplicaFileLayout : public ::testing::Test {
 protected:
  schema::Database open_raw() {
    auto database = schema::Database::open(path_, key_);
    if (!database.ok()) throw std::runtime_error(database.error().message);
    return std::move(database).value();
  }

  ScratchDirectory directory_;
  std::filesystem::path path_ = directory_.file("replica.db");
  crypto::SecretBytes key_ = testing::random_storage_key();
};

TEST_F(ReplicaFileLayout, NewReplicaIsAtTheNewestSchemaVersion) {
  { auto store = testing::open_store(path_, key_); }
  auto database = open_raw();
  auto version = schema::schema_version(database);
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, static_cast<int>(internal::replica_migrations().size()));
  // 1: sync tables; 2: the device profile, certificate cache and case keys;
  // 3: case keyring heads and the recovery public key; 4: the accepted TLS pin statement;
  // 5: the change archive and the instance epoch; 6: the attachment outbox (issue #8)
  EXPECT_EQ(*version, 6);
  EXPECT_EQ(internal::replica_migrations().back().description, "create attachment_outbox");
}

TEST_F(ReplicaFileLayout, ReopeningKeepsTheSchemaAndTheData) {
  {
    auto store = testing::open_store(path_, key_);
    auto replica = sync::Replica::open(device_id(1), store);
    ASSERT_TRUE(replica.ok());
    ASSERT_TRUE(
        replica->write_fields(record_key(1, 1), {{"stage", std::string("pretrial")}}, 1'700'000'000'000)
            .ok());
  }
  auto store = testing::open_store(path_, key_);
  auto record = store.load_record(record_key(1, 1));
  ASSERT_TRUE(record.ok() && record->has_value());
  EXPECT_EQ(std::get<std::string>((*record)->field("stage")->winner()->value), "pretrial");
  auto meta = store.load_meta();
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->next_sequence, 2u);
}

TEST_F(ReplicaFileLayout, FileWrittenByANewerCasefileIsRefused) {
  { auto store = testing::open_store(path_, key_); }
  {
    auto database = open_raw();
    ASSERT_TRUE(database.execute("PRAGMA user_version = 99").ok());
  }
  auto store = SqlcipherReplicaStore::open(path_, key_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, "schema_too_new");
}

TEST_F(ReplicaFileLayout, WrongStorageKeyIsRefused) {
  { auto store = testing::open_store(path_, key_); }
  auto store = SqlcipherReplicaStore::open(path_, testing::random_storage_key());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, "wrong_key");
}

TEST_F(ReplicaFileLayout, StorageKeyOfWrongSizeIsRefused) {
  auto store = SqlcipherReplicaStore::open(path_, crypto::SecretBytes(16));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, "invalid_key");
}

// "Purge a case" (later work) is one DELETE per table, each a search of an
// index that starts with case_id, never a scan of the table.
TEST_F(ReplicaFileLayout, PurgingACaseIsOneIndexedStatementPerTable) {
  {
    auto store = testing::open_store(path_, key_);
    auto replica = sync::Replica::open(device_id(1), store);
    ASSERT_TRUE(replica.ok());
    for (std::uint64_t c = 1; c <= 2; ++c) {
      for (std::uint64_t r = 0; r < 3; ++r) {
        ASSERT_TRUE(
            replica->write_fields(record_key(c, r), {{"stage", std::string("x")}}, 1'700'000'000'000).ok());
      }
    }
  }
  {
    auto database = open_raw();
    for (const std::string table : {"records", "outbox", "quarantine"}) {
      auto plan = database.prepare("EXPLAIN QUERY PLAN DELETE FROM " + table + " WHERE case_id = ?");
      ASSERT_TRUE(plan.ok()) << plan.error().message;
      auto row = plan->step();
      ASSERT_TRUE(row.ok() && *row);
      const std::string detail = plan->column_text(3);
      EXPECT_NE(detail.find("SEARCH TABLE " + table + " USING"), std::string::npos) << detail;
      EXPECT_NE(detail.find("INDEX"), std::string::npos) << detail;
    }
    auto purge = database.prepare("DELETE FROM records WHERE case_id = ?");
    ASSERT_TRUE(purge.ok());
    const sync::CaseId purged = case_id(1);
    purge->bind_blob(1, crypto::ByteView(purged.bytes.data(), purged.bytes.size()));
    ASSERT_TRUE(purge->run().ok());
    EXPECT_EQ(database.changes(), 3);
  }
  // Reads through the store show only the other case's records.
  auto store = testing::open_store(path_, key_);
  auto keys = store.list_record_keys();
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(*keys, (std::vector<sync::RecordKey>{record_key(2, 0), record_key(2, 1), record_key(2, 2)}));
}

}  // namespace
}  // namespace casefile::device
