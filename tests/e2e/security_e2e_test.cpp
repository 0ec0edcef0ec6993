// The device against the threats of DESIGN §1, end to end: a server whose
// certificate is not the pinned one is refused before anything is sent, a
// revoked device wipes itself on its next contact, and no sealed value is
// ever written in the clear to a device's files or the server's.
#include <gtest/gtest.h>

#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "tests/e2e/e2e_fixture.hpp"
#include "tests/e2e/tcp_fault_proxy.hpp"

namespace casefile::e2e {
namespace {

namespace fs = std::filesystem;

class DeviceSecurityTest : public E2eTest {
 protected:
  // A unique string from the seed, to look for in files.
  std::string new_marker() {
    std::ostringstream text;
    text << "casefile-marker-" << std::hex << std::setw(16) << std::setfill('0') << random()() << random()();
    return text.str();
  }
};

// Whether a field of `show`'s records is sealed and reads `value`.
bool holds_sealed_value(const json::object& shown, const std::string& value) {
  for (const auto& record : shown.at("records").as_array()) {
    for (const auto& [name, field] : record.at("fields").as_object()) {
      if (field.at("sealed").as_bool() && field.at("value") == json::value(value)) return true;
    }
  }
  return false;
}

// The number of requests casefiled answered on /v1/ routes, from its metrics.
std::size_t v1_requests_in(const std::string& metrics) {
  std::size_t count = 0;
  for (auto at = metrics.find("route=\"/v1/"); at != std::string::npos;
       at = metrics.find("route=\"/v1/", at + 1)) {
    ++count;
  }
  return count;
}

TEST_F(DeviceSecurityTest, EnrolmentWithAWrongServerPinIsRefusedAndReachesNothing) {
  server().add_user("carol");
  json::object payload = server().enrolment_payload("carol");
  json::object wrong = payload;
  std::string pin = std::string(wrong.at("pin").as_string());
  pin[0] = pin[0] == 'A' ? 'B' : 'A';  // another 32-byte digest, still well formed
  wrong["pin"] = pin;

  auto device = new_device("carol");
  const auto refused = device->run({"enrol", json::serialize(wrong)});
  EXPECT_EQ(refused.error_code(), "pin_mismatch") << refused.describe();
  EXPECT_EQ(refused.exit_code, 1) << refused.describe();
  // The server never saw the enrolment: no device for carol, and the
  // single-use code still works for a device given the right pin.
  EXPECT_EQ(server().devices("carol").size(), 0u);
  auto retry = new_device("carol");
  EXPECT_EQ(retry->ok({"enrol", json::serialize(payload)}).at("state"), "pending");
  EXPECT_EQ(server().devices("carol").size(), 1u);
}

TEST_F(DeviceSecurityTest, SyncWithAServerPresentingAnotherCertificateIsRefusedAndSendsNothing) {
  TcpFaultProxy proxy(server().port());
  auto devices = enrol_devices({{"alice", proxy.url()}});
  E2eDevice& alice = *devices[0];
  const std::string own = shared_case(alice, {});
  add_notes(alice, own, 5);

  // Another casefiled, with a TLS key of its own, where the device's server should be.
  E2eServer impostor(scratch() / "impostor", scratch() / "impostor.log", runner());
  impostor.start();
  proxy.set_upstream(impostor.port());
  const auto refused = alice.run({"sync"});
  EXPECT_EQ(refused.error_code(), "pin_mismatch") << refused.describe();
  EXPECT_EQ(refused.exit_code, 1) << refused.describe();
  EXPECT_EQ(alice.ok({"status"}).at("outbox_depth"), 5);
  EXPECT_EQ(v1_requests_in(impostor.metrics()), 0u) << impostor.metrics();

  // The same device, back on its real server, pushes what it kept.
  proxy.set_upstream(server().port());
  const auto synced = alice.ok({"sync"});
  EXPECT_EQ(synced.at("accepted"), 5) << json::serialize(synced);
}

TEST_F(DeviceSecurityTest, ARevokedDeviceObeysTheWipeOrderOnItsNextSyncAndLeavesNoFile) {
  auto devices = enrol_devices({{"alice"}});
  E2eDevice& alice = *devices[0];
  const std::string own = shared_case(alice, {});
  add_notes(alice, own, 3);
  ASSERT_FALSE(regular_files(alice.directory()).empty());

  server().admin_ok({"revoke", "--device", alice.id(), "--reason", "seized at the gate"});
  const auto wiped = alice.run({"sync"});
  EXPECT_EQ(wiped.exit_code, 6) << wiped.describe();
  EXPECT_EQ(regular_files(alice.directory()), std::vector<fs::path>{});
  // Nothing is left to unlock.
  EXPECT_EQ(alice.run({"status"}).exit_code, 4);
}

TEST_F(DeviceSecurityTest, NoSealedMarkerAppearsInAnyDeviceFileOrServerFile) {
  auto devices = enrol_devices({{"alice"}, {"bob"}});
  E2eDevice& alice = *devices[0];
  E2eDevice& bob = *devices[1];
  std::vector<std::string> markers;
  for (int i = 0; i < 10; ++i) markers.push_back(new_marker());

  // Sealed fields of every kind of record, on both devices.
  const auto write_case = [&](E2eDevice& device, const std::string& summary, const std::string& charges) {
    std::vector<std::string> arguments = {
        "case", "new", "--set", "summary=" + summary, "--set", "charges=" + charges};
    for (const auto& field : case_fields()) arguments.push_back(field);
    return std::string(device.ok(arguments).at("case_id").as_string());
  };
  const std::string alices = write_case(alice, markers[0], markers[1]);
  alice.ok({"record", "add", "--case", alices, "--collection", "clients", "--set", "age_band=18_plus",
            "--set", "names=" + markers[2], "--set", "address=" + markers[3]});
  alice.ok({"interview", "add", "--case", alices, "--set", "held_on=2026-11-20", "--set",
            "place_type=police_station", "--set", "status=draft", "--set", "notes=" + markers[4], "--set",
            "custody_treatment=" + markers[5]});
  alice.ok({"note", "add", "--case", alices, "--set", "body=" + markers[6]});
  const std::string bobs = write_case(bob, markers[7], "none yet");
  bob.ok({"record", "add", "--case", bobs, "--collection", "clients", "--set", "age_band=16_17", "--set",
          "juvenile=true", "--set", "names=" + markers[8]});
  bob.ok({"interview", "add", "--case", bobs, "--set", "held_on=2026-11-21", "--set",
          "place_type=detention_centre", "--set", "status=draft", "--set", "notes=" + markers[9]});

  // Members are added before the first pull of each (a member added later
  // does not receive the changes its device's pull cursor has already passed).
  alice.ok({"sync"});
  server().add_case_member(alices, "bob");
  bob.ok({"sync"});
  server().add_case_member(bobs, "alice");
  alice.ok({"sync"});

  // The markers really are sealed values their writers read back, and each
  // device holds the other's records (as envelopes it cannot open).
  const auto on_alice = alice.ok({"show"});
  const auto on_bob = bob.ok({"show"});
  const auto count_in = [](const json::object& shown, const std::string& case_id) {
    std::size_t count = 0;
    for (const auto& record : shown.at("records").as_array())
      count += record.at("case") == json::value(case_id);
    return count;
  };
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(holds_sealed_value(i < 7 ? on_alice : on_bob, markers[i])) << "marker " << i;
  }
  EXPECT_EQ(count_in(on_alice, bobs), 3u);
  EXPECT_EQ(count_in(on_bob, alices), 4u);

  // Every file: both device directories, the whole instance (casefile.db,
  // its WAL, control.db, keys.db, ...), and casefiled's log; after a kill,
  // so that the WAL is left as a crash would leave it.
  server().kill();
  const std::vector<fs::path> scanned = {alice.directory(), bob.directory(), server().instance(),
                                         server().log_file()};
  std::size_t files = 0;
  for (const auto& place : scanned) files += regular_files(place).size();
  std::cout << "scanning " << files << " files for " << markers.size() << " markers" << std::endl;
  ASSERT_GT(files, 6u);
  for (const auto& marker : markers) {
    EXPECT_EQ(files_containing(scanned, marker), std::vector<fs::path>{}) << marker;
  }

  // The scan can fail: a marker written in the clear into a device directory is found.
  const fs::path planted = alice.directory() / "planted-in-the-clear.txt";
  std::ofstream(planted, std::ios::binary) << "before " << markers[4] << " after";
  EXPECT_EQ(files_containing(scanned, markers[4]), std::vector<fs::path>{planted});
}

}  // namespace
}  // namespace casefile::e2e
