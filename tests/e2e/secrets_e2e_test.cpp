// Server and device secrets rotated under a real casefiled (issue 7, flows 4,
// 5 and 6): the database key while a device pushes, the TLS certificate with
// its next pin announced in advance, and a device's passphrase and storage key.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "schema/database.hpp"
#include "server/sync_api/database_key_file.hpp"
#include "server/sync_api/database_key_rotation.hpp"
#include "tests/e2e/e2e_fixture.hpp"

namespace casefile::e2e {
namespace {

// Rotations tried while one long sync runs; the test needs one to overlap it.
constexpr int kMostRotations = 20;

class SecretsTest : public E2eTest {
 protected:
  std::filesystem::path database_key_file() const { return server().instance() / "database.key"; }

  crypto::SecretBytes database_key() const {
    auto key = server::read_database_key_file(database_key_file());
    if (!key.ok()) throw std::runtime_error("cannot read database.key: " + key.error().message);
    return std::move(key).value();
  }
};

TEST_F(SecretsTest, DatabaseKeyRotatesWhileADevicePushesAndNoWriteIsLost) {
  auto devices = enrol_devices({{"alice"}, {"bob"}});
  E2eDevice& alice = *devices[0];
  E2eDevice& bob = *devices[1];
  const std::string shared = shared_case(alice, {"bob"});
  // Small batches: the sync below is many pushes, each acknowledged on its own.
  std::multiset<std::string> written = add_notes(alice, shared, 400);
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
  std::cout << overlapping << " rotations during one sync of 400 notes" << std::endl;

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

}  // namespace
}  // namespace casefile::e2e
