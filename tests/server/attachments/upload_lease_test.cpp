// The upload lease (UploadStore::take_lease) on SQLCipher: two stores over
// one casefile.db stand for two casefiled instances sharing it (issue #10).
// One PATCH at a time holds an upload whichever instance it reached; a lease
// whose time passed is free (its instance died); only its holder ends it.
#include <gtest/gtest.h>

#include <mutex>

#include "server/attachments/sqlcipher_upload_store.hpp"
#include "server/store/sqlcipher_server_store.hpp"
#include "tests/support/scratch_directory.hpp"

namespace casefile::server {
namespace {

constexpr std::int64_t kNow = 1'800'000'000'000;
constexpr std::int64_t kLease = 300'000;

class UploadLeaseTest : public ::testing::Test {
 protected:
  UploadLeaseTest()
      : key_(test_support::random_database_key()),
        migrated_(SqlcipherServerStore::open(database(), key_).value()),
        first_(opening_lender(database(), key_, first_mutex_)),
        second_(opening_lender(database(), key_, second_mutex_)) {
    UploadRow upload;
    upload.upload_id = kUploadId;
    upload.device.bytes.fill(0xd0);
    upload.case_id.bytes.fill(0xca);
    upload.record_id.bytes.fill(0x7e);
    upload.length = 1024;
    upload.expires_at_ms = kNow + 3'600'000;
    EXPECT_TRUE(first_.create_or_find(upload, 1 << 20).ok());
  }

  std::filesystem::path database() const { return directory_.file("casefile.db"); }

  static constexpr const char* kUploadId = "0123456789abcdef0123456789abcdef";
  test_support::ScratchDirectory directory_;
  crypto::SecretBytes key_;
  std::unique_ptr<SqlcipherServerStore> migrated_;  // runs the migrations, lease columns included
  std::mutex first_mutex_;
  std::mutex second_mutex_;
  SqlcipherUploadStore first_;   // casefiled A
  SqlcipherUploadStore second_;  // casefiled B
};

TEST_F(UploadLeaseTest, ALiveLeaseIsRefusedToAnyOtherHolderThroughAnotherStore) {
  EXPECT_TRUE(first_.take_lease(kUploadId, "patch-on-a", kNow, kNow + kLease).value());
  EXPECT_FALSE(second_.take_lease(kUploadId, "patch-on-b", kNow + 1, kNow + 1 + kLease).value());
  EXPECT_FALSE(first_.take_lease(kUploadId, "another-patch-on-a", kNow + 1, kNow + 1 + kLease).value());
  // Its holder renews it, through either store.
  EXPECT_TRUE(second_.take_lease(kUploadId, "patch-on-a", kNow + 2, kNow + 2 + kLease).value());
  EXPECT_FALSE(second_.take_lease(kUploadId, "patch-on-b", kNow + kLease, kNow + 2 * kLease).value());
}

TEST_F(UploadLeaseTest, AnEndedOrExpiredLeaseIsFreeAndOnlyItsHolderEndsIt) {
  ASSERT_TRUE(first_.take_lease(kUploadId, "patch-on-a", kNow, kNow + kLease).value());
  ASSERT_TRUE(second_.end_lease(kUploadId, "patch-on-b").ok());  // not its lease: nothing changes
  EXPECT_FALSE(second_.take_lease(kUploadId, "patch-on-b", kNow + 1, kNow + 1 + kLease).value());
  ASSERT_TRUE(first_.end_lease(kUploadId, "patch-on-a").ok());
  EXPECT_TRUE(second_.take_lease(kUploadId, "patch-on-b", kNow + 2, kNow + 2 + kLease).value());
  // casefiled B dies holding it: once its time has passed, A takes it.
  EXPECT_FALSE(first_.take_lease(kUploadId, "patch-on-a", kNow + 1 + kLease, kNow + 3 * kLease).value());
  EXPECT_TRUE(first_.take_lease(kUploadId, "patch-on-a", kNow + 2 + kLease, kNow + 3 * kLease).value());
}

TEST_F(UploadLeaseTest, AnUnknownUploadIsNotFoundAndARemovedRowTakesItsLeaseWithIt) {
  const auto unknown = first_.take_lease("ffffffffffffffffffffffffffffffff", "patch", kNow, kNow + kLease);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "upload_not_found");
  ASSERT_TRUE(first_.take_lease(kUploadId, "patch-on-a", kNow, kNow + kLease).value());
  ASSERT_TRUE(second_.remove(kUploadId).ok());
  const auto removed = second_.take_lease(kUploadId, "patch-on-b", kNow + 1, kNow + 1 + kLease);
  ASSERT_FALSE(removed.ok());
  EXPECT_EQ(removed.error().code, "upload_not_found");
}

}  // namespace
}  // namespace casefile::server
