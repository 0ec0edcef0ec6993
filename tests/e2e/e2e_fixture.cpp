#include "tests/e2e/e2e_fixture.hpp"

#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <tuple>

#include "crypto/bytes.hpp"
#include "server/instance.hpp"
#include "tests/server/casefiled_process.hpp"

namespace casefile::e2e {
namespace {

namespace fs = std::filesystem;

json::object require_success(const CommandResult& result) {
  if (result.exit_code != 0) throw std::runtime_error("command failed: " + result.describe());
  return result.json();
}

// FNV-1a: a seed that is the same for a test's name on every machine.
std::uint64_t stable_hash(std::string_view text) {
  std::uint64_t hash = 14695981039346656037ull;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

std::string read_whole_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Waits for every process, requiring success.
std::vector<json::object> wait_all(std::vector<std::unique_ptr<CommandProcess>>& processes) {
  std::vector<CommandResult> results;
  for (auto& process : processes) results.push_back(process->wait());
  std::vector<json::object> answers;
  for (const auto& result : results) answers.push_back(require_success(result));
  return answers;
}

}  // namespace

// --- CommandRunner ---

CommandRunner::CommandRunner(fs::path directory) : directory_(std::move(directory)) {
  fs::create_directories(directory_);
}

fs::path CommandRunner::next_output_prefix(const std::string& label) {
  char number[16];
  std::snprintf(number, sizeof number, "%05d", ++count_);
  return directory_ / (std::string(number) + "-" + label);
}

// --- E2eServer ---

E2eServer::E2eServer(fs::path instance, fs::path log_file, CommandRunner& runner)
    : instance_(std::move(instance)), log_file_(std::move(log_file)), runner_(runner) {
  const json::object created = admin_ok({"init"});
  crypto::Bytes pin;
  const auto* hex = created.if_contains("tls_spki_sha256");
  if (hex == nullptr || !hex->is_string() || !crypto::from_hex(hex->as_string(), pin) ||
      pin.size() != pin_.size()) {
    throw std::runtime_error("casefile-admin init gave no TLS pin");
  }
  std::copy(pin.begin(), pin.end(), pin_.begin());
}

E2eServer::~E2eServer() = default;

void E2eServer::start(std::optional<std::uint64_t> file_size_limit) {
  if (process_) throw std::runtime_error("casefiled is already running");
  process_ = std::make_unique<server::testing::CasefiledProcess>(server::InstanceLayout(instance_).config(),
                                                                 log_file_, pin_, std::vector<std::string>{},
                                                                 port_, file_size_limit);
  port_ = process_->port();
}

int E2eServer::stop() {
  if (!process_) throw std::runtime_error("casefiled is not running");
  process_->signal(SIGTERM);
  const int status = process_->wait_for_exit();
  process_.reset();
  return status;
}

void E2eServer::lift_file_size_limit() {
  if (!process_) throw std::runtime_error("casefiled is not running");
  rlimit limit{};
  if (::prlimit(process_->pid(), RLIMIT_FSIZE, nullptr, &limit) != 0) {
    throw std::runtime_error("prlimit: cannot read casefiled's file size limit");
  }
  limit.rlim_cur = limit.rlim_max;
  if (::prlimit(process_->pid(), RLIMIT_FSIZE, &limit, nullptr) != 0) {
    throw std::runtime_error("prlimit: cannot lift casefiled's file size limit");
  }
}

void E2eServer::kill() {
  if (!process_) return;
  process_->signal(SIGKILL);
  process_->wait_for_exit();
  process_.reset();
}

CommandResult E2eServer::admin(const std::vector<std::string>& arguments) {
  std::vector<std::string> command = {CASEFILE_ADMIN_BINARY, "--instance", instance_.string(), "--json"};
  command.insert(command.end(), arguments.begin(), arguments.end());
  return run_command(command, {{"CASEFILE_ADMIN_PASSPHRASE", kAdminPassphrase}},
                     runner_.next_output_prefix("admin-" + arguments.front()));
}

json::object E2eServer::admin_ok(const std::vector<std::string>& arguments) {
  return require_success(admin(arguments));
}

void E2eServer::add_user(const std::string& user, const std::string& role) {
  admin_ok({"user", "add", "--user", user, "--role", role});
}

json::object E2eServer::enrolment_payload(const std::string& user, const std::string& url) {
  const auto result = admin({"enrol", "--user", user, "--url", url.empty() ? this->url() : url});
  auto answer = require_success(result);
  const auto* payload = answer.if_contains("payload");
  if (payload == nullptr || !payload->is_object())
    throw std::runtime_error("no payload: " + result.describe());
  return payload->as_object();
}

void E2eServer::certify(const std::string& device_id) { admin_ok({"certify", "--device", device_id}); }

json::array E2eServer::devices(const std::string& user) {
  return admin_ok({"devices", "--user", user}).at("devices").as_array();
}

bool E2eServer::has_device(const std::string& user, const std::string& device_id) {
  for (const auto& device : devices(user)) {
    if (device.as_object().at("device_id") == json::value(device_id)) return true;
  }
  return false;
}

void E2eServer::add_case_member(const std::string& case_id, const std::string& user) {
  admin_ok({"cases", "members", "add", "--case", case_id, "--user", user});
}

std::string E2eServer::metrics() {
  if (!process_) throw std::runtime_error("casefiled is not running");
  auto context = server::testing::pinned_client_context(pin_);
  server::testing::TlsClient client(context, port_);
  if (auto error = client.connect()) throw std::runtime_error("cannot connect: " + error.message());
  return client.request("GET", "/metrics", "Connection: close\r\n").body();
}

// --- E2eDevice ---

E2eDevice::E2eDevice(fs::path directory, std::string name, std::string user, CommandRunner& runner)
    : directory_(std::move(directory)), name_(std::move(name)), user_(std::move(user)), runner_(runner) {}

std::vector<std::string> E2eDevice::command_line(const std::vector<std::string>& arguments) const {
  std::vector<std::string> command = {CASEFILE_DEVICE_BINARY, "--dir", directory_.string(), "--json"};
  command.insert(command.end(), arguments.begin(), arguments.end());
  return command;
}

Environment E2eDevice::environment() const {
  return {{"CASEFILE_DEVICE_PASSPHRASE", "passphrase of " + name_}};
}

CommandResult E2eDevice::run(const std::vector<std::string>& arguments, std::chrono::seconds deadline) {
  return run_command(command_line(arguments), environment(),
                     runner_.next_output_prefix(name_ + "-" + arguments.front()), deadline, file_size_limit_);
}

json::object E2eDevice::ok(const std::vector<std::string>& arguments, std::chrono::seconds deadline) {
  return require_success(run(arguments, deadline));
}

std::unique_ptr<CommandProcess> E2eDevice::start(const std::vector<std::string>& arguments) {
  return std::make_unique<CommandProcess>(command_line(arguments), environment(),
                                          runner_.next_output_prefix(name_ + "-" + arguments.front()),
                                          file_size_limit_);
}

// --- Records ---

std::string text_of(const json::value& value) {
  return value.is_string() ? std::string(value.as_string()) : json::serialize(value);
}

std::vector<json::object> sorted_records(const json::object& shown) {
  std::vector<json::object> records;
  for (const auto& record : shown.at("records").as_array()) records.push_back(record.as_object());
  const auto key = [](const json::object& record) {
    return std::make_tuple(text_of(record.at("case")), text_of(record.at("collection")),
                           text_of(record.at("record_id")));
  };
  std::sort(records.begin(), records.end(),
            [&](const json::object& a, const json::object& b) { return key(a) < key(b); });
  return records;
}

json::array without_sealed_plaintext(const std::vector<json::object>& records) {
  json::array result;
  for (json::object record : records) {
    for (auto& [name, field_value] : record.at("fields").as_object()) {
      auto& field = field_value.as_object();
      if (!field.at("sealed").as_bool()) continue;
      field.erase("value");
      field.erase("unreadable");
      if (auto* siblings = field.if_contains("siblings")) {
        for (auto& sibling : siblings->as_array()) sibling.as_object().erase("value");
      }
    }
    result.push_back(std::move(record));
  }
  return result;
}

std::multiset<std::string> record_ids(const json::array& records) {
  std::multiset<std::string> ids;
  for (const auto& record : records) ids.insert(text_of(record.at("record_id")));
  return ids;
}

// --- E2eTest ---

double e2e_scale() {
  const char* given = std::getenv("CASEFILE_E2E_SCALE");
  if (given == nullptr) return 1.0;
  char* end = nullptr;
  const double scale = std::strtod(given, &end);
  if (end == given || *end != '\0' || !(scale > 0.0 && scale <= 1.0)) {
    throw std::runtime_error("CASEFILE_E2E_SCALE must be a number in (0, 1], not \"" + std::string(given) +
                             "\"");
  }
  return scale;
}

int scaled(int full, int minimum) {
  return std::max(minimum, static_cast<int>(std::lround(full * e2e_scale())));
}

void E2eTest::SetUp() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (const char* given = std::getenv("CASEFILE_E2E_SEED")) {
    seed_ = std::strtoull(given, nullptr, 10);
  } else {
    seed_ = stable_hash(std::string(info->test_suite_name()) + "." + info->name()) % 1'000'000'007ull;
  }
  random_.seed(seed_);
  std::cout << "[   SEED   ] CASEFILE_E2E_SEED=" << seed_ << " (set it to repeat this run)" << std::endl;
  RecordProperty("seed", std::to_string(seed_));
  if (std::getenv("CASEFILE_E2E_SCALE") != nullptr) {
    std::cout << "[  SCALE   ] CASEFILE_E2E_SCALE=" << e2e_scale() << " (unset it for the full-size drills)"
              << std::endl;
  }

  scratch_ = std::make_unique<test_support::ScratchDirectory>();
  runner_ = std::make_unique<CommandRunner>(scratch() / "commands");
  server_ = std::make_unique<E2eServer>(scratch() / "instance", scratch() / "casefiled.log", *runner_);
  prepare_instance(*server_);
  server_->start();
}

void E2eTest::TearDown() {
  if (HasFailure() && server_) {
    const std::string log = read_whole_file(server_->log_file());
    std::cout << "casefiled log (last 4000 bytes):\n"
              << log.substr(log.size() > 4000 ? log.size() - 4000 : 0);
  }
  server_.reset();
  runner_.reset();
  scratch_.reset();
}

std::unique_ptr<E2eDevice> E2eTest::new_device(const std::string& user) {
  const std::string name = user + "-" + std::to_string(++devices_made_);
  auto device = std::make_unique<E2eDevice>(scratch() / "devices" / name, name, user, *runner_);
  const json::object created = device->ok({"init"});
  device->set_id(std::string(created.at("device_id").as_string()));
  return device;
}

std::vector<std::unique_ptr<E2eDevice>> E2eTest::enrol_devices(const std::vector<DeviceRequest>& requests) {
  // Every casefile-device call pays for scrypt: the devices' calls run in
  // parallel, and the admin's work is done while they run.
  std::vector<std::unique_ptr<E2eDevice>> devices;
  std::vector<std::unique_ptr<CommandProcess>> running;
  for (const auto& request : requests) {
    const std::string name = request.user + "-" + std::to_string(++devices_made_);
    devices.push_back(
        std::make_unique<E2eDevice>(scratch() / "devices" / name, name, request.user, *runner_));
    running.push_back(devices.back()->start({"init"}));
  }
  std::vector<std::string> payloads;
  for (const auto& request : requests) {
    if (users_.insert(request.user).second) server_->add_user(request.user);
    payloads.push_back(json::serialize(server_->enrolment_payload(request.user, request.url)));
  }
  const auto initialised = wait_all(running);
  running.clear();
  for (std::size_t i = 0; i < devices.size(); ++i) {
    devices[i]->set_id(std::string(initialised[i].at("device_id").as_string()));
    running.push_back(devices[i]->start({"enrol", payloads[i], "--wait", "120"}));
  }
  // Certify each device as soon as its enrolment reaches the server.
  for (std::size_t i = 0; i < devices.size(); ++i) {
    const auto give_up = std::chrono::steady_clock::now() + kCommandDeadline;
    while (!server_->has_device(devices[i]->user(), devices[i]->id())) {
      if (!running[i]->running() || std::chrono::steady_clock::now() > give_up) {
        throw std::runtime_error("the enrolment never reached the server: " + running[i]->wait().describe());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    server_->certify(devices[i]->id());
  }
  for (const auto& answer : wait_all(running)) {
    if (answer.at("state") != "certified") throw std::runtime_error("enrol: " + json::serialize(answer));
  }
  return devices;
}

std::vector<std::string> E2eTest::case_fields() {
  return {"--set", "stage=investigation", "--set", "province=North",
          "--set", "channel=duty_lawyer", "--set", "opened_on=2026-11-01"};
}

std::string E2eTest::shared_case(E2eDevice& owner, const std::vector<std::string>& members) {
  std::vector<std::string> arguments = {"case", "new"};
  const auto fields = case_fields();
  arguments.insert(arguments.end(), fields.begin(), fields.end());
  const std::string case_id = std::string(owner.ok(arguments).at("case_id").as_string());
  owner.ok({"sync"});
  for (const auto& member : members) server_->add_case_member(case_id, member);
  return case_id;
}

std::multiset<std::string> E2eTest::add_notes(E2eDevice& device, const std::string& case_id, int count) {
  const auto added = device.ok({"note", "add", "--case", case_id, "--set", "body=note from " + device.name(),
                                "--repeat", std::to_string(count)});
  return record_ids(added.at("records").as_array());
}

void E2eTest::expect_delivered_exactly_once(E2eDevice& writer, E2eDevice& reader, const std::string& case_id,
                                            const std::multiset<std::string>& written) {
  const auto last = writer.run({"sync"});
  ASSERT_EQ(last.exit_code, 0) << last.describe();
  const auto status = writer.ok({"status"});
  EXPECT_EQ(status.at("outbox_depth"), 0) << json::serialize(status);
  EXPECT_EQ(status.at("quarantined"), 0) << json::serialize(status);
  reader.ok({"sync"});
  const auto shown = reader.ok({"show", "--case", case_id, "--collection", "notes"});
  const auto received = record_ids(shown.at("records").as_array());
  EXPECT_EQ(received.size(), written.size());
  EXPECT_TRUE(received == written) << "the reader holds " << received.size() << " notes, "
                                   << std::count_if(
                                          written.begin(), written.end(),
                                          [&](const std::string& id) { return !received.contains(id); })
                                   << " of the " << written.size() << " written are missing";
}

// --- Files ---

std::vector<fs::path> regular_files(const fs::path& place) {
  std::vector<fs::path> files;
  if (!fs::exists(place)) return files;
  if (fs::is_regular_file(place)) return {place};
  // Throws on any error: a scan that silently skipped a file would prove nothing.
  for (const auto& entry : fs::recursive_directory_iterator(place)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  return files;
}

std::vector<fs::path> files_containing(const std::vector<fs::path>& places, const std::string& marker) {
  std::vector<fs::path> found;
  for (const auto& place : places) {
    for (const auto& file : regular_files(place)) {
      if (read_whole_file(file).find(marker) != std::string::npos) found.push_back(file);
    }
  }
  return found;
}

}  // namespace casefile::e2e
