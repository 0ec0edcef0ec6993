// The pure keyring steps of the sync round (device/internal/keyring_sync.hpp):
// GET /v1/keys decoded strictly, which cases are refreshed, and that held
// epochs are wrapped only to head members that lack them.
#include "device/internal/keyring_sync.hpp"

#include <gtest/gtest.h>

namespace casefile::device::internal {
namespace {

sync::CaseId case_number(std::uint8_t n) {
  sync::CaseId id;
  id.bytes.fill(n);
  return id;
}

sync::DeviceId device_number(std::uint8_t n) {
  sync::DeviceId id;
  id.bytes.fill(n);
  return id;
}

TEST(KeyringIndex, DecodesEveryCaseAndItsHeadEpoch) {
  const std::string body = R"({"cases": [{"case": ")" + sync::to_text(case_number(1)) +
                           R"(", "head_epoch": 3}, {"head_epoch": 1, "case": ")" +
                           sync::to_text(case_number(2)) + R"("}]})";
  auto heads = decode_keyring_index(body);
  ASSERT_TRUE(heads.ok()) << heads.error().message;
  EXPECT_EQ(*heads, (std::vector<ServerKeyringHead>{{case_number(1), 3}, {case_number(2), 1}}));
  auto empty = decode_keyring_index(R"({"cases": []})");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(KeyringIndex, RefusesEveryMalformedAnswer) {
  const std::string id = sync::to_text(case_number(1));
  for (const std::string& body : {
           std::string(R"({})"),
           std::string(R"({"cases": {}})"),
           std::string(R"({"cases": [], "more": 1})"),
           R"({"cases": [{"case": ")" + id + R"(", "head_epoch": 0}]})",
           R"({"cases": [{"case": ")" + id + R"(", "head_epoch": 2147483648}]})",
           R"({"cases": [{"case": ")" + id + R"(", "head_epoch": "1"}]})",
           R"({"cases": [{"case": ")" + id + R"(", "head_epoch": 1, "extra": true}]})",
           std::string(R"({"cases": [{"case": "not-an-id", "head_epoch": 1}]})"),
           R"({"cases": [{"case": ")" + id + R"(", "head_epoch": 1}, {"case": ")" + id +
               R"(", "head_epoch": 2}]})",
           std::string(R"({"cases": [)"),
       }) {
    auto heads = decode_keyring_index(body);
    ASSERT_FALSE(heads.ok()) << body;
    EXPECT_EQ(heads.error().code, "bad_response") << body;
  }
}

TEST(KeyringRefresh, FetchesCasesWhoseHeadMovedOrWhoseEpochsAreNotSharedOrNotAllHeld) {
  const std::vector<ServerKeyringHead> server{{case_number(1), 2},
                                              {case_number(2), 1},
                                              {case_number(3), 4},
                                              {case_number(4), 1},
                                              {case_number(6), 3}};
  const std::vector<KeyringHeadSummary> local{
      {case_number(1), 2, true, true},    // unchanged, shared, complete: nothing to do
      {case_number(2), 1, false, true},   // unchanged, sharing not done
      {case_number(3), 3, true, true},    // the server has a newer head
      {case_number(5), 1, true, true},    // not on the server's list: left alone
      {case_number(6), 3, true, false}};  // an earlier epoch's key is still missing here
  EXPECT_EQ(cases_to_refresh(server, local),
            (std::vector<sync::CaseId>{case_number(2), case_number(3), case_number(4), case_number(6)}));
}

TEST(HeldEpochSharing, WrapsOnlyToHeadMembersThatLackAnEpoch) {
  sync::KeyringManifest head;
  head.epoch = 3;
  head.members = {device_number(1), device_number(2), device_number(3)};
  const sync::DeviceId self = device_number(1);
  const std::vector<std::uint32_t> held{1, 2, 3};
  const std::map<std::uint32_t, std::vector<sync::DeviceId>> recipients{
      // device 9 holds epoch 1 but is not in the head: it gets nothing more.
      {1, {sync::DeviceId{}, device_number(1), device_number(9)}},
      {2, {sync::DeviceId{}, device_number(1), device_number(2)}},
      {3, {sync::DeviceId{}, device_number(1), device_number(2), device_number(3)}}};
  const auto plan = plan_held_epoch_sharing(head, self, held, recipients);
  EXPECT_EQ(plan, (std::map<std::uint32_t, std::vector<sync::DeviceId>>{
                      {1, {device_number(2), device_number(3)}}, {2, {device_number(3)}}}));
}

TEST(HeldEpochSharing, OnlyEpochsThisDeviceHoldsAreShared) {
  sync::KeyringManifest head;
  head.epoch = 2;
  head.members = {device_number(1), device_number(2)};
  const std::vector<std::uint32_t> held{2};  // epoch 1 never reached this device
  const auto plan = plan_held_epoch_sharing(head, device_number(1), held, {});
  EXPECT_EQ(plan, (std::map<std::uint32_t, std::vector<sync::DeviceId>>{{2, {device_number(2)}}}));
}

TEST(KeyringRecipients, ListsEachEpochsRecipients) {
  const std::string body =
      R"({"case": "x", "epochs": [{"epoch": 1, "manifest": "AA", "wrap": null, "recipients": [")" +
      sync::to_text(sync::DeviceId{}) + R"(", ")" + sync::to_text(device_number(4)) +
      R"("]}, {"epoch": 2, "manifest": "AA", "wrap": null, "recipients": []}]})";
  auto recipients = decode_keyring_recipients(body);
  ASSERT_TRUE(recipients.ok()) << recipients.error().message;
  EXPECT_EQ(*recipients, (std::map<std::uint32_t, std::vector<sync::DeviceId>>{
                             {1, {sync::DeviceId{}, device_number(4)}}, {2, {}}}));
  for (const std::string bad : {R"({"epochs": [{"epoch": 1, "recipients": ["nope"]}]})",
                                R"({"epochs": [{"epoch": 1, "recipients": "all"}]})",
                                R"({"epochs": [{"epoch": 1}, {"epoch": 1}]})", R"({"epochs": 3})"}) {
    auto refused = decode_keyring_recipients(bad);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_EQ(refused.error().code, "bad_response");
  }
}

}  // namespace
}  // namespace casefile::device::internal
