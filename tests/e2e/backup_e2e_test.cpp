// Backup and restore end to end (docs/operations.md, "Backups"): a real
// casefiled serving eight casefile-device processes while casefile-admin
// backs it up, a restore into a new instance, and the refusals of altered,
// truncated and foreign backups.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "crypto/bytes.hpp"
#include "crypto/secret_bytes.hpp"
#include "schema/database.hpp"
#include "tests/e2e/e2e_fixture.hpp"

namespace casefile::e2e {
namespace {

namespace fs = std::filesystem;

constexpr const char* kBackupPassphrase = "e2e backup passphrase, not a secret";

crypto::SecretBytes database_key(const fs::path& instance) {
  std::ifstream in(instance / "database.key");
  std::string hex;
  std::getline(in, hex);
  crypto::Bytes bytes;
  if (!crypto::from_hex(hex, bytes)) throw std::runtime_error("malformed database.key");
  return crypto::SecretBytes(bytes);
}

struct LoggedChange {
  std::int64_t sequence = 0;
  crypto::Bytes change;
  crypto::Bytes proof;

  friend bool operator==(const LoggedChange&, const LoggedChange&) = default;
};

// The change log of an instance's casefile.db, read through SQLCipher.
std::vector<LoggedChange> change_log(const fs::path& instance) {
  auto database = schema::Database::open_reader(instance / "casefile.db", database_key(instance));
  if (!database.ok()) throw std::runtime_error("open casefile.db: " + database.error().message);
  auto select =
      database->prepare("SELECT sequence, change_bytes, proof_path FROM change_log ORDER BY sequence");
  if (!select.ok()) throw std::runtime_error(select.error().message);
  std::vector<LoggedChange> log;
  while (true) {
    auto row = select->step();
    if (!row.ok()) throw std::runtime_error(row.error().message);
    if (!*row) break;
    log.push_back({select->column_int64(0), select->column_blob(1), select->column_blob(2)});
  }
  return log;
}

std::string instance_epoch(const fs::path& instance) {
  auto database = schema::Database::open_reader(instance / "casefile.db", database_key(instance));
  if (!database.ok()) throw std::runtime_error(database.error().message);
  auto select = database->prepare("SELECT epoch FROM instance_identity");
  if (!select.ok()) throw std::runtime_error(select.error().message);
  auto row = select->step();
  if (!row.ok() || !*row) throw std::runtime_error("no instance epoch");
  return crypto::to_hex(select->column_blob(0));
}

std::vector<json::object> wait_for_all(std::vector<std::unique_ptr<CommandProcess>>& processes) {
  std::vector<json::object> answers;
  for (auto& process : processes) {
    const CommandResult result = process->wait();
    if (result.exit_code != 0) throw std::runtime_error(result.describe());
    answers.push_back(result.json());
  }
  processes.clear();
  return answers;
}

class BackupE2eTest : public E2eTest {
 protected:
  // backup-key init: the private key file and its passphrase file, in the scratch directory.
  void create_backup_key() {
    passphrase_file_ = scratch() / "backup-passphrase";
    std::ofstream(passphrase_file_) << kBackupPassphrase << "\n";
    private_key_ = scratch() / "backup.key";
    server().admin_ok({"backup-key", "init", "--to", private_key_.string(), "--backup-passphrase-file",
                       passphrase_file_.string()});
  }
  std::vector<std::string> with_key(std::vector<std::string> arguments, const fs::path& key) const {
    arguments.insert(arguments.end(),
                     {"--backup-key", key.string(), "--backup-passphrase-file", passphrase_file_.string()});
    return arguments;
  }
  // A new instance made by casefile-admin init, never served.
  fs::path new_instance(const std::string& name) {
    const fs::path root = scratch() / name;
    server().admin_ok({"init", "--instance", root.string()});
    return root;
  }

  fs::path passphrase_file_;
  fs::path private_key_;
};

TEST_F(BackupE2eTest, ABackupTakenDuringEightDevicesPushesRestoresTheLogAtItsSequence) {
  create_backup_key();
  std::vector<DeviceRequest> requests;
  for (int i = 0; i < 8; ++i) requests.emplace_back(i % 2 == 0 ? "alice" : "bob");
  auto devices = enrol_devices(requests);
  // Each step runs on the eight devices at once: every casefile-device call
  // pays for scrypt, so sequential calls would make the test slow.
  std::vector<std::unique_ptr<CommandProcess>> running;
  std::vector<std::string> arguments = {"case", "new"};
  for (const std::string& field : case_fields()) arguments.push_back(field);
  for (auto& device : devices) running.push_back(device->start(arguments));
  std::vector<std::string> cases;
  for (const json::object& made : wait_for_all(running)) cases.push_back(text_of(made.at("case_id")));
  for (std::size_t i = 0; i < devices.size(); ++i) {
    running.push_back(
        devices[i]->start({"note", "add", "--case", cases[i], "--set", "body=before", "--repeat", "20"}));
  }
  wait_for_all(running);

  // Every device pushes its notes in small batches, so that the pushes are
  // still running while casefile-admin takes the backup.
  for (auto& device : devices) running.push_back(device->start({"sync", "--batch", "2"}));
  // The backup starts once the first pushes are in the log (bounded wait).
  const auto give_up = std::chrono::steady_clock::now() + kCommandDeadline;
  while (change_log(server().instance()).size() < devices.size() &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const fs::path backup = scratch() / "during.backup";
  const json::object made = server().admin_ok({"backup", "--to", backup.string()});
  wait_for_all(running);
  // And more after it, so the server moves past the backup's sequence.
  for (std::size_t i = 0; i < devices.size(); ++i) {
    running.push_back(
        devices[i]->start({"note", "add", "--case", cases[i], "--set", "body=after", "--repeat", "3"}));
  }
  wait_for_all(running);
  for (auto& device : devices) running.push_back(device->start({"sync"}));
  wait_for_all(running);

  const auto last_sequence = static_cast<std::int64_t>(made.at("last_sequence").as_int64());
  const json::object verified =
      server().admin_ok(with_key({"backup", "verify", backup.string()}, private_key_));
  EXPECT_EQ(verified.at("last_sequence"), made.at("last_sequence"));
  EXPECT_EQ(verified.at("content_sha256"), made.at("content_sha256"));

  const fs::path restored = new_instance("restored");
  const json::object answer = server().admin_ok(
      with_key({"restore", backup.string(), "--instance", restored.string()}, private_key_));
  EXPECT_EQ(answer.at("last_sequence"), made.at("last_sequence"));

  const std::vector<LoggedChange> served = change_log(server().instance());
  const std::vector<LoggedChange> back = change_log(restored);
  std::cout << "backup at sequence " << last_sequence << " of " << served.size() << " changes served\n";
  ASSERT_GT(last_sequence, 0);
  ASSERT_LT(last_sequence, static_cast<std::int64_t>(served.size()));
  // Exactly the server's log up to the backup's sequence: nothing missing,
  // nothing extra, each change with the proof it was accepted with.
  ASSERT_EQ(back.size(), static_cast<std::size_t>(last_sequence));
  EXPECT_TRUE(std::equal(back.begin(), back.end(), served.begin()));
  EXPECT_NE(instance_epoch(restored), instance_epoch(server().instance()));
  EXPECT_EQ(answer.at("instance_epoch"), made.at("instance_epoch"));  // the epoch it was taken at

  // The restored control.db: every device and its certificate came back.
  const CommandResult listed = server().admin({"devices", "--instance", restored.string()});
  ASSERT_EQ(listed.exit_code, 0) << listed.describe();
  for (const auto& device : devices) EXPECT_NE(listed.out.find(device->id()), std::string::npos);
  // And the organisation's key files: the restored instance has the old authority.
  std::ifstream old_authority(server().instance() / "org" / "authority.pub");
  std::ifstream new_authority(restored / "org" / "authority.pub");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(old_authority), {}),
            std::string(std::istreambuf_iterator<char>(new_authority), {}));

  // A second restore into the same instance is refused: it is no longer empty.
  const CommandResult again =
      server().admin(with_key({"restore", backup.string(), "--instance", restored.string()}, private_key_));
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(again.json().at("error"), "instance_not_empty");
}

TEST_F(BackupE2eTest, AFlippedByteATruncatedFileAndAnotherKeysBackupAreRefusedWithTheirCodes) {
  create_backup_key();
  server().add_user("alice");
  const fs::path backup = scratch() / "good.backup";
  server().admin_ok({"backup", "--to", backup.string(), "--include-server-secrets"});
  server().admin_ok(with_key({"backup", "verify", backup.string()}, private_key_));
  server().admin_ok(with_key({"backup", "verify", backup.string() + ".secrets"}, private_key_));

  std::ifstream in(backup, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  const fs::path flipped = scratch() / "flipped.backup";
  std::string altered = bytes;
  altered[altered.size() / 2] = static_cast<char>(altered[altered.size() / 2] ^ 0x01);
  std::ofstream(flipped, std::ios::binary) << altered;
  const fs::path truncated = scratch() / "truncated.backup";
  std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() - 1000);

  // A backup key the instance never used.
  const fs::path other_key = scratch() / "other.key";
  const fs::path other_instance = new_instance("other");
  server().admin_ok({"backup-key", "init", "--to", other_key.string(), "--instance", other_instance.string(),
                     "--backup-passphrase-file", passphrase_file_.string()});

  const fs::path target = new_instance("target");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {with_key({"backup", "verify", flipped.string()}, private_key_), "backup_corrupt"},
      {with_key({"backup", "verify", truncated.string()}, private_key_), "backup_truncated"},
      {with_key({"backup", "verify", backup.string()}, other_key), "backup_wrong_key"},
      {with_key({"restore", flipped.string(), "--instance", target.string()}, private_key_),
       "backup_corrupt"},
      {with_key({"restore", truncated.string(), "--instance", target.string()}, private_key_),
       "backup_truncated"},
      {with_key({"restore", backup.string(), "--instance", target.string()}, other_key), "backup_wrong_key"},
  };
  for (const auto& [arguments, code] : cases) {
    const CommandResult refused = server().admin(arguments);
    EXPECT_EQ(refused.exit_code, 1) << refused.describe();
    EXPECT_EQ(text_of(refused.json().at("error")), code) << refused.describe();
  }
  // A refused restore leaves the instance as it was: empty, and restorable.
  EXPECT_FALSE(fs::exists(target / "control.db"));
  server().admin_ok(with_key({"restore", backup.string(), "--instance", target.string()}, private_key_));
  EXPECT_TRUE(fs::exists(target / "control.db"));
}

}  // namespace
}  // namespace casefile::e2e
