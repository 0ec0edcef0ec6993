// Two real devices and a real casefiled: offline edits converge, concurrent
// edits of one field are a visible conflict until a person resolves it, and
// a device that stayed offline for 10,000 changes syncs every one of them.
#include <gtest/gtest.h>

#include "tests/e2e/e2e_fixture.hpp"

namespace casefile::e2e {
namespace {

class DeviceSyncTest : public E2eTest {};

const json::object& field_of(const json::object& record, const std::string& name) {
  return record.at("fields").as_object().at(name).as_object();
}

// The one record `show --record R` answers with.
json::object shown_record(E2eDevice& device, const std::string& case_id, const std::string& collection,
                          const std::string& record_id) {
  const auto shown =
      device.ok({"show", "--case", case_id, "--collection", collection, "--record", record_id});
  const auto& records = shown.at("records").as_array();
  if (records.size() != 1) throw std::runtime_error("show --record gave " + json::serialize(shown));
  return records.front().as_object();
}

TEST_F(DeviceSyncTest, TwoDevicesEditingOfflineConvergeToIdenticalState) {
  auto devices = enrol_devices({{"alice"}, {"bob"}});
  E2eDevice& alice = *devices[0];
  E2eDevice& bob = *devices[1];
  const std::string shared = shared_case(alice, {"bob"});
  bob.ok({"sync"});

  // Offline on both: different fields of the shared case, new records in it,
  // and a case of bob's own with a sealed summary.
  alice.ok({"record", "edit", "--case", shared, "--collection", "cases", "--record", shared, "--set",
            "province=East", "--set", "juvenile=true"});
  const auto notes =
      alice.ok({"note", "add", "--case", shared, "--set", "body=seen at the station", "--repeat", "3"});
  alice.ok({"interview", "add", "--case", shared, "--set", "held_on=2026-11-20", "--set",
            "place_type=detention_centre", "--set", "status=draft", "--set", "notes=asked for a doctor"});
  bob.ok({"record", "edit", "--case", shared, "--collection", "cases", "--record", shared, "--set",
          "stage=trial", "--set", "interpreter_needed=true"});
  bob.ok({"record", "add", "--case", shared, "--collection", "tasks", "--set", "kind=hearing", "--set",
          "due_on=2026-12-01", "--repeat", "2"});
  std::vector<std::string> own_case = {"case", "new", "--set", "summary=bob's own case"};
  for (const auto& field : case_fields()) own_case.push_back(field);
  const std::string bobs = std::string(bob.ok(own_case).at("case_id").as_string());

  alice.ok({"sync"});
  bob.ok({"sync"});
  server().add_case_member(bobs, "alice");
  alice.ok({"sync"});

  const auto on_alice = sorted_records(alice.ok({"show"}));
  const auto on_bob = sorted_records(bob.ok({"show"}));
  // 2 cases records, 3 notes, 1 interview, 2 tasks.
  ASSERT_EQ(on_alice.size(), 8u) << json::serialize(json::value_from(on_alice));
  EXPECT_EQ(json::serialize(without_sealed_plaintext(on_alice)),
            json::serialize(without_sealed_plaintext(on_bob)));

  // Edits of different fields merged without conflict, the same on both.
  for (auto* device : {&alice, &bob}) {
    const auto record = shown_record(*device, shared, "cases", shared);
    EXPECT_EQ(field_of(record, "province").at("value"), "East") << device->name();
    EXPECT_EQ(field_of(record, "juvenile").at("value"), true) << device->name();
    EXPECT_EQ(field_of(record, "stage").at("value"), "trial") << device->name();
    EXPECT_EQ(field_of(record, "interpreter_needed").at("value"), true) << device->name();
    EXPECT_FALSE(field_of(record, "stage").at("conflict").as_bool()) << device->name();
  }
  // Each device reads the sealed values of the cases it holds the key of.
  for (const auto& note : notes.at("records").as_array()) {
    const auto record = shown_record(alice, shared, "notes", text_of(note.at("record_id")));
    EXPECT_EQ(field_of(record, "body").at("value"), "seen at the station");
    EXPECT_TRUE(field_of(record, "body").at("sealed").as_bool());
  }
  EXPECT_EQ(field_of(shown_record(bob, bobs, "cases", bobs), "summary").at("value"), "bob's own case");
}

TEST_F(DeviceSyncTest, AConcurrentEditOfOneFieldIsAConflictOnBothDevicesUntilResolvedOnOne) {
  auto devices = enrol_devices({{"alice"}, {"bob"}});
  E2eDevice& alice = *devices[0];
  E2eDevice& bob = *devices[1];
  const std::string shared = shared_case(alice, {"bob"});
  bob.ok({"sync"});

  alice.ok({"record", "edit", "--case", shared, "--collection", "cases", "--record", shared, "--set",
            "stage=trial"});
  bob.ok({"record", "edit", "--case", shared, "--collection", "cases", "--record", shared, "--set",
          "stage=appeal"});
  alice.ok({"sync"});
  bob.ok({"sync"});
  alice.ok({"sync"});

  std::string winner_on_alice;
  for (auto* device : {&alice, &bob}) {
    const auto listed = device->ok({"conflicts"});
    const auto& conflicts = listed.at("conflicts").as_array();
    ASSERT_EQ(conflicts.size(), 1u) << device->name() << ": " << json::serialize(listed);
    const auto& conflict = conflicts.front().as_object();
    EXPECT_EQ(conflict.at("record_id"), json::value(shared));
    EXPECT_EQ(conflict.at("collection"), "cases");
    EXPECT_EQ(conflict.at("field"), "stage");
    std::multiset<std::string> values;
    std::set<std::string> authors;
    for (const auto& sibling : conflict.at("siblings").as_array()) {
      values.insert(text_of(sibling.at("value")));
      authors.insert(text_of(sibling.at("author")));
    }
    EXPECT_EQ(values, (std::multiset<std::string>{"appeal", "trial"})) << device->name();
    EXPECT_EQ(authors, (std::set<std::string>{alice.id(), bob.id()})) << device->name();

    const auto record = shown_record(*device, shared, "cases", shared);
    EXPECT_TRUE(field_of(record, "stage").at("conflict").as_bool()) << device->name();
    // Both show the same deterministic winner.
    const std::string winner = text_of(field_of(record, "stage").at("value"));
    if (device == &alice) winner_on_alice = winner;
    EXPECT_EQ(winner, winner_on_alice) << device->name();
  }

  bob.ok({"resolve", "--case", shared, "--collection", "cases", "--record", shared, "--field", "stage",
          "--value", "prosecution_review"});
  bob.ok({"sync"});
  alice.ok({"sync"});
  for (auto* device : {&alice, &bob}) {
    EXPECT_TRUE(device->ok({"conflicts"}).at("conflicts").as_array().empty()) << device->name();
    const auto record = shown_record(*device, shared, "cases", shared);
    EXPECT_EQ(field_of(record, "stage").at("value"), "prosecution_review") << device->name();
    EXPECT_FALSE(field_of(record, "stage").at("conflict").as_bool()) << device->name();
    EXPECT_EQ(device->ok({"status"}).at("fields_in_conflict"), 0) << device->name();
  }
}

TEST_F(DeviceSyncTest, ADeviceOfflineForTenThousandChangesSyncsThemAll) {
  auto devices = enrol_devices({{"alice"}, {"bob"}});
  E2eDevice& alice = *devices[0];
  E2eDevice& bob = *devices[1];
  const std::string shared = shared_case(alice, {"bob"});

  // A few calls, each paying for scrypt once. CASEFILE_E2E_SCALE scales the
  // 10,000 (make test runs 1,000: still two push batches and two pull pages
  // of 500; make soak all of it).
  const int per_call = scaled(5000);
  const auto total = static_cast<std::size_t>(2 * per_call);
  std::multiset<std::string> written;
  for (int call = 0; call < 2; ++call) {
    const auto added =
        alice.ok({"note", "add", "--case", shared, "--set", "body=offline note " + std::to_string(call),
                  "--repeat", std::to_string(per_call)});
    const auto ids = record_ids(added.at("records").as_array());
    written.insert(ids.begin(), ids.end());
  }
  ASSERT_EQ(written.size(), total);
  ASSERT_EQ(std::set<std::string>(written.begin(), written.end()).size(), total);
  EXPECT_EQ(alice.ok({"status"}).at("outbox_depth"), static_cast<std::int64_t>(total));

  const auto pushed = alice.ok({"sync"});
  EXPECT_EQ(pushed.at("accepted"), static_cast<std::int64_t>(total)) << json::serialize(pushed);
  EXPECT_EQ(pushed.at("quarantined"), 0);
  EXPECT_EQ(alice.ok({"status"}).at("outbox_depth"), 0);

  bob.ok({"sync"});
  const auto on_bob = bob.ok({"show", "--case", shared, "--collection", "notes"});
  EXPECT_EQ(record_ids(on_bob.at("records").as_array()), written);
}

}  // namespace
}  // namespace casefile::e2e
