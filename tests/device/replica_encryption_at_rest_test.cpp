// A seized tablet's replica file gives nothing away without the storage key
// (DESIGN §1, threat 1): clear field values, cursors and quarantine reasons
// written through the replica are not in the file's bytes, nor in its WAL.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "device/sqlcipher_replica_store.hpp"
#include "sync/record_state.hpp"
#include "sync/replica.hpp"
#include "tests/device/replica_test_support.hpp"
#include "tests/sync/sync_test_support.hpp"

namespace casefile::device {
namespace {

using sync::testing::device_id;
using sync::testing::record_key;
using testing::ScratchDirectory;

constexpr std::string_view kMarker = "CASEFILE-MARKER-detained-at-station-9-b41e";

bool contains_marker(const std::string& bytes) { return bytes.find(kMarker) != std::string::npos; }

// Writes the marker as clear values of 40 records, as the pull cursor, and as
// a quarantined change with the marker in its reason.
void write_markers(SqlcipherReplicaStore& store) {
  auto replica = sync::Replica::open(device_id(1), store);
  ASSERT_TRUE(replica.ok());
  for (std::uint64_t r = 0; r < 40; ++r) {
    const std::string value = std::string(kMarker) + " record " + std::to_string(r);
    ASSERT_TRUE(replica->write_fields(record_key(1, r), {{"province", value}}, 1'700'000'000'000 + r).ok());
  }
  sync::ReplicaCommit commit;
  commit.meta = *store.load_meta();
  commit.meta.pull_cursor = std::string(kMarker);
  auto outbox = store.read_outbox(0, 1);
  ASSERT_TRUE(outbox.ok() && outbox->size() == 1);
  commit.outbox_remove.push_back(outbox->front().id);
  commit.quarantine_append.push_back({outbox->front(), make_error("change_invalid", std::string(kMarker))});
  ASSERT_TRUE(store.commit(commit).ok());
}

TEST(ReplicaEncryptionAtRest, ReplicaFilesHoldNoClearValueWhileOpenNorAfterClosing) {
  ScratchDirectory directory;
  const auto path = directory.file("replica.db");
  const auto key = testing::random_storage_key();
  {
    auto store = testing::open_store(path, key);
    ASSERT_NO_FATAL_FAILURE(write_markers(store));
    // While open, the recent commits sit in the WAL: scan it too.
    ASSERT_TRUE(std::filesystem::exists(path.string() + "-wal"));
    const std::string open_bytes = testing::read_replica_files(path);
    ASSERT_GT(open_bytes.size(), 40 * kMarker.size());
    EXPECT_FALSE(contains_marker(open_bytes));
  }
  const std::string closed_bytes = testing::read_replica_files(path);
  ASSERT_GT(closed_bytes.size(), 40 * kMarker.size());
  EXPECT_FALSE(contains_marker(closed_bytes));

  // And the key still reads every marker back.
  auto store = testing::open_store(path, key);
  auto record = store.load_record(record_key(1, 39));
  ASSERT_TRUE(record.ok() && record->has_value());
  EXPECT_TRUE(contains_marker(std::get<std::string>((*record)->field("province")->winner()->value)));
  EXPECT_EQ(store.load_meta()->pull_cursor, kMarker);
  EXPECT_EQ(store.read_quarantine()->front().reason.message, kMarker);
}

// The control: the stored encoding of a record carries a clear value
// verbatim, so without encryption the scan above would find the marker.
TEST(ReplicaEncryptionAtRest, StoredRecordEncodingHoldsClearValuesVerbatimSoTheScanCanFail) {
  sync::RecordState state(record_key(1, 1));
  state.apply(sync::testing::make_change(sync::Dot{device_id(1), 1}, record_key(1, 1),
                                         sync::Hlc::from_parts(1'700'000'000'000, 0),
                                         {sync::testing::set_op("province", std::string(kMarker))}));
  const crypto::Bytes encoded = sync::encode_record_state(state);
  EXPECT_TRUE(contains_marker(std::string(encoded.begin(), encoded.end())));
}

}  // namespace
}  // namespace casefile::device
