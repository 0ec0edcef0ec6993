// The end-to-end fixture (docs/testing-e2e.md): a real instance made by
// `casefile-admin init`, a real casefiled on a free loopback port (killable
// with SIGKILL, restartable on the same port), and real field devices made
// and enrolled with `casefile-device`, each in a directory of its own.
//
//   class MyTest : public E2eTest {};
//   TEST_F(MyTest, Something) {
//     auto devices = enrol_devices({{"alice"}, {"bob"}});
//     auto created = devices[0]->ok({"case", "new", "--set", "stage=trial", ...});
//   }
//
// Helpers throw std::runtime_error (with the command, its exit code and its
// output) when a command that must succeed does not; GoogleTest reports it as
// the test's failure. Every wait is bounded.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "crypto/hash.hpp"
#include "tests/e2e/command_process.hpp"
#include "tests/support/scratch_directory.hpp"

namespace casefile::server::testing {
class CasefiledProcess;
}

namespace casefile::e2e {

namespace json = boost::json;

// Runs the tools with numbered output files in one directory.
class CommandRunner {
 public:
  explicit CommandRunner(std::filesystem::path directory);
  std::filesystem::path next_output_prefix(const std::string& label);

 private:
  std::filesystem::path directory_;
  int count_ = 0;
};

// An instance and its casefiled.
class E2eServer {
 public:
  static constexpr const char* kAdminPassphrase = "e2e admin passphrase, not a secret";

  // `casefile-admin init` in `instance`; does not start casefiled.
  E2eServer(std::filesystem::path instance, std::filesystem::path log_file, CommandRunner& runner);
  ~E2eServer();

  // Starts casefiled: on a free port the first time, on the same port after.
  // With `file_size_limit`, no file casefiled writes may grow past that many
  // bytes (RLIMIT_FSIZE): a full disk, until lift_file_size_limit().
  void start(std::optional<std::uint64_t> file_size_limit = std::nullopt);
  // SIGKILL, as a power cut: nothing is flushed or drained.
  void kill();
  // SIGTERM, as an operator's stop: casefiled drains and closes its stores.
  // Its exit status (0 for a clean stop).
  int stop();
  // Space returns: the running casefiled may grow its files again (prlimit).
  void lift_file_size_limit();
  bool running() const { return process_ != nullptr; }
  unsigned short port() const { return port_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  const std::filesystem::path& instance() const { return instance_; }
  const std::filesystem::path& log_file() const { return log_file_; }
  const crypto::Sha256Digest& pin() const { return pin_; }

  // casefile-admin --instance I --json ARGS, with the admin passphrase in the environment.
  CommandResult admin(const std::vector<std::string>& arguments);
  json::object admin_ok(const std::vector<std::string>& arguments);
  void add_user(const std::string& user, const std::string& role = "lawyer");
  // The enrolment payload of a new code for `user`, naming `url` (the server's if empty).
  json::object enrolment_payload(const std::string& user, const std::string& url = "");
  void certify(const std::string& device_id);
  // The devices of `user`, as `casefile-admin devices --user U` lists them.
  json::array devices(const std::string& user);
  bool has_device(const std::string& user, const std::string& device_id);
  void add_case_member(const std::string& case_id, const std::string& user);
  // GET /metrics over pinned TLS.
  std::string metrics();

 private:
  std::filesystem::path instance_;
  std::filesystem::path log_file_;
  CommandRunner& runner_;
  crypto::Sha256Digest pin_{};
  unsigned short port_ = 0;
  std::unique_ptr<server::testing::CasefiledProcess> process_;
};

// One casefile-device directory and its passphrase.
class E2eDevice {
 public:
  E2eDevice(std::filesystem::path directory, std::string name, std::string user, CommandRunner& runner);

  const std::filesystem::path& directory() const { return directory_; }
  const std::string& name() const { return name_; }
  const std::string& user() const { return user_; }
  const std::string& id() const { return id_; }
  void set_id(std::string id) { id_ = std::move(id); }

  // casefile-device --dir D --json ARGS, with the passphrase in the environment.
  CommandResult run(const std::vector<std::string>& arguments,
                    std::chrono::seconds deadline = kCommandDeadline);
  // As run(), and the command must succeed: its JSON object.
  json::object ok(const std::vector<std::string>& arguments,
                  std::chrono::seconds deadline = kCommandDeadline);
  // Started and left running, for tests that kill it.
  std::unique_ptr<CommandProcess> start(const std::vector<std::string>& arguments);
  // Commands from now on may grow no file past `limit` bytes (RLIMIT_FSIZE;
  // a full disk); nullopt lifts it.
  void set_file_size_limit(std::optional<std::uint64_t> limit) { file_size_limit_ = limit; }

 private:
  std::vector<std::string> command_line(const std::vector<std::string>& arguments) const;
  Environment environment() const;

  std::filesystem::path directory_;
  std::string name_;
  std::string user_;
  std::string id_;
  CommandRunner& runner_;
  std::optional<std::uint64_t> file_size_limit_;
};

struct DeviceRequest {
  DeviceRequest(std::string user, std::string url = {}) : user(std::move(user)), url(std::move(url)) {}
  std::string user;
  std::string url;  // the url its enrolment payload names; empty: the server's
};

// The fraction of their full size (0 < scale <= 1) at which the heaviest
// drills run: CASEFILE_E2E_SCALE, 1 when unset. `make test` runs them at 0.1
// to fit its time budget, `make soak` at full size (docs/testing-e2e.md);
// every assertion runs at every scale. Throws on a malformed value.
double e2e_scale();
// `full` times e2e_scale(), rounded, and at least `minimum`.
int scaled(int full, int minimum = 1);

// Records of `show --json`, in a canonical order (case, collection, record id).
std::vector<json::object> sorted_records(const json::object& shown);
// The same records with the plaintext of sealed values left out, so that a
// device holding a case's key and one without it can be compared: envelopes,
// dots, clocks, conflicts and every clear value still are.
json::array without_sealed_plaintext(const std::vector<json::object>& records);
// The record ids in `records` (or a `show`/`record add` answer's "records").
std::multiset<std::string> record_ids(const json::array& records);
std::string text_of(const json::value& value);

class E2eTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // The seed of this test's randomness: CASEFILE_E2E_SEED, or a fixed value
  // derived from the test's name. Printed, and recorded in the XML output.
  std::uint64_t seed() const { return seed_; }
  std::mt19937_64& random() { return random_; }

  E2eServer& server() { return *server_; }
  CommandRunner& runner() { return *runner_; }
  const std::filesystem::path& scratch() const { return scratch_->path(); }

  // Devices made, enrolled and certified (users added when new). Slow steps
  // run in parallel across the devices.
  std::vector<std::unique_ptr<E2eDevice>> enrol_devices(const std::vector<DeviceRequest>& requests);
  // A new, initialised, not enrolled device of `user`.
  std::unique_ptr<E2eDevice> new_device(const std::string& user);

  // A case made on `owner` (clear fields only), synced, and `members` added.
  std::string shared_case(E2eDevice& owner, const std::vector<std::string>& members);
  // Clear fields of a valid `cases` record.
  static std::vector<std::string> case_fields();

  // Runs after `casefile-admin init` and before casefiled first starts: a
  // test that needs another instance configuration writes it here.
  virtual void prepare_instance(E2eServer& server) { (void)server; }

  // `count` notes added to `case_id` on `device` in one call; their record ids.
  std::multiset<std::string> add_notes(E2eDevice& device, const std::string& case_id, int count);
  // After a last clean sync of `writer`: its outbox and quarantine are empty,
  // and `reader`, once it has synced, holds exactly `written` (each record
  // once, none missing, none extra) among the notes of `case_id`.
  void expect_delivered_exactly_once(E2eDevice& writer, E2eDevice& reader, const std::string& case_id,
                                     const std::multiset<std::string>& written);

 private:
  std::unique_ptr<test_support::ScratchDirectory> scratch_;
  std::unique_ptr<CommandRunner> runner_;
  std::unique_ptr<E2eServer> server_;
  std::set<std::string> users_;
  int devices_made_ = 0;
  std::uint64_t seed_ = 0;
  std::mt19937_64 random_;
};

// Every regular file in `places` (files, or directories searched
// recursively) that contains `marker` (raw bytes).
std::vector<std::filesystem::path> files_containing(const std::vector<std::filesystem::path>& places,
                                                    const std::string& marker);
// Every regular file under `place` (itself, if it is one; none if it is absent).
std::vector<std::filesystem::path> regular_files(const std::filesystem::path& place);

}  // namespace casefile::e2e
