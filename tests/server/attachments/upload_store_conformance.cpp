// The UploadStore conformance suite's test bodies (upload_store_conformance.hpp).
#include "tests/server/attachments/upload_store_conformance.hpp"

#include "crypto/bytes.hpp"
#include "crypto/random.hpp"

namespace casefile::server::testing {
namespace upload_store_conformance {
namespace {

template <typename Id>
Id random_id() {
  Id id;
  if (!crypto::fill_random(id.bytes).ok()) throw std::runtime_error("random failed");
  return id;
}

UploadRow new_upload(const sync::DeviceId& device, std::uint64_t length,
                     std::int64_t expires_at_ms = 10'000) {
  UploadRow upload;
  upload.upload_id = crypto::to_hex(random_id<sync::RecordId>().bytes);
  upload.device = device;
  upload.case_id = random_id<sync::CaseId>();
  upload.record_id = random_id<sync::RecordId>();
  upload.length = length;
  upload.expires_at_ms = expires_at_ms;
  return upload;
}

StoredAttachment stored_from(const UploadRow& upload) {
  return StoredAttachment{upload.case_id,       upload.record_id, upload.length,
                          std::string(64, 'a'), upload.device,    777};
}

TEST_P(UploadStoreConformance, OneDeviceAndRecordHaveOneUnfinishedUpload) {
  const UploadRow upload = new_upload(random_id<sync::DeviceId>(), 100);
  ASSERT_EQ(store_->create_or_find(upload, 1000).value().upload_id, upload.upload_id);
  UploadRow again = upload;
  again.upload_id = crypto::to_hex(random_id<sync::RecordId>().bytes);
  EXPECT_EQ(store_->create_or_find(again, 1000).value().upload_id, upload.upload_id);
  EXPECT_FALSE(store_->find(again.upload_id).value().has_value());
  auto found = store_->find(upload.upload_id).value();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->device, upload.device);
  EXPECT_EQ(found->case_id, upload.case_id);
  EXPECT_EQ(found->record_id, upload.record_id);
  EXPECT_EQ(found->length, 100u);
  EXPECT_EQ(found->offset, 0u);
}

TEST_P(UploadStoreConformance, TheQuotaCountsUnfinishedAndStoredBytes) {
  const auto device = random_id<sync::DeviceId>();
  const UploadRow first = new_upload(device, 600);
  ASSERT_TRUE(store_->create_or_find(first, 1000).ok());
  EXPECT_EQ(store_->create_or_find(new_upload(device, 401), 1000).error().code, "upload_quota_exceeded");
  ASSERT_TRUE(store_->complete(first.upload_id, stored_from(first)).ok());
  EXPECT_EQ(store_->device_bytes(device).value(), 600u);
  EXPECT_EQ(store_->create_or_find(new_upload(device, 401), 1000).error().code, "upload_quota_exceeded");
  EXPECT_TRUE(store_->create_or_find(new_upload(device, 400), 1000).ok());
  EXPECT_EQ(store_->device_bytes(device).value(), 1000u);
  EXPECT_EQ(store_->device_bytes(random_id<sync::DeviceId>()).value(), 0u);
}

TEST_P(UploadStoreConformance, AnOffsetIsKeptAndAGoneUploadIsNotFound) {
  const UploadRow upload = new_upload(random_id<sync::DeviceId>(), 100);
  ASSERT_TRUE(store_->create_or_find(upload, 1000).ok());
  ASSERT_TRUE(store_->set_offset(upload.upload_id, 60, 20'000).ok());
  auto found = store_->find(upload.upload_id).value();
  EXPECT_EQ(found->offset, 60u);
  EXPECT_EQ(found->expires_at_ms, 20'000);
  ASSERT_TRUE(store_->remove(upload.upload_id).ok());
  EXPECT_TRUE(store_->remove(upload.upload_id).ok());  // absent is not an error
  EXPECT_EQ(store_->set_offset(upload.upload_id, 70, 20'000).error().code, "upload_not_found");
  EXPECT_FALSE(store_->find(upload.upload_id).value().has_value());
}

TEST_P(UploadStoreConformance, AContentIsStoredOnceAndItsUploadRemoved) {
  const UploadRow upload = new_upload(random_id<sync::DeviceId>(), 100);
  ASSERT_TRUE(store_->create_or_find(upload, 1000).ok());
  ASSERT_TRUE(store_->complete(upload.upload_id, stored_from(upload)).ok());
  EXPECT_FALSE(store_->find(upload.upload_id).value().has_value());
  auto stored = store_->find_stored(upload.case_id, upload.record_id).value();
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->size, 100u);
  EXPECT_EQ(stored->sha256, std::string(64, 'a'));
  EXPECT_EQ(stored->device, upload.device);
  EXPECT_EQ(stored->stored_at_ms, 777);
  UploadRow second = upload;
  second.upload_id = crypto::to_hex(random_id<sync::RecordId>().bytes);
  ASSERT_TRUE(store_->create_or_find(second, 1000).ok());
  EXPECT_EQ(store_->complete(second.upload_id, stored_from(second)).error().code,
            "attachment_already_stored");
  EXPECT_FALSE(store_->find(second.upload_id).value().has_value());
  EXPECT_FALSE(store_->find_stored(upload.case_id, random_id<sync::RecordId>()).value().has_value());
}

TEST_P(UploadStoreConformance, ExpiredListsUploadsDueAtOrBeforeNow) {
  const auto device = random_id<sync::DeviceId>();
  const UploadRow early = new_upload(device, 1, 100);
  const UploadRow due = new_upload(device, 1, 200);
  const UploadRow later = new_upload(device, 1, 300);
  for (const UploadRow* upload : {&early, &due, &later})
    ASSERT_TRUE(store_->create_or_find(*upload, 1000).ok());
  auto expired = store_->expired(200).value();
  std::set<std::string> ids;
  for (const UploadRow& row : expired) ids.insert(row.upload_id);
  EXPECT_EQ(ids, (std::set<std::string>{early.upload_id, due.upload_id}));
}

// Two stores on one database, as two casefiled instances: an upload begun
// through one resumes through the other, and its quota counts there too.
TEST_P(UploadStoreConformance, AnUploadBegunThroughOneStoreResumesThroughAnother) {
  auto other = backend_->open();
  const UploadRow upload = new_upload(random_id<sync::DeviceId>(), 100);
  ASSERT_TRUE(store_->create_or_find(upload, 150).ok());
  ASSERT_TRUE(store_->set_offset(upload.upload_id, 40, 20'000).ok());
  EXPECT_EQ(other->find(upload.upload_id).value()->offset, 40u);
  EXPECT_EQ(other->create_or_find(new_upload(upload.device, 51), 150).error().code, "upload_quota_exceeded");
  ASSERT_TRUE(other->complete(upload.upload_id, stored_from(upload)).ok());
  EXPECT_TRUE(store_->find_stored(upload.case_id, upload.record_id).value().has_value());
}

// The upload lease (UploadStore::take_lease): two stores on one database
// stand for two casefiled instances. One PATCH at a time holds an upload
// whichever instance it reached; a lease whose time passed is free (its
// instance died); only its holder ends it.
constexpr std::int64_t kLeaseNow = 1'800'000'000'000;
constexpr std::int64_t kLease = 300'000;

TEST_P(UploadStoreConformance, ALiveLeaseIsRefusedToAnyOtherHolderThroughAnotherStore) {
  auto other = backend_->open();
  const UploadRow upload = new_upload(random_id<sync::DeviceId>(), 1024, kLeaseNow + 3'600'000);
  ASSERT_TRUE(store_->create_or_find(upload, 1 << 20).ok());
  const std::string& id = upload.upload_id;
  EXPECT_TRUE(store_->take_lease(id, "patch-on-a", kLeaseNow, kLeaseNow + kLease).value());
  EXPECT_FALSE(other->take_lease(id, "patch-on-b", kLeaseNow + 1, kLeaseNow + 1 + kLease).value());
  EXPECT_FALSE(store_->take_lease(id, "another-patch-on-a", kLeaseNow + 1, kLeaseNow + 1 + kLease).value());
  // Its holder renews it, through either store.
  EXPECT_TRUE(other->take_lease(id, "patch-on-a", kLeaseNow + 2, kLeaseNow + 2 + kLease).value());
  EXPECT_FALSE(other->take_lease(id, "patch-on-b", kLeaseNow + kLease, kLeaseNow + 2 * kLease).value());
}

TEST_P(UploadStoreConformance, AnEndedOrExpiredLeaseIsFreeAndOnlyItsHolderEndsIt) {
  auto other = backend_->open();
  const UploadRow upload = new_upload(random_id<sync::DeviceId>(), 1024, kLeaseNow + 3'600'000);
  ASSERT_TRUE(store_->create_or_find(upload, 1 << 20).ok());
  const std::string& id = upload.upload_id;
  ASSERT_TRUE(store_->take_lease(id, "patch-on-a", kLeaseNow, kLeaseNow + kLease).value());
  ASSERT_TRUE(other->end_lease(id, "patch-on-b").ok());  // not its lease: nothing changes
  EXPECT_FALSE(other->take_lease(id, "patch-on-b", kLeaseNow + 1, kLeaseNow + 1 + kLease).value());
  ASSERT_TRUE(store_->end_lease(id, "patch-on-a").ok());
  EXPECT_TRUE(other->take_lease(id, "patch-on-b", kLeaseNow + 2, kLeaseNow + 2 + kLease).value());
  // casefiled B dies holding it: once its time has passed, A takes it.
  EXPECT_FALSE(store_->take_lease(id, "patch-on-a", kLeaseNow + 1 + kLease, kLeaseNow + 3 * kLease).value());
  EXPECT_TRUE(store_->take_lease(id, "patch-on-a", kLeaseNow + 2 + kLease, kLeaseNow + 3 * kLease).value());
}

TEST_P(UploadStoreConformance, AnUnknownUploadIsNotFoundAndARemovedRowTakesItsLeaseWithIt) {
  auto other = backend_->open();
  const auto unknown = store_->take_lease(std::string(32, 'f'), "patch", kLeaseNow, kLeaseNow + kLease);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "upload_not_found");
  const UploadRow upload = new_upload(random_id<sync::DeviceId>(), 1024, kLeaseNow + 3'600'000);
  ASSERT_TRUE(store_->create_or_find(upload, 1 << 20).ok());
  ASSERT_TRUE(store_->take_lease(upload.upload_id, "patch-on-a", kLeaseNow, kLeaseNow + kLease).value());
  ASSERT_TRUE(other->remove(upload.upload_id).ok());
  const auto removed = other->take_lease(upload.upload_id, "patch-on-b", kLeaseNow + 1, kLeaseNow + 1 + kLease);
  ASSERT_FALSE(removed.ok());
  EXPECT_EQ(removed.error().code, "upload_not_found");
}

}  // namespace
}  // namespace upload_store_conformance
}  // namespace casefile::server::testing
