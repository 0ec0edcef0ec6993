// casefile-admin: everything an admin does to a Casefile instance.
// Exit codes (docs/admin.md): 0 success, 1 the operation failed, 2 usage error.
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "crypto/bytes.hpp"
#include "crypto/random.hpp"
#include "server/instance.hpp"

namespace {

using casefile::Error;
namespace json = boost::json;
namespace server = casefile::server;
namespace crypto = casefile::crypto;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

constexpr const char* kUsage = R"(usage: casefile-admin COMMAND [options]

commands:
  init        create a new instance: database key, TLS identity, organisation keys
  instance    show an existing instance's public identity (TLS pin, authority fingerprint)

options:
  --instance DIR            the instance directory (default: var)
  --passphrase-file FILE    read the admin passphrase from FILE (first line)
  --generate-passphrase     init only: generate the admin passphrase and store it in the
                            instance (for an unattended first start; move it offline)
  --json                    print one JSON object instead of text
  -h, --help                this text

The admin passphrase may also come from the environment variable CASEFILE_ADMIN_PASSPHRASE.
)";

struct Options {
  std::string command;
  std::string instance = "var";
  std::optional<std::string> passphrase_file;
  bool generate_passphrase = false;
  bool json = false;
};

struct UsageError {
  std::string message;
};

std::variant<Options, UsageError> parse_arguments(int argc, char** argv) {
  Options options;
  std::vector<std::string> arguments(argv + 1, argv + argc);
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    const std::string& argument = arguments[i];
    if (argument == "--json") {
      options.json = true;
    } else if (argument == "--generate-passphrase") {
      options.generate_passphrase = true;
    } else if (argument == "--instance" || argument == "--passphrase-file") {
      if (i + 1 >= arguments.size()) return UsageError{argument + " needs a value"};
      const std::string& value = arguments[++i];
      if (argument == "--instance") {
        options.instance = value;
      } else {
        options.passphrase_file = value;
      }
    } else if (argument == "-h" || argument == "--help") {
      options.command = "help";
    } else if (!argument.empty() && argument[0] == '-') {
      return UsageError{"unknown option " + argument};
    } else if (options.command.empty()) {
      options.command = argument;
    } else {
      return UsageError{"unexpected argument " + argument};
    }
  }
  if (options.command.empty()) return UsageError{"no command given"};
  return options;
}

int report_error(const Options& options, const Error& error) {
  if (options.json) {
    std::cout << json::serialize(
                     json::object{{"ok", false}, {"error", error.code}, {"message", error.message}})
              << "\n";
  } else {
    std::cerr << "casefile-admin: " << error.message << " (" << error.code << ")\n";
  }
  return kExitFailed;
}

casefile::Result<std::string> admin_passphrase(const Options& options) {
  if (options.passphrase_file) {
    std::ifstream in(*options.passphrase_file);
    std::string line;
    if (!in || !std::getline(in, line)) {
      return casefile::make_error("io_error", "cannot read passphrase file " + *options.passphrase_file);
    }
    return line;
  }
  if (const char* from_environment = std::getenv("CASEFILE_ADMIN_PASSPHRASE"))
    return std::string(from_environment);
  if (options.generate_passphrase) {
    auto random = crypto::random_bytes(20);
    if (!random.ok()) return std::move(random).error();
    return crypto::to_hex(*random);
  }
  return casefile::make_error("passphrase_required",
                              "give the admin passphrase with --passphrase-file, CASEFILE_ADMIN_PASSPHRASE, "
                              "or --generate-passphrase");
}

json::object summary_json(const server::InstanceSummary& summary) {
  json::object object{
      {"ok", true},
      {"instance", summary.root.string()},
      {"tls_spki_sha256", crypto::to_hex(summary.tls_spki_pin)},
      {"authority_public_key", crypto::to_hex(summary.authority_public_key)},
      {"authority_fingerprint", crypto::to_hex(summary.authority_fingerprint)},
      {"recovery_public_key", crypto::to_hex(summary.recovery_public_key)},
  };
  if (!summary.listen_url.empty()) object["url"] = summary.listen_url;
  return object;
}

void print_summary(const server::InstanceSummary& summary) {
  std::cout << "instance:              " << summary.root.string() << "\n";
  if (!summary.listen_url.empty()) std::cout << "url:                   " << summary.listen_url << "\n";
  std::cout << "TLS pin (SPKI SHA-256): " << crypto::to_hex(summary.tls_spki_pin) << "\n"
            << "authority fingerprint: " << crypto::to_hex(summary.authority_fingerprint) << "\n"
            << "recovery public key:   " << crypto::to_hex(summary.recovery_public_key) << "\n";
}

int run_init(const Options& options) {
  auto passphrase = admin_passphrase(options);
  if (!passphrase.ok()) return report_error(options, passphrase.error());
  server::InstanceRequest request;
  request.root = options.instance;
  request.admin_passphrase = std::move(*passphrase);
  request.store_admin_passphrase = options.generate_passphrase && !options.passphrase_file &&
                                   std::getenv("CASEFILE_ADMIN_PASSPHRASE") == nullptr;
  if (!options.json)
    std::cerr << "casefile-admin: creating instance (deriving key-file keys with scrypt)...\n";
  auto summary = server::create_instance(request);
  if (!summary.ok()) return report_error(options, summary.error());
  if (options.json) {
    std::cout << json::serialize(summary_json(*summary)) << "\n";
    return kExitOk;
  }
  print_summary(*summary);
  if (request.store_admin_passphrase) {
    std::cout << "\nThe admin passphrase was generated and stored in "
              << server::InstanceLayout(options.instance).generated_admin_passphrase().string()
              << ".\nMove it offline (a password manager or paper in a safe) and delete the file:\n"
              << "it unlocks the organisation authority and recovery keys.\n";
  }
  return kExitOk;
}

int run_instance_show(const Options& options) {
  auto summary = server::describe_instance(options.instance);
  if (!summary.ok()) return report_error(options, summary.error());
  if (options.json) {
    std::cout << json::serialize(summary_json(*summary)) << "\n";
  } else {
    print_summary(*summary);
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = parse_arguments(argc, argv);
  if (auto* usage = std::get_if<UsageError>(&parsed)) {
    std::cerr << "casefile-admin: " << usage->message << "\n\n" << kUsage;
    return kExitUsage;
  }
  const Options& options = std::get<Options>(parsed);
  if (options.command == "help") {
    std::cout << kUsage;
    return kExitOk;
  }
  if (options.command == "init") return run_init(options);
  if (options.command == "instance") return run_instance_show(options);
  std::cerr << "casefile-admin: unknown command " << options.command << "\n\n" << kUsage;
  return kExitUsage;
}
