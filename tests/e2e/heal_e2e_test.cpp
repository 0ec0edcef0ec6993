// Issue 11's restore from an old backup, end to end (docs/operations.md,
// "Restore drill" and "Devices heal a restored server"): casefile-admin backs
// up a serving casefiled, devices push 1,000 more changes and pull each
// other's, one device then goes away for good, the instance is restored from
// the old backup with casefiled stopped, and the remaining devices sync.
// CASEFILE_E2E_SCALE scales the 1,000 changes, and the push batches with
// them, so that every push and relay still spans several batches (make test
// runs a tenth of it, make soak all of it).
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/e2e/e2e_fixture.hpp"
#include "tests/support/server_change_log.hpp"

namespace casefile::e2e {
namespace {

namespace fs = std::filesystem;

constexpr const char* kBackupPassphrase = "e2e backup passphrase, not a secret";

using HealE2eTest = E2eTest;

std::vector<json::object> notes_of(E2eDevice& device, const std::string& case_id) {
  return sorted_records(device.ok({"show", "--case", case_id, "--collection", "notes"}));
}

TEST_F(HealE2eTest, DevicesRestoreEveryChangeTheOldBackupLacksEachOnceWithItsOriginalSignature) {
  const fs::path passphrase_file = scratch() / "backup-passphrase";
  std::ofstream(passphrase_file) << kBackupPassphrase << "\n";
  const fs::path backup_key = scratch() / "backup.key";
  server().admin_ok({"backup-key", "init", "--to", backup_key.string(), "--backup-passphrase-file",
                     passphrase_file.string()});
  const auto with_key = [&](std::vector<std::string> arguments) {
    arguments.insert(arguments.end(), {"--backup-key", backup_key.string(), "--backup-passphrase-file",
                                       passphrase_file.string()});
    return arguments;
  };

  // alice's two tablets and bob's, on one case they all may read.
  auto devices = enrol_devices({DeviceRequest("alice"), DeviceRequest("alice"), DeviceRequest("bob")});
  E2eDevice& gone = *devices[0];  // goes away after the backup, for good
  E2eDevice& alice = *devices[1];
  E2eDevice& bob = *devices[2];
  const std::string case_id = shared_case(gone, {"bob"});
  const fs::path backup = scratch() / "old.backup";
  server().admin_ok({"backup", "--to", backup.string(), "--include-server-secrets"});

  // 1,000 changes after the backup. Only bob and alice pull the 400 of the
  // device that then goes away; bob does not pull alice's 300 before the
  // restore. (Each first syncs to receive the case key.) Pushed in batches of
  // 150, so each device's notes take several.
  const int gone_notes = scaled(400);
  const int bob_notes = scaled(300);
  const int alice_notes = scaled(300);
  const int total_notes = gone_notes + bob_notes + alice_notes;
  const std::string batch = std::to_string(scaled(150));
  add_notes(gone, case_id, gone_notes);
  gone.ok({"sync", "--batch", batch});
  bob.ok({"sync", "--batch", batch});
  add_notes(bob, case_id, bob_notes);
  bob.ok({"sync", "--batch", batch});
  alice.ok({"sync", "--batch", batch});
  add_notes(alice, case_id, alice_notes);
  alice.ok({"sync", "--batch", batch});
  const auto served = test_support::server_change_log(server().instance());

  // The restore drill: casefiled stopped, a new empty instance where the old
  // one was, the databases and the server secrets restored, casefiled started.
  server().kill();
  fs::rename(server().instance(), scratch() / "lost-instance");
  server().admin_ok({"init", "--instance", server().instance().string()});
  server().admin_ok(with_key({"restore", backup.string()}));
  server().admin_ok(with_key({"restore", backup.string() + ".secrets"}));
  const auto restored = test_support::server_change_log(server().instance());
  ASSERT_EQ(restored.size() + static_cast<std::size_t>(total_notes), served.size());
  server().start();

  // bob heals with what he holds: his own 300 and the gone device's 400.
  const json::object bob_heal = bob.ok({"sync", "--batch", batch});
  EXPECT_EQ(bob_heal.at("healed"), true) << json::serialize(bob_heal);
  EXPECT_EQ(bob_heal.at("relayed_accepted"), bob_notes + gone_notes) << json::serialize(bob_heal);
  EXPECT_EQ(bob_heal.at("relayed_refused"), 0) << json::serialize(bob_heal);
  // alice relays everything she holds: only her own 300 are new to the server.
  const json::object alice_heal = alice.ok({"sync", "--batch", batch});
  EXPECT_EQ(alice_heal.at("healed"), true) << json::serialize(alice_heal);
  EXPECT_EQ(alice_heal.at("relayed_accepted"), alice_notes) << json::serialize(alice_heal);
  bob.ok({"sync"});

  // Every change exactly once, each under the batch signature it was first
  // accepted with (author, sequence, bytes and signature).
  EXPECT_TRUE(test_support::server_change_log(server().instance()) == served)
      << "the server holds " << test_support::server_change_log(server().instance()).size() << " changes of "
      << served.size();
  const auto bob_holds = notes_of(bob, case_id);
  EXPECT_EQ(bob_holds.size(), static_cast<std::size_t>(total_notes));
  EXPECT_TRUE(notes_of(alice, case_id) == bob_holds) << "alice and bob did not converge";
}

}  // namespace
}  // namespace casefile::e2e
