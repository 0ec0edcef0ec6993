// Merge rules of per-field multi-value registers and record tombstones.
#include "sync/record_state.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "tests/sync/sync_test_support.hpp"

namespace casefile::sync {
namespace {

using testing::delete_op;
using testing::device_id;
using testing::make_change;
using testing::record_key;
using testing::resolve_op;
using testing::set_op;

constexpr std::uint64_t kNow = 1'700'000'000'000;
const RecordKey kKey = record_key(1, 1);

Dot dot(std::uint64_t device, std::uint64_t sequence) { return Dot{device_id(device), sequence}; }
Hlc at(std::uint64_t offset) { return Hlc::from_parts(kNow + offset, 0); }

TEST(RecordState, AWriteThatSupersedesTheCurrentValueReplacesItSilently) {
  RecordState state(kKey);
  state.apply(make_change(dot(1, 1), kKey, at(0), {set_op("stage", std::string("intake"))}));
  state.apply(make_change(dot(2, 1), kKey, at(5), {set_op("stage", std::string("pretrial"), {dot(1, 1)})}));
  ASSERT_EQ(state.field("stage")->entries().size(), 1u);
  EXPECT_EQ(state.field("stage")->winner()->value, FieldValue{std::string("pretrial")});
  EXPECT_FALSE(state.needs_resolution());
}

TEST(RecordState, ConcurrentWritesAreKeptAsSiblingsWithTheHighestClockShown) {
  RecordState state(kKey);
  state.apply(make_change(dot(1, 1), kKey, at(0), {set_op("stage", std::string("intake"))}));
  state.apply(make_change(dot(2, 1), kKey, at(10), {set_op("stage", std::string("trial"), {dot(1, 1)})}));
  state.apply(make_change(dot(3, 1), kKey, at(20), {set_op("stage", std::string("appeal"), {dot(1, 1)})}));
  const FieldRegister& stage = *state.field("stage");
  EXPECT_TRUE(stage.in_conflict());
  EXPECT_EQ(stage.entries().size(), 2u);
  EXPECT_EQ(stage.winner()->value, FieldValue{std::string("appeal")});
  EXPECT_TRUE(state.has_field_conflict());
}

TEST(RecordState, EqualClocksAreBrokenByTheHigherDeviceId) {
  RecordState state(kKey);
  state.apply(make_change(dot(7, 1), kKey, at(0), {set_op("stage", std::string("from seven"))}));
  state.apply(make_change(dot(3, 1), kKey, at(0), {set_op("stage", std::string("from three"))}));
  EXPECT_EQ(state.field("stage")->winner()->value, FieldValue{std::string("from seven")});
}

TEST(RecordState, AResolutionSupersedingEverySiblingClearsTheConflict) {
  RecordState state(kKey);
  state.apply(make_change(dot(1, 1), kKey, at(0), {set_op("stage", std::string("trial"))}));
  state.apply(make_change(dot(2, 1), kKey, at(1), {set_op("stage", std::string("appeal"))}));
  state.apply(make_change(dot(3, 1), kKey, at(2),
                          {resolve_op("stage", std::string("appeal"), {dot(1, 1), dot(2, 1)})}));
  EXPECT_FALSE(state.needs_resolution());
  EXPECT_EQ(state.field("stage")->entries().size(), 1u);
}

TEST(RecordState, ASupersededWriteArrivingLateStaysDead) {
  RecordState state(kKey);
  state.apply(make_change(dot(2, 1), kKey, at(5), {set_op("stage", std::string("new"), {dot(1, 1)})}));
  state.apply(make_change(dot(1, 1), kKey, at(0), {set_op("stage", std::string("old"))}));
  ASSERT_EQ(state.field("stage")->entries().size(), 1u);
  EXPECT_EQ(state.field("stage")->winner()->dot, dot(2, 1));
}

TEST(RecordState, DeleteOfEverythingSeenTombstonesTheRecord) {
  RecordState state(kKey);
  state.apply(make_change(dot(1, 1), kKey, at(0),
                          {set_op("stage", std::string("intake")), set_op("count", std::int64_t{3})}));
  state.apply(make_change(dot(2, 1), kKey, at(5), {delete_op({dot(1, 1)})}));
  EXPECT_TRUE(state.is_deleted());
  EXPECT_FALSE(state.has_edit_delete_conflict());
  EXPECT_TRUE(state.fields().empty());
}

TEST(RecordState, EditConcurrentWithDeleteKeepsTheRecordAndFlagsIt) {
  RecordState state(kKey);
  state.apply(make_change(dot(1, 1), kKey, at(0), {set_op("stage", std::string("intake"))}));
  state.apply(make_change(dot(2, 1), kKey, at(5), {delete_op({dot(1, 1)})}));
  state.apply(make_change(dot(3, 1), kKey, at(4), {set_op("stage", std::string("pretrial"), {dot(1, 1)})}));
  EXPECT_FALSE(state.is_deleted());
  EXPECT_TRUE(state.has_edit_delete_conflict());
  EXPECT_TRUE(state.needs_resolution());
  EXPECT_EQ(state.field("stage")->winner()->value, FieldValue{std::string("pretrial")});
  // A person keeps the record: the resolution supersedes the tombstone.
  state.apply(make_change(dot(4, 1), kKey, at(9),
                          {resolve_op("stage", std::string("pretrial"), {dot(2, 1), dot(3, 1)})}));
  EXPECT_FALSE(state.needs_resolution());
  EXPECT_FALSE(state.is_deleted());
}

TEST(RecordState, AnyOrderAndAnyRepetitionGivesByteIdenticalState) {
  std::mt19937_64 random(42);
  for (int round = 0; round < 200; ++round) {
    std::vector<Change> changes;
    std::vector<Dot> made;
    const std::vector<std::string> fields = {"a", "b", "c"};
    for (std::uint64_t i = 1; i <= 25; ++i) {
      const Dot id = dot(random() % 4 + 1, i);
      std::vector<Dot> supersedes;
      for (const Dot& earlier : made) {
        if (random() % 3 == 0) supersedes.push_back(earlier);
      }
      const Hlc hlc = at(random() % 50);
      if (random() % 6 == 0) {
        changes.push_back(make_change(id, kKey, hlc, {delete_op(supersedes)}));
      } else if (random() % 5 == 0) {
        changes.push_back(
            make_change(id, kKey, hlc, {resolve_op(fields[random() % 3], std::int64_t(i), supersedes)}));
      } else {
        changes.push_back(make_change(id, kKey, hlc,
                                      {set_op(fields[random() % 3], std::int64_t(i), supersedes),
                                       set_op("d" + fields[random() % 3], std::string("x"), supersedes)}));
      }
      made.push_back(id);
    }
    RecordState in_order(kKey);
    for (const Change& change : changes) in_order.apply(change);
    for (int shuffle = 0; shuffle < 5; ++shuffle) {
      std::vector<Change> shuffled = changes;
      shuffled.insert(shuffled.end(), changes.begin(), changes.begin() + 5);
      std::shuffle(shuffled.begin(), shuffled.end(), random);
      RecordState state(kKey);
      for (const Change& change : shuffled) state.apply(change);
      ASSERT_EQ(encode_record_state(state), encode_record_state(in_order)) << "round " << round;
      ASSERT_EQ(state, in_order);
    }
    auto decoded = decode_record_state(encode_record_state(in_order));
    ASSERT_TRUE(decoded.ok()) << decoded.error().code;
    EXPECT_EQ(*decoded, in_order);
  }
}

TEST(RecordState, DecodingRefusesTruncatedAndTrailingBytes) {
  RecordState state(kKey);
  state.apply(make_change(dot(1, 1), kKey, at(0), {set_op("stage", std::string("intake"))}));
  crypto::Bytes bytes = encode_record_state(state);
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    auto decoded = decode_record_state(crypto::ByteView(bytes.data(), size));
    ASSERT_FALSE(decoded.ok()) << size;
  }
  bytes.push_back(0);
  auto trailing = decode_record_state(bytes);
  ASSERT_FALSE(trailing.ok());
  EXPECT_EQ(trailing.error().code, "encoding_trailing_bytes");
}

}  // namespace
}  // namespace casefile::sync
