// Server and device secrets rotated under a real casefiled (issue 7, flows 4,
// 5 and 6): the database key while a device pushes, the TLS certificate with
// its next pin announced in advance, and a device's passphrase and storage key.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "schema/database.hpp"
#include "server/sync_api/database_key_file.hpp"
#include "server/sync_api/database_key_rotation.hpp"
#include "sync/tls_pin_statement.hpp"
#include "tests/e2e/e2e_fixture.hpp"

namespace casefile::e2e {
namespace {

// Rotations tried while one long sync runs; the test needs one to overlap it.
constexpr int kMostRotations = 20;

class SecretsTest : public E2eTest {
 protected:
  std::filesystem::path database_key_file() { return server().instance() / "database.key"; }

  crypto::SecretBytes database_key() {
    auto key = server::read_database_key_file(database_key_file());
    if (!key.ok()) throw std::runtime_error("cannot read database.key: " + key.error().message);
    return std::move(key).value();
  }

  // casefile-device with `passphrase` (and `new_passphrase`, for passphrase change).
  CommandResult device_with(E2eDevice& device, const std::string& passphrase,
                            const std::vector<std::string>& arguments,
                            const std::string& new_passphrase = "") {
    std::vector<std::string> command = {CASEFILE_DEVICE_BINARY, "--dir", device.directory().string(),
                                        "--json"};
    command.insert(command.end(), arguments.begin(), arguments.end());
    Environment environment{{"CASEFILE_DEVICE_PASSPHRASE", passphrase}};
    if (!new_passphrase.empty()) environment["CASEFILE_DEVICE_NEW_PASSPHRASE"] = new_passphrase;
    return run_command(command, environment,
                       runner().next_output_prefix(device.name() + "-" + arguments.front()));
  }

  // Waits (bounded) until casefiled has logged `event` `count` times.
  void wait_for_log(const std::string& event, int count) {
    const auto give_up = std::chrono::steady_clock::now() + kCommandDeadline;
    while (std::chrono::steady_clock::now() < give_up) {
      std::ifstream in(server().log_file());
      std::stringstream text;
      text << in.rdbuf();
      const std::string log = text.str();
      int found = 0;
      for (std::size_t at = log.find("\"" + event + "\""); at != std::string::npos;
           at = log.find("\"" + event + "\"", at + 1)) {
        ++found;
      }
      if (found >= count) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    FAIL() << "casefiled never logged " << event;
  }
};

TEST_F(SecretsTest, DatabaseKeyRotatesWhileADevicePushesAndNoWriteIsLost) {
  auto devices = enrol_devices({{"alice"}, {"bob"}});
  E2eDevice& alice = *devices[0];
  E2eDevice& bob = *devices[1];
  const std::string shared = shared_case(alice, {"bob"});
  // Small batches: the sync below is many pushes, each acknowledged on its own.
  std::multiset<std::string> written = add_notes(alice, shared, 200);
  std::vector<crypto::SecretBytes> previous_keys;

  auto sync = alice.start({"sync", "--batch", "5"});
  int overlapping = 0;
  for (int rotation = 0; rotation < kMostRotations && sync->running(); ++rotation) {
    previous_keys.push_back(database_key());
    const auto rotated = server().admin_ok({"database-key", "rotate"});
    EXPECT_EQ(rotated.at("through"), "casefiled");
    // Rotated from start to finish while the sync kept pushing.
    if (sync->running()) ++overlapping;
  }
  const CommandResult pushed = sync->wait();
  // The device saw no error: its pushes waited during each rekey, none failed.
  ASSERT_EQ(pushed.exit_code, 0) << pushed.describe();
  ASSERT_GE(overlapping, 1) << "no rotation ran entirely inside the sync; nothing was proved";
  std::cout << overlapping << " rotations during one sync of 200 notes" << std::endl;

  // More writes after the rotations, then every acknowledged note exactly once.
  const auto more = add_notes(alice, shared, 10);
  written.insert(more.begin(), more.end());
  expect_delivered_exactly_once(alice, bob, shared, written);

  // The same through a restart: casefiled opens every database with the new key.
  server().kill();
  server().start();
  const auto after_restart = add_notes(alice, shared, 5);
  written.insert(after_restart.begin(), after_restart.end());
  expect_delivered_exactly_once(alice, bob, shared, written);

  const auto audit = server().admin_ok({"audit", "--event", "database_key_rotated"});
  EXPECT_EQ(audit.at("entries").as_array().size(), previous_keys.size()) << json::serialize(audit);
  // No earlier key opens any database file; the current one opens all.
  server().kill();
  for (const auto& file : server::instance_database_files(server().instance() / "casefile.db")) {
    for (const auto& old_key : previous_keys) {
      auto opened = schema::Database::open(file, old_key);
      ASSERT_FALSE(opened.ok()) << file;
      EXPECT_EQ(opened.error().code, "wrong_key") << file;
    }
    EXPECT_TRUE(schema::Database::open(file, database_key()).ok()) << file;
  }
  EXPECT_FALSE(std::filesystem::exists(server::next_database_key_path(database_key_file())));
}

TEST_F(SecretsTest, DatabaseKeyRotatesWithCasefiledStoppedAndItStartsUnderTheNewKey) {
  auto devices = enrol_devices({{"alice"}, {"bob"}});
  E2eDevice& alice = *devices[0];
  E2eDevice& bob = *devices[1];
  const std::string shared = shared_case(alice, {"bob"});
  std::multiset<std::string> written = add_notes(alice, shared, 20);
  alice.ok({"sync"});
  const crypto::SecretBytes old_key = database_key();

  server().kill();
  const auto rotated = server().admin_ok({"database-key", "rotate"});
  EXPECT_EQ(rotated.at("through"), "files");
  for (const auto& file : server::instance_database_files(server().instance() / "casefile.db")) {
    auto opened = schema::Database::open(file, old_key);
    ASSERT_FALSE(opened.ok()) << file;
    EXPECT_EQ(opened.error().code, "wrong_key") << file;
  }
  server().start();
  const auto more = add_notes(alice, shared, 5);
  written.insert(more.begin(), more.end());
  expect_delivered_exactly_once(alice, bob, shared, written);
  EXPECT_EQ(server().admin_ok({"audit", "--event", "database_key_rotated"}).at("entries").as_array().size(),
            1u);
}

TEST_F(SecretsTest, TlsCertificateRotatesWithTheNextPinAnnouncedAndAMissedDeviceRepins) {
  auto devices = enrol_devices({{"alice"}, {"carol"}});
  E2eDevice& alice = *devices[0];
  E2eDevice& carol = *devices[1];
  const std::string shared = shared_case(alice, {"carol"});
  carol.ok({"sync"});  // no statement issued yet (404): nothing changes

  const auto prepared = server().admin_ok({"tls", "prepare"});
  EXPECT_EQ(prepared.at("sequence"), 1);
  EXPECT_EQ(text_of(prepared.at("current_pin")), crypto::to_hex(server().pin()));
  const std::string next_pin = text_of(prepared.at("next_pin"));
  const std::string announcement = text_of(prepared.at("statement"));
  alice.ok({"sync"});  // learns the next pin; carol does not sync now

  const auto rotated = server().admin_ok({"tls", "rotate"});
  EXPECT_EQ(rotated.at("reloaded"), true);
  EXPECT_EQ(text_of(rotated.at("current_pin")), next_pin);
  EXPECT_TRUE(rotated.at("next_pin").is_null());
  wait_for_log("tls_reloaded", 1);

  // Alice syncs under the new key with no admin step, and keeps doing so.
  const auto written = add_notes(alice, shared, 3);
  alice.ok({"sync"});
  alice.ok({"sync"});

  // Carol missed the announcement: a clear pin error, and nothing sent.
  const CommandResult refused = carol.run({"sync"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_EQ(refused.error_code(), "pin_mismatch") << refused.describe();

  const auto code = server().admin_ok({"tls", "repin-code"});
  const std::string statement = text_of(code.at("statement"));
  EXPECT_EQ(code.at("sequence"), 2);
  // A forged statement (one bit of the signature flipped) is refused.
  auto forged = sync::tls_pin_statement_from_text(statement).value();
  forged.signature[0] ^= 1;
  const CommandResult forged_result =
      carol.run({"repin", "--statement", sync::tls_pin_statement_to_text(forged)});
  EXPECT_NE(forged_result.exit_code, 0);
  EXPECT_EQ(forged_result.error_code(), "tls_pins_invalid") << forged_result.describe();
  // So is one signed by another authority's key over the same pins.
  auto other_authority = crypto::Ed25519PrivateKey::generate().value();
  auto foreign =
      sync::sign_tls_pin_statement(sync::tls_pin_statement_from_text(statement).value(), other_authority);
  const CommandResult foreign_result =
      carol.run({"repin", "--statement", sync::tls_pin_statement_to_text(foreign.value())});
  EXPECT_EQ(foreign_result.error_code(), "tls_pins_wrong_authority") << foreign_result.describe();

  const auto repinned = carol.ok({"repin", "--statement", statement});
  EXPECT_EQ(text_of(repinned.at("pin")), next_pin);
  // The older announcement is refused once the newer statement is held.
  EXPECT_EQ(carol.run({"repin", "--statement", announcement}).error_code(), "tls_pins_stale");
  carol.ok({"sync"});
  const auto notes = carol.ok({"show", "--case", shared, "--collection", "notes"});
  EXPECT_EQ(record_ids(notes.at("records").as_array()), written);
}

TEST_F(SecretsTest, DevicePassphraseChangeAndStorageKeyRotationKeepEveryRecordAndSync) {
  auto devices = enrol_devices({{"alice"}, {"bob"}});
  E2eDevice& alice = *devices[0];
  E2eDevice& bob = *devices[1];
  const std::string shared = shared_case(alice, {"bob"});
  std::multiset<std::string> written = add_notes(alice, shared, 20);
  alice.ok({"sync"});
  const std::string old_passphrase = "passphrase of " + alice.name();
  const std::string new_passphrase = "a new passphrase for alice";

  const CommandResult changed = device_with(alice, old_passphrase, {"passphrase", "change"}, new_passphrase);
  ASSERT_EQ(changed.exit_code, 0) << changed.describe();
  const CommandResult old_unlock = device_with(alice, old_passphrase, {"unlock"});
  EXPECT_EQ(old_unlock.error_code(), "wrong_passphrase") << old_unlock.describe();
  const CommandResult rotated = device_with(alice, new_passphrase, {"storage-key", "rotate"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.describe();
  EXPECT_EQ(device_with(alice, old_passphrase, {"unlock"}).error_code(), "wrong_passphrase");

  // Everything is still there and readable (sealed bodies decrypt), and it syncs.
  const CommandResult shown =
      device_with(alice, new_passphrase, {"show", "--case", shared, "--collection", "notes"});
  ASSERT_EQ(shown.exit_code, 0) << shown.describe();
  const auto records = shown.json().at("records").as_array();
  EXPECT_EQ(record_ids(records), written);
  for (const auto& record : records) {
    EXPECT_EQ(text_of(record.at("fields").at("body").at("value")), "note from " + alice.name())
        << json::serialize(record);
  }
  const CommandResult added =
      device_with(alice, new_passphrase,
                  {"note", "add", "--case", shared, "--set", "body=after the rotation", "--repeat", "5"});
  ASSERT_EQ(added.exit_code, 0) << added.describe();
  const auto more = record_ids(added.json().at("records").as_array());
  written.insert(more.begin(), more.end());
  const CommandResult synced = device_with(alice, new_passphrase, {"sync"});
  ASSERT_EQ(synced.exit_code, 0) << synced.describe();
  bob.ok({"sync"});
  EXPECT_EQ(record_ids(bob.ok({"show", "--case", shared, "--collection", "notes"}).at("records").as_array()),
            written);
}

}  // namespace
}  // namespace casefile::e2e
