// The KeyWrapStore contract (server/sync_api/key_wrap_store.hpp), run against
// SqlcipherKeyWrapStore (keys.db) and PostgresKeyWrapStore (a fresh schema of
// the test process's PostgreSQL cluster). Each test states one property.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "server/store/postgres_key_wrap_store.hpp"
#include "server/sync_api/sqlcipher_key_wrap_store.hpp"
#include "tests/server/store/store_test_data.hpp"
#include "tests/support/postgres_cluster.hpp"
#include "tests/support/scratch_directory.hpp"

namespace casefile::server::testing {
namespace {

// Where one test's keys live; open() again after the store is gone is a restart.
class KeyWrapBackend {
 public:
  virtual ~KeyWrapBackend() = default;
  virtual std::unique_ptr<KeyWrapStore> open() = 0;
};

class SqlcipherKeyWrapBackend final : public KeyWrapBackend {
 public:
  std::unique_ptr<KeyWrapStore> open() override {
    auto store = SqlcipherKeyWrapStore::open(directory_.file("keys.db"), key_);
    if (!store.ok()) throw std::runtime_error("open: " + store.error().message);
    return std::move(store).value();
  }

 private:
  test_support::ScratchDirectory directory_;
  crypto::SecretBytes key_ = test_support::random_database_key();
};

class PostgresKeyWrapBackend final : public KeyWrapBackend {
 public:
  std::unique_ptr<KeyWrapStore> open() override {
    auto store = PostgresKeyWrapStore::open(connection_string_);
    if (!store.ok()) throw std::runtime_error("open: " + store.error().message);
    return std::move(store).value();
  }

 private:
  std::string connection_string_ = test_support::PostgresCluster::shared().new_schema_connection_string();
};

struct KeyWrapBackendParam {
  std::string name;
  std::function<std::unique_ptr<KeyWrapBackend>()> make;
};

class KeyWrapStoreConformance : public ::testing::TestWithParam<KeyWrapBackendParam> {
 protected:
  void SetUp() override {
    backend_ = GetParam().make();
    store_ = backend_->open();
  }
  std::unique_ptr<KeyWrapBackend> backend_;
  std::unique_ptr<KeyWrapStore> store_;
};

crypto::Bytes bytes_of(std::uint8_t seed, std::size_t size) {
  crypto::Bytes bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::uint8_t>(seed + i);  // every byte value
  return bytes;
}

KeyEpoch key_epoch(std::uint64_t case_number, std::uint32_t epoch, std::uint8_t seed,
                   std::vector<std::uint64_t> recipients) {
  KeyEpoch made;
  made.case_id = case_id(case_number);
  made.epoch = epoch;
  made.manifest = bytes_of(seed, 300);
  for (std::uint64_t recipient : recipients)
    made.wraps.push_back(
        KeyWrap{device_id(recipient), bytes_of(static_cast<std::uint8_t>(seed + recipient), 90)});
  made.uploaded_by = device_id(recipients.front());
  made.uploaded_at_ms = 1'700'000'000'000 + epoch;
  return made;
}

TEST_P(KeyWrapStoreConformance, EpochsAreStoredAboveTheNewestAndARetryIsAlreadyStored) {
  const KeyEpoch first = key_epoch(1, 1, 0, {1, 2});
  EXPECT_EQ(*store_->put_epoch(first), KeyEpochStored::created);
  KeyEpoch retried = first;
  std::swap(retried.wraps[0], retried.wraps[1]);  // another order, the same content
  EXPECT_EQ(*store_->put_epoch(retried), KeyEpochStored::already_stored);
  auto other = store_->put_epoch(key_epoch(1, 1, 7, {1, 2}));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, "epoch_not_monotonic");
  EXPECT_EQ(*store_->put_epoch(key_epoch(1, 3, 3, {1})), KeyEpochStored::created);  // gaps allowed
  auto below = store_->put_epoch(key_epoch(1, 2, 2, {1}));
  ASSERT_FALSE(below.ok());
  EXPECT_EQ(below.error().code, "epoch_not_monotonic");

  auto stored = store_->epochs(case_id(1));
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 2u);
  EXPECT_EQ((*stored)[0], first);
  EXPECT_EQ((*stored)[1].epoch, 3u);
}

TEST_P(KeyWrapStoreConformance, ADeviceGetsEachManifestItsOwnWrapAndEveryRecipient) {
  ASSERT_TRUE(store_->put_epoch(key_epoch(1, 1, 0, {3, 1})).ok());
  ASSERT_TRUE(store_->put_epoch(key_epoch(1, 2, 40, {1})).ok());
  auto for_device = store_->epochs_for_device(case_id(1), device_id(3));
  ASSERT_TRUE(for_device.ok());
  ASSERT_EQ(for_device->size(), 2u);
  EXPECT_EQ((*for_device)[0].epoch, 1u);
  EXPECT_EQ((*for_device)[0].manifest, bytes_of(0, 300));
  EXPECT_EQ((*for_device)[0].wrap, bytes_of(3, 90));
  EXPECT_EQ((*for_device)[0].recipients, (std::vector<sync::DeviceId>{device_id(1), device_id(3)}));
  EXPECT_EQ((*for_device)[1].wrap, std::nullopt);  // not a recipient of epoch 2
  auto none = store_->epochs_for_device(case_id(2), device_id(3));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(KeyWrapStoreConformance, AddedWrapsGoInAllOrNothing) {
  const std::vector<KeyWrap> for_four = {KeyWrap{device_id(4), bytes_of(4, 90)}};
  auto unknown = store_->add_wraps(case_id(1), 1, for_four);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "epoch_unknown");

  ASSERT_TRUE(store_->put_epoch(key_epoch(1, 1, 0, {1})).ok());
  EXPECT_EQ(*store_->add_wraps(case_id(1), 1, for_four), KeyEpochStored::created);
  EXPECT_EQ(*store_->add_wraps(case_id(1), 1, for_four), KeyEpochStored::already_stored);
  // A new recipient beside a different wrap for a stored one: refused whole.
  const std::vector<KeyWrap> mixed = {KeyWrap{device_id(5), bytes_of(5, 90)},
                                      KeyWrap{device_id(4), bytes_of(9, 90)}};
  auto clash = store_->add_wraps(case_id(1), 1, mixed);
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().code, "wrap_exists");
  auto stored = store_->epochs(case_id(1));
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0].wraps.size(), 2u);  // recipients 1 and 4, not 5
}

TEST_P(KeyWrapStoreConformance, HeadEpochsFollowTheCasesAskedAndSkipCasesWithout) {
  ASSERT_TRUE(store_->put_epoch(key_epoch(1, 1, 0, {1})).ok());
  ASSERT_TRUE(store_->put_epoch(key_epoch(1, 4, 0, {1})).ok());
  ASSERT_TRUE(store_->put_epoch(key_epoch(3, 2, 0, {1})).ok());
  const std::vector<sync::CaseId> asked = {case_id(3), case_id(2), case_id(1)};
  auto heads = store_->head_epochs(asked);
  ASSERT_TRUE(heads.ok());
  EXPECT_EQ(*heads, (std::vector<CaseHeadEpoch>{{case_id(3), 2}, {case_id(1), 4}}));
}

TEST_P(KeyWrapStoreConformance, EverythingStoredSurvivesAReopenByteForByte) {
  const KeyEpoch epoch = key_epoch(2, 1, 0xf0, {7, 6, 5});
  ASSERT_TRUE(store_->put_epoch(epoch).ok());
  store_.reset();
  store_ = backend_->open();
  auto stored = store_->epochs(case_id(2));
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0].manifest, epoch.manifest);
  EXPECT_EQ((*stored)[0].uploaded_by, epoch.uploaded_by);
  EXPECT_EQ((*stored)[0].uploaded_at_ms, epoch.uploaded_at_ms);
  ASSERT_EQ((*stored)[0].wraps.size(), 3u);
  EXPECT_EQ((*stored)[0].wraps[0].recipient, device_id(5));  // ascending recipient
}

std::string key_backend_name(const ::testing::TestParamInfo<KeyWrapBackendParam>& info) {
  return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(
    Backends, KeyWrapStoreConformance,
    ::testing::Values(
        KeyWrapBackendParam{"sqlcipher", [] { return std::make_unique<SqlcipherKeyWrapBackend>(); }},
        KeyWrapBackendParam{"postgres", [] { return std::make_unique<PostgresKeyWrapBackend>(); }}),
    key_backend_name);

}  // namespace
}  // namespace casefile::server::testing
