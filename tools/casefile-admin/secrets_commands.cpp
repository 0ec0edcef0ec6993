#include "tools/casefile-admin/secrets_commands.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "crypto/bytes.hpp"
#include "crypto/key_file.hpp"
#include "crypto/tls_identity.hpp"
#include "server/access/sqlcipher_control_store.hpp"
#include "server/config.hpp"
#include "server/instance.hpp"
#include "server/sync_api/database_key_file.hpp"
#include "server/sync_api/database_key_rotation.hpp"
#include "server/sync_api/tls_pins_endpoint.hpp"
#include "sync/tls_pin_statement.hpp"
#include "tools/casefile-admin/access_commands.hpp"
#include "tools/casefile-admin/terminal_qr.hpp"

namespace casefile::admin {
namespace {

namespace json = boost::json;

// How long `database-key rotate` waits for casefiled to report: rekeying
// rewrites every page, about a second for each few hundred megabytes here.
constexpr auto kRotationWait = std::chrono::minutes(30);
constexpr auto kPollInterval = std::chrono::milliseconds(50);

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

// --- TLS pin rotation (docs/operations.md, "Rotating the TLS certificate") ---

struct TlsFiles {
  explicit TlsFiles(const server::InstanceLayout& layout)
      : current_key(layout.tls_private_key()),
        current_certificate(layout.tls_certificate()),
        next_key(layout.tls_certificate().parent_path() / "next.key"),
        next_certificate(layout.tls_certificate().parent_path() / "next.crt"),
        statement(server::tls_pin_statement_path(layout.tls_certificate())) {}
  std::filesystem::path current_key, current_certificate, next_key, next_certificate, statement;
};

Result<std::string> read_text(const std::filesystem::path& path, std::size_t limit) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (error) return make_error("not_found", "no " + path.string());
  if (size > limit) return make_error("corrupt_instance", "too large: " + path.string());
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) return make_error("io_error", "cannot read " + path.string());
  return text.str();
}

Result<crypto::Sha256Digest> certificate_pin(const std::filesystem::path& certificate) {
  auto text = read_text(certificate, 64 * 1024);
  if (!text.ok()) return std::move(text).error();
  return crypto::spki_sha256_pin(*text);
}

// The statement now served, if any. Errors: "corrupt_instance".
Result<std::optional<sync::TlsPinStatement>> current_statement(const TlsFiles& files) {
  std::error_code error;
  if (!std::filesystem::exists(files.statement, error)) return std::optional<sync::TlsPinStatement>{};
  auto text = read_text(files.statement, sync::kMaxTlsPinStatementText + 2);
  if (!text.ok()) return std::move(text).error();
  while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) text->pop_back();
  auto statement = sync::tls_pin_statement_from_text(*text);
  if (!statement.ok()) return make_error("corrupt_instance", statement.error().message);
  return std::optional<sync::TlsPinStatement>{std::move(statement).value()};
}

// Writes a public file atomically (crypto::write_key_file), then opens its mode to 0644.
Status write_public_file(const std::filesystem::path& path, std::string_view text) {
  CASEFILE_RETURN_IF_ERROR(crypto::write_key_file(path, crypto::as_bytes(text)));
  if (::chmod(path.c_str(), 0644) != 0) return make_error("io_error", "cannot chmod " + path.string());
  return ok_status();
}

// Signs {current, next} with the next sequence number and stores it where
// casefiled serves it.
Result<sync::TlsPinStatement> issue_statement(const Options& options, const TlsFiles& files,
                                              const crypto::Sha256Digest& current,
                                              std::optional<crypto::Sha256Digest> next) {
  auto authority = load_authority(options);
  if (!authority.ok()) return std::move(authority).error();
  auto previous = current_statement(files);
  if (!previous.ok()) return std::move(previous).error();
  sync::TlsPinStatement statement;
  statement.sequence = *previous ? (*previous)->sequence + 1 : 1;
  statement.issued_at_ms = now_ms();
  statement.current_pin = current;
  statement.next_pin = next;
  auto signed_statement = sync::sign_tls_pin_statement(statement, *authority);
  if (!signed_statement.ok()) return std::move(signed_statement).error();
  CASEFILE_RETURN_IF_ERROR(
      write_public_file(files.statement, sync::tls_pin_statement_to_text(*signed_statement) + "\n"));
  return signed_statement;
}

json::object statement_json(const sync::TlsPinStatement& statement) {
  json::object object{{"ok", true},
                      {"sequence", statement.sequence},
                      {"current_pin", crypto::to_hex(statement.current_pin)},
                      {"statement", sync::tls_pin_statement_to_text(statement)}};
  object["next_pin"] =
      statement.next_pin ? json::value(crypto::to_hex(*statement.next_pin)) : json::value(nullptr);
  return object;
}

int run_tls_prepare(const Options& options) {
  const server::InstanceLayout layout(options.instance);
  const TlsFiles files(layout);
  auto config = server::load_config(layout.config());
  if (!config.ok()) return report_error(options, config.error());
  std::error_code error;
  if (std::filesystem::exists(files.next_key, error)) {
    return report_error(options, make_error("tls_next_exists",
                                            "a next certificate is already prepared: run tls rotate first"));
  }
  auto current = certificate_pin(files.current_certificate);
  if (!current.ok()) return report_error(options, current.error());
  // Authority first: a wrong passphrase changes nothing.
  auto authority = load_authority(options);
  if (!authority.ok()) return report_error(options, authority.error());
  crypto::SelfSignedRequest request;
  request.common_name = "casefiled";
  request.dns_names = {"localhost"};
  request.ip_addresses = {config->listen_address};
  auto identity = crypto::generate_self_signed_identity(request);
  if (!identity.ok()) return report_error(options, identity.error());
  Status written = crypto::write_key_file(files.next_key, identity->private_key_pem.view());
  if (written.ok()) written = write_public_file(files.next_certificate, identity->certificate_pem);
  if (!written.ok()) return report_error(options, written.error());
  auto next = crypto::spki_sha256_pin(identity->certificate_pem);
  if (!next.ok()) return report_error(options, next.error());
  auto statement = issue_statement(options, files, *current, *next);
  if (!statement.ok()) return report_error(options, statement.error());
  if (options.json) {
    std::cout << json::serialize(statement_json(*statement)) << "\n";
  } else {
    std::cout << "next TLS certificate prepared in tls/next.crt; devices learn its pin at their next sync\n"
              << "current pin: " << crypto::to_hex(*current) << "\nnext pin:    " << crypto::to_hex(*next)
              << "\nstatement sequence " << statement->sequence
              << "; run `casefile-admin tls rotate` once devices have synced\n";
  }
  return kExitOk;
}

int run_tls_rotate(const Options& options) {
  const server::InstanceLayout layout(options.instance);
  const TlsFiles files(layout);
  std::error_code error;
  if (!std::filesystem::exists(files.next_certificate, error)) {
    return report_error(options,
                        make_error("tls_next_missing", "no prepared certificate: run tls prepare first"));
  }
  auto next = certificate_pin(files.next_certificate);
  if (!next.ok()) return report_error(options, next.error());
  auto authority = load_authority(options);
  if (!authority.ok()) return report_error(options, authority.error());
  // The key first, then the certificate. A crash between the two leaves
  // next.crt only; running rotate again finishes (casefiled keeps serving
  // the pair it loaded, since a mismatched pair is refused on reload).
  if (std::filesystem::exists(files.next_key, error) &&
      ::rename(files.next_key.c_str(), files.current_key.c_str()) != 0) {
    return report_error(options, make_error("io_error", "cannot rename tls/next.key"));
  }
  if (::rename(files.next_certificate.c_str(), files.current_certificate.c_str()) != 0) {
    return report_error(options, make_error("io_error", "cannot rename tls/next.crt"));
  }
  auto statement = issue_statement(options, files, *next, std::nullopt);
  if (!statement.ok()) return report_error(options, statement.error());
  const std::optional<pid_t> casefiled = running_casefiled(layout.root);
  if (casefiled && ::kill(*casefiled, SIGHUP) != 0) {
    return report_error(options, make_error("io_error", "cannot signal casefiled to reload"));
  }
  if (options.json) {
    json::object object = statement_json(*statement);
    object["reloaded"] = casefiled.has_value();
    std::cout << json::serialize(object) << "\n";
  } else {
    std::cout << "TLS certificate rotated; pin " << crypto::to_hex(*next) << "\n"
              << (casefiled ? "casefiled reloads it now (SIGHUP)\n"
                            : "casefiled is not running: it uses it at start\n");
  }
  return kExitOk;
}

int run_tls_repin_code(const Options& options) {
  const TlsFiles files{server::InstanceLayout(options.instance)};
  auto statement = current_statement(files);
  if (!statement.ok()) return report_error(options, statement.error());
  if (!*statement) {
    return report_error(options, make_error("not_found", "no TLS pin statement: run tls prepare first"));
  }
  const std::string text = sync::tls_pin_statement_to_text(**statement);
  if (options.json) {
    std::cout << json::serialize(statement_json(**statement)) << "\n";
    return kExitOk;
  }
  auto qr = render_terminal_qr(text);
  if (!qr.ok()) return report_error(options, qr.error());
  std::cout << *qr << "\nTLS pin statement (sequence " << (*statement)->sequence
            << "); on the device: casefile-device repin --statement " << text << "\n";
  return kExitOk;
}

}  // namespace

bool is_secrets_command(const std::string& command) { return command == "database-key" || command == "tls"; }

int run_secrets_command(const Options& options) {
  const auto& words = options.words;
  if (words.size() == 2 && words[0] == "database-key" && words[1] == "rotate")
    return run_database_key_rotate(options);
  if (words.size() == 2 && words[0] == "tls" && words[1] == "prepare") return run_tls_prepare(options);
  if (words.size() == 2 && words[0] == "tls" && words[1] == "rotate") return run_tls_rotate(options);
  if (words.size() == 2 && words[0] == "tls" && words[1] == "repin-code") return run_tls_repin_code(options);
  return usage_error("unknown command " + words[0] + (words.size() > 1 ? " " + words[1] : std::string()));
}

}  // namespace casefile::admin
