// Two devices and a server, end to end in memory: the worked example of
// docs/sync.md, and a device whose clock runs a year ahead.
#include "sync/replica.hpp"

#include <gtest/gtest.h>

#include "sync/memory_store.hpp"
#include "tests/sync/sync_test_support.hpp"

namespace casefile::sync {
namespace {

using testing::batch_id;
using testing::case_id;
using testing::device_id;
using testing::device_key;
using testing::record_key;

constexpr std::uint64_t kNow = 1'700'000'000'000;

struct Device {
  explicit Device(std::uint64_t number) : number(number), replica(*Replica::open(device_id(number), store)) {}
  std::uint64_t number;
  MemoryReplicaStore store;
  Replica replica;
};

class ReplicaTest : public ::testing::Test {
 protected:
  void push(Device& device, std::uint64_t now) {
    auto batch = device.replica.prepare_push(batch_id(++batches_), device_key(device.number), 0, 100);
    ASSERT_TRUE(batch.ok());
    if (!batch->has_value()) return;
    PushContext context;
    context.device = device_id(device.number);
    context.device_public_key = device_key(device.number).public_key();
    context.writable_cases = {case_id(1)};
    context.server_now_millis = now;
    auto response = handle_push(server_, context, **batch);
    ASSERT_TRUE(response.ok());
    last_response_ = *response;
    ASSERT_TRUE(device.replica.apply_push_response(**batch, *response, now).ok());
  }

  void pull(Device& device, std::uint64_t now) {
    auto page = handle_pull(server_, {case_id(1)}, device.replica.pull_cursor(), 100, now);
    ASSERT_TRUE(page.ok());
    const AuthorKeyLookup keys = [](const DeviceId& id) -> std::optional<crypto::Ed25519PublicKey> {
      for (std::uint64_t n = 1; n <= 3; ++n) {
        if (id == device_id(n)) return device_key(n).public_key();
      }
      return std::nullopt;
    };
    ASSERT_TRUE(device.replica.apply_pull_page(*page, keys, now).ok());
  }

  MemoryServerStore server_;
  PushResponse last_response_;
  std::uint64_t batches_ = 0;
};

TEST_F(ReplicaTest, ConcurrentEditsBecomeSiblingsUntilASupervisorResolvesThem) {
  const RecordKey interview = record_key(1, 42);
  Device amina(1), bruno(2), supervisor(3);
  ASSERT_TRUE(amina.replica.write_fields(interview, {{"stage", std::string("intake")}}, kNow).ok());
  push(amina, kNow);
  pull(bruno, kNow + 10);
  // Both edit offline, neither seeing the other.
  ASSERT_TRUE(
      amina.replica.write_fields(interview, {{"stage", std::string("pretrial_detention")}}, kNow + 100).ok());
  ASSERT_TRUE(
      bruno.replica.write_fields(interview, {{"stage", std::string("released_on_bail")}}, kNow + 200).ok());
  push(amina, kNow + 300);
  push(bruno, kNow + 400);
  for (Device* device : {&amina, &bruno, &supervisor}) pull(*device, kNow + 500);
  const RecordState& state = server_.records().at(interview).state;
  const FieldRegister& stage = *state.field("stage");
  ASSERT_TRUE(stage.in_conflict());
  EXPECT_EQ(stage.entries().size(), 2u);
  EXPECT_EQ(stage.winner()->value,
            FieldValue{std::string("released_on_bail")});  // later clock wins the display
  EXPECT_EQ(*amina.store.records().at(interview).field("stage"), stage);
  EXPECT_EQ(*supervisor.store.records().at(interview).field("stage"), stage);

  ASSERT_TRUE(
      supervisor.replica.resolve_field(interview, "stage", std::string("pretrial_detention"), kNow + 600)
          .ok());
  push(supervisor, kNow + 700);
  for (Device* device : {&amina, &bruno, &supervisor}) pull(*device, kNow + 800);
  const RecordState& resolved = server_.records().at(interview).state;
  EXPECT_FALSE(resolved.needs_resolution());
  EXPECT_EQ(resolved.field("stage")->winner()->value, FieldValue{std::string("pretrial_detention")});
  for (Device* device : {&amina, &bruno, &supervisor}) {
    EXPECT_EQ(encode_record_state(device->store.records().at(interview)), encode_record_state(resolved));
  }
}

TEST_F(ReplicaTest, ADeviceAYearAheadIsRefusedThenReissuesItsWritesAtServerTime) {
  const RecordKey interview = record_key(1, 7);
  constexpr std::uint64_t kYear = 365ull * 24 * 3'600'000;
  Device fast(1);
  ASSERT_TRUE(fast.replica.write_fields(interview, {{"stage", std::string("intake")}}, kNow + kYear).ok());
  ASSERT_TRUE(fast.replica.write_fields(interview, {{"stage", std::string("trial")}}, kNow + kYear + 1).ok());
  push(fast, kNow);
  ASSERT_EQ(last_response_.verdicts.size(), 2u);
  EXPECT_EQ(last_response_.verdicts[0].reason.code, "clock_skew");
  EXPECT_EQ(fast.store.outbox().size(), 2u);  // re-issued, not lost
  push(fast, kNow + 10);
  EXPECT_EQ(last_response_.verdicts[0].kind, VerdictKind::accepted);
  EXPECT_TRUE(fast.store.outbox().empty());
  pull(fast, kNow + 20);
  const RecordState& state = server_.records().at(interview).state;
  EXPECT_FALSE(state.needs_resolution());
  EXPECT_EQ(state.field("stage")->winner()->value, FieldValue{std::string("trial")});
  EXPECT_LE(state.field("stage")->winner()->hlc.wall_millis(), kNow + 10);
  EXPECT_EQ(encode_record_state(fast.store.records().at(interview)), encode_record_state(state));
}

}  // namespace
}  // namespace casefile::sync
