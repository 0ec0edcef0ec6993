#include "tools/casefile-admin/command_line.hpp"

#include <pwd.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>

namespace casefile::admin {
namespace {

constexpr const char* kUsage = R"(usage: casefile-admin COMMAND [options]

commands:
  init                         create a new instance: database key, TLS identity, organisation keys
  instance                     show the instance's public identity (TLS pin, authority fingerprint)
  user add --user U --role R   add a user; R is lawyer, supervisor or admin
  user list                    list users
  user disable --user U        refuse every device of U at once (user enable undoes it)
  enrol --user U [--ttl MIN] [--url URL]
                               make a one-time enrolment code for a new device of U (QR code)
  certify --device D [--validity-days N]
                               sign the certificate of a pending device (admin passphrase);
                               reconciles the keys of the cases of its user
  devices [--user U]           list devices and their states
  revoke --device D [--reason R] [--sign-only]
                               revoke a device and sign its wipe order (admin passphrase),
                               and rotate every case of its user;
                               --sign-only prints the signed order for POST
                               /v1/admin/devices/D/revoke and changes nothing
  cases members add|remove|list --case C [--user U]
                               manage who is a member of a case; add and remove reconcile
                               the case's keys (admin passphrase)
  user leave --user U          a lawyer leaves: disable U, revoke every device of U with a
                               wipe order, rotate every case U was a member of (idempotent)
  keys status [--case C]       each case's head key epoch, members, awaiting_genesis
  keys rotate --case C | --all [--since T]
                               new key epoch for the case(s), even if nothing changed; an
                               interrupted run resumes with the --since it printed
  keys reconcile [--case C]    new key epoch only where the member devices changed
  recovery export --to FILE [--recovery-passphrase-file F]
                               the recovery key under its own passphrase, for offline storage
  cases read --case C [--recovery-key FILE]
                               decrypt a case's records with the recovery key (audited)
  cases recover --case C --device D [--recovery-key FILE]
                               wrap every epoch of a case to D with the recovery key, then
                               reconcile (all its devices were lost)
  audit [--since T] [--until T] [--event E] [--device D] [--limit N] [--verify]
                               show the audit log (T: ms since the epoch, YYYY-MM-DD or
                               YYYY-MM-DDTHH:MM:SSZ); --verify checks its hash chain
  database-key rotate          rekey every database under a new database key, through the
                               running casefiled (requests wait, none fails) or directly
  tls prepare                  make the next TLS key and certificate and announce its pin
                               to devices in a signed pin statement (admin passphrase)
  tls rotate                   promote the next certificate, sign the new statement, reload
                               casefiled (SIGHUP) (admin passphrase)
  tls repin-code               print the current pin statement as text and a QR code, for a
                               device that missed the announcement (casefile-device repin)
  stats --from D --to D [--csv | --json]
                               impact figures for a date range, from clear fields only
  backup-key init --to FILE    create the backup key pair: org/backup.pub in the instance, the
                               private key in FILE under its own passphrase (keep it off the server)
  backup --to FILE [--include-server-secrets]
                               an encrypted online backup (safe while casefiled serves); with
                               --include-server-secrets also FILE.secrets (database and TLS keys)
  backup verify FILE --backup-key KEYFILE
                               check a backup completely without restoring it
  store migrate-to-postgres --postgres-url URL
                               copy the instance's SQLCipher stores into PostgreSQL
                               (casefiled stopped; resumable; docs/scale.md)
  restore FILE --backup-key KEYFILE --instance DIR
                               restore into a new, empty instance (casefile-admin init first)

options:
  --instance DIR            the instance directory (default: var)
  --passphrase-file FILE    read the admin passphrase from FILE (first line)
  --generate-passphrase     init only: generate the admin passphrase and store it in the
                            instance (for an unattended first start; move it offline)
  --backup-passphrase-file FILE
                            the backup key's passphrase (or CASEFILE_BACKUP_PASSPHRASE)
  --json                    print one JSON object instead of text
  --recovery-passphrase-file FILE
                            the passphrase of an exported recovery key (else the variable
                            CASEFILE_RECOVERY_PASSPHRASE)
  -h, --help                this text

The admin passphrase may also come from the environment variable CASEFILE_ADMIN_PASSPHRASE.
casefile-admin works on the instance's files directly and may run while casefiled serves.
)";

const std::set<std::string> kValueOptions = {
    "user",  "role",          "device", "case",         "reason",
    "ttl",   "url",           "since",  "until",        "event",
    "limit", "validity-days", "to",     "recovery-key", "recovery-passphrase-file"};
const std::set<std::string> kFlagOptions = {"generate-passphrase", "verify", "sign-only", "all"};
// The options of backup_commands.cpp.
const std::set<std::string> kBackupValueOptions = {"to", "backup-key", "backup-passphrase-file", "postgres-url"};
const std::set<std::string> kBackupFlagOptions = {"include-server-secrets"};

}  // namespace

std::optional<std::string> Options::value(const std::string& name) const {
  auto found = values.find(name);
  if (found == values.end()) return std::nullopt;
  return found->second;
}

const char* usage_text() { return kUsage; }

int usage_error(const std::string& message) {
  std::cerr << "casefile-admin: " << message << "\n\n" << kUsage;
  return kExitUsage;
}

std::variant<Options, UsageError> parse_arguments(int argc, char** argv) {
  Options options;
  std::vector<std::string> arguments(argv + 1, argv + argc);
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    const std::string& argument = arguments[i];
    if (argument == "-h" || argument == "--help") {
      options.words = {"help"};
      return options;
    }
    if (argument == "--json") {
      options.json = true;
      continue;
    }
    if (argument.rfind("--", 0) == 0) {
      const std::string name = argument.substr(2);
      if (kFlagOptions.contains(name) || kBackupFlagOptions.contains(name)) {
        options.flags.insert(name);
        continue;
      }
      const bool takes_value = kValueOptions.contains(name) || kBackupValueOptions.contains(name) ||
                               name == "instance" || name == "passphrase-file";
      if (!takes_value) return UsageError{"unknown option " + argument};
      if (i + 1 >= arguments.size()) return UsageError{argument + " needs a value"};
      const std::string& value = arguments[++i];
      if (name == "instance") {
        options.instance = value;
      } else if (name == "passphrase-file") {
        options.passphrase_file = value;
      } else if (!options.values.emplace(name, value).second) {
        return UsageError{argument + " given twice"};
      }
      continue;
    }
    if (!argument.empty() && argument[0] == '-') return UsageError{"unknown option " + argument};
    options.words.push_back(argument);
  }
  if (options.words.empty()) return UsageError{"no command given"};
  return options;
}

int report_error(const Options& options, const Error& error) {
  if (options.json) {
    std::cout << boost::json::serialize(
                     boost::json::object{{"ok", false}, {"error", error.code}, {"message", error.message}})
              << "\n";
  } else {
    std::cerr << "casefile-admin: " << error.message << " (" << error.code << ")\n";
  }
  return kExitFailed;
}

Result<std::string> admin_passphrase(const Options& options) {
  if (options.passphrase_file) {
    std::ifstream in(*options.passphrase_file);
    std::string line;
    if (!in || !std::getline(in, line)) {
      return make_error("io_error", "cannot read passphrase file " + *options.passphrase_file);
    }
    return line;
  }
  if (const char* from_environment = std::getenv("CASEFILE_ADMIN_PASSPHRASE"))
    return std::string(from_environment);
  return make_error("passphrase_required",
                    "give the admin passphrase with --passphrase-file or CASEFILE_ADMIN_PASSPHRASE");
}

int fail(const Options& options, const Error& error) {
  if (error.code == "usage") return usage_error(error.message);
  return report_error(options, error);
}

void print_json(boost::json::object object) {
  object["ok"] = true;
  std::cout << boost::json::serialize(object) << "\n";
}

std::string admin_actor() {
  const passwd* entry = ::getpwuid(::geteuid());
  return std::string("admin:") + (entry != nullptr && entry->pw_name != nullptr ? entry->pw_name : "unknown");
}

}  // namespace casefile::admin
