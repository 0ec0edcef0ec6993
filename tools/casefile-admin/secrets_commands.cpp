#include "tools/casefile-admin/secrets_commands.hpp"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "server/access/sqlcipher_control_store.hpp"
#include "server/instance.hpp"
#include "server/sync_api/database_key_file.hpp"
#include "server/sync_api/database_key_rotation.hpp"

namespace casefile::admin {
namespace {

namespace json = boost::json;

// How long `database-key rotate` waits for casefiled to report: rekeying
// rewrites every page, about a second for each few hundred megabytes here.
constexpr auto kRotationWait = std::chrono::minutes(30);
constexpr auto kPollInterval = std::chrono::milliseconds(50);

std::string admin_actor() {
  const passwd* entry = ::getpwuid(::geteuid());
  return std::string("admin:") + (entry != nullptr && entry->pw_name != nullptr ? entry->pw_name : "unknown");
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The pid of the casefiled serving `root`, if one runs: casefiled.pid names a
// live process whose name is casefiled (a stale file after a crash may name
// a pid reused by something else).
std::optional<pid_t> running_casefiled(const std::filesystem::path& root) {
  std::ifstream in(root / "casefiled.pid");
  long pid = 0;
  if (!(in >> pid) || pid <= 1) return std::nullopt;
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  if (!std::getline(comm, name) || name != "casefiled") return std::nullopt;
  if (::kill(static_cast<pid_t>(pid), 0) != 0) return std::nullopt;
  return static_cast<pid_t>(pid);
}

Result<json::object> read_rotation_status(const std::filesystem::path& key_file) {
  std::ifstream in(server::rotation_status_path(key_file));
  if (!in) return make_error("not_found", "no status yet");
  std::ostringstream text;
  text << in.rdbuf();
  boost::system::error_code error;
  json::value value = json::parse(text.str(), error);
  if (error || !value.is_object()) return make_error("not_found", "status being written");
  return value.as_object();
}

// Prints each database's state as it changes (text mode), until the
// rotation is done or failed.
void print_progress(const json::object& status, std::map<std::string, std::string>& shown) {
  const json::value* databases = status.if_contains("databases");
  if (databases == nullptr || !databases->is_array()) return;
  for (const json::value& database : databases->as_array()) {
    if (!database.is_object()) continue;
    const std::string name = json::value_to<std::string>(database.at("name"));
    const std::string state = json::value_to<std::string>(database.at("state"));
    if (shown[name] == state || state == "pending") continue;
    shown[name] = state;
    std::cout << "  " << name << ": " << state << std::endl;
  }
}

Result<json::object> rotate_through_casefiled(const Options& options, const std::filesystem::path& key_file,
                                              pid_t pid) {
  std::error_code ignored;
  std::filesystem::remove(server::rotation_status_path(key_file), ignored);
  if (::kill(pid, SIGUSR1) != 0) return make_error("io_error", "cannot signal casefiled");
  std::map<std::string, std::string> shown;
  const auto deadline = std::chrono::steady_clock::now() + kRotationWait;
  while (std::chrono::steady_clock::now() < deadline) {
    auto status = read_rotation_status(key_file);
    if (status.ok()) {
      if (!options.json) print_progress(*status, shown);
      const std::string state = json::value_to<std::string>(status->at("state"));
      if (state == "done") return std::move(status).value();
      if (state == "failed") {
        const json::value* code = status->if_contains("error");
        const json::value* message = status->if_contains("message");
        return make_error(code != nullptr ? json::value_to<std::string>(*code) : "rotation_failed",
                          "casefiled could not rotate the database key: " +
                              (message != nullptr ? json::value_to<std::string>(*message) : std::string()));
      }
    }
    if (::kill(pid, 0) != 0) {
      return make_error("rotation_interrupted",
                        "casefiled stopped during the rotation; it finishes the rotation at its next start");
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  return make_error("rotation_timeout", "casefiled did not finish the rotation in time");
}

Result<json::object> rotate_offline(const Options& options, const server::InstanceLayout& layout) {
  std::vector<server::RotatingDatabase> databases;
  for (const auto& file : server::instance_database_files(layout.database())) {
    server::RotatingDatabase database = server::closed_database(file);
    if (!options.json) {
      database.rekey = [inner = std::move(database.rekey), name = database.name](
                           const crypto::SecretBytes& current, const crypto::SecretBytes& next) {
        std::cout << "  " << name << ": rekeying" << std::endl;
        Status rekeyed = inner(current, next);
        std::cout << "  " << name << ": " << (rekeyed.ok() ? "rekeyed" : "failed") << std::endl;
        return rekeyed;
      };
    }
    databases.push_back(std::move(database));
  }
  CASEFILE_RETURN_IF_ERROR(server::finish_database_key_rotation(layout.database_key(), databases));
  auto store = server::SqlCipherControlStore::open_in_instance(layout.root);
  if (!store.ok()) return std::move(store).error();
  CASEFILE_RETURN_IF_ERROR((*store)->append_audit(server::AuditEvent{
      now_ms(), admin_actor(), "database_key_rotated", "", {{"databases", databases.size()}}}));
  return read_rotation_status(layout.database_key());
}

int run_database_key_rotate(const Options& options) {
  const server::InstanceLayout layout(options.instance);
  if (!server::instance_exists(layout.root)) {
    return report_error(options, make_error("no_instance", "no instance at " + layout.root.string()));
  }
  std::error_code error;
  const bool resuming = std::filesystem::exists(server::next_database_key_path(layout.database_key()), error);
  if (!resuming) {
    auto next = server::write_next_database_key(layout.database_key());
    if (!next.ok()) return report_error(options, next.error());
  }
  const std::optional<pid_t> casefiled = running_casefiled(layout.root);
  if (!options.json) {
    std::cout << (resuming ? "resuming the unfinished database-key rotation" : "rotating the database key")
              << (casefiled ? " through the running casefiled (pid " + std::to_string(*casefiled) + ")"
                            : " (casefiled is not running)")
              << "\n";
  }
  auto outcome = casefiled ? rotate_through_casefiled(options, layout.database_key(), *casefiled)
                           : rotate_offline(options, layout);
  if (!outcome.ok()) return report_error(options, outcome.error());
  if (options.json) {
    std::cout << json::serialize(json::object{{"ok", true},
                                              {"through", casefiled ? "casefiled" : "files"},
                                              {"databases", outcome->at("databases")}})
              << "\n";
  } else {
    std::cout << "database key rotated; the previous key no longer opens any database\n";
  }
  return kExitOk;
}

}  // namespace

bool is_secrets_command(const std::string& command) { return command == "database-key" || command == "tls"; }

int run_secrets_command(const Options& options) {
  const auto& words = options.words;
  if (words.size() == 2 && words[0] == "database-key" && words[1] == "rotate")
    return run_database_key_rotate(options);
  return usage_error("unknown command " + words[0] + (words.size() > 1 ? " " + words[1] : std::string()));
}

}  // namespace casefile::admin
