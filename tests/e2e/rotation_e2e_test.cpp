// Case-key rotation end to end (issue #7): real casefiled, casefile-admin and
// casefile-device processes. The member-add path (a colleague added to a case
// reads its earlier values once the creating device has synced) and flow 1
// (rotating one case and every case: new writes use the new epoch, old values
// stay readable, a device offline during the rotation catches up) share one
// test, since each test enrols its own devices; flow 7:
// re-encryption, after which the other device reads every value under the
// newest epoch. (Flows 2, 3 and 8 are in keys_e2e_test.cpp.)
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "tests/e2e/e2e_fixture.hpp"

namespace casefile::e2e {
namespace {

class CaseKeyRotationTest : public E2eTest {
 protected:
  // The `notes` of `case_id` on `device`, by body: the epoch each was sealed
  // under, or 0 when the device cannot open it.
  static std::map<std::string, std::int64_t> note_epochs(E2eDevice& device, const std::string& case_id) {
    std::map<std::string, std::int64_t> epochs;
    const auto shown = device.ok({"show", "--case", case_id, "--collection", "notes"});
    int unreadable = 0;
    for (const auto& record : shown.at("records").as_array()) {
      const auto& body = record.at("fields").as_object().at("body").as_object();
      if (body.contains("unreadable")) {
        epochs["(unreadable " + std::to_string(++unreadable) + ")"] = 0;
        continue;
      }
      epochs[std::string(body.at("value").as_string())] = body.at("epoch").as_int64();
    }
    return epochs;
  }

  static void add_note(E2eDevice& device, const std::string& case_id, const std::string& body) {
    device.ok({"note", "add", "--case", case_id, "--set", "body=" + body});
  }

  std::string new_case(E2eDevice& owner) {
    std::vector<std::string> arguments = {"case", "new"};
    for (const auto& field : case_fields()) arguments.push_back(field);
    return std::string(owner.ok(arguments).at("case_id").as_string());
  }
};

TEST_F(CaseKeyRotationTest,
       AnAddedColleagueReadsEarlierValuesAndRotatedCasesWriteUnderTheNewEpochOfflineDevicesToo) {
  auto devices = enrol_devices({{"alice"}, {"bob"}});
  E2eDevice& alice = *devices[0];
  E2eDevice& bob = *devices[1];
  const std::string first = new_case(alice);
  const std::string second = new_case(alice);
  add_note(alice, first, "before any rotation");
  alice.ok({"sync"});
  // The member-add path: the admin's epoch 2 reaches bob's device, epoch 1
  // only once alice's device (which holds it) has synced.
  server().add_case_member(first, "bob");
  bob.ok({"sync"});
  const auto before_sharing = note_epochs(bob, first);
  ASSERT_EQ(before_sharing.size(), 1u);
  EXPECT_EQ(before_sharing.begin()->second, 0) << before_sharing.begin()->first;  // unreadable yet
  alice.ok({"sync"});  // wraps epoch 1 to bob's device, a member of the authority-signed head
  bob.ok({"sync"});
  EXPECT_EQ(note_epochs(bob, first), (std::map<std::string, std::int64_t>{{"before any rotation", 1}}));

  // One case, while bob's device is offline.
  server().admin_ok({"keys", "rotate", "--case", first});
  alice.ok({"sync"});
  add_note(alice, first, "after the rotation");
  add_note(bob, first, "offline during the rotation");  // bob's device still knows epoch 2 only
  alice.ok({"sync"});
  EXPECT_EQ(note_epochs(alice, first)["after the rotation"], 3);

  // bob's device comes back: it sends what it wrote, learns epoch 3, writes under it.
  bob.ok({"sync"});
  add_note(bob, first, "back online");
  bob.ok({"sync"});
  alice.ok({"sync"});
  const std::map<std::string, std::int64_t> expected{{"before any rotation", 1},
                                                     {"offline during the rotation", 2},
                                                     {"after the rotation", 3},
                                                     {"back online", 3}};
  EXPECT_EQ(note_epochs(bob, first), expected);    // old values stay readable
  EXPECT_EQ(note_epochs(alice, first), expected);  // and alice reads bob's

  // Every case.
  const auto rotated = server().admin_ok({"keys", "rotate", "--all"});
  alice.ok({"sync"});
  bob.ok({"sync"});
  add_note(alice, first, "after rotating all");
  add_note(alice, second, "second case after rotating all");
  add_note(bob, first, "bob after rotating all");
  EXPECT_EQ(note_epochs(alice, first)["after rotating all"], 4) << json::serialize(rotated);
  EXPECT_EQ(note_epochs(alice, second)["second case after rotating all"], 2) << json::serialize(rotated);
  EXPECT_EQ(note_epochs(bob, first)["bob after rotating all"], 4);
  EXPECT_EQ(note_epochs(bob, first)["before any rotation"], 1);
}

TEST_F(CaseKeyRotationTest, ReencryptionLeavesTheOtherDeviceReadingEveryValueUnderTheNewestEpoch) {
  auto devices = enrol_devices({{"alice"}, {"bob"}});
  E2eDevice& alice = *devices[0];
  E2eDevice& bob = *devices[1];
  const std::string case_id = shared_case(alice, {"bob"});
  alice.ok({"note", "add", "--case", case_id, "--set", "body=an early note", "--repeat", "3"});
  add_note(alice, case_id, "a later note");
  alice.ok({"sync"});
  server().admin_ok({"keys", "rotate", "--case", case_id});
  alice.ok({"sync"});

  const auto report = alice.ok({"reencrypt", "--case", case_id});
  EXPECT_EQ(report.at("values_rewritten"), 4) << json::serialize(report);
  const auto again = alice.ok({"reencrypt", "--case", case_id});
  EXPECT_EQ(again.at("values_rewritten"), 0) << json::serialize(again);
  alice.ok({"sync"});
  bob.ok({"sync"});

  const std::int64_t newest = report.at("epoch").as_int64();
  const auto shown = bob.ok({"show", "--case", case_id});
  int sealed = 0;
  for (const auto& record : shown.at("records").as_array()) {
    for (const auto& [name, field] : record.at("fields").as_object()) {
      if (!field.at("sealed").as_bool() || field.at("value").is_null()) continue;
      ++sealed;
      EXPECT_FALSE(field.as_object().contains("unreadable")) << name << ": " << json::serialize(field);
      EXPECT_EQ(field.at("epoch"), newest) << name;
    }
  }
  EXPECT_EQ(sealed, 4);
}

}  // namespace
}  // namespace casefile::e2e
