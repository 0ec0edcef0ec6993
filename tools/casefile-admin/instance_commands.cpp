#include "tools/casefile-admin/instance_commands.hpp"

#include <boost/json.hpp>
#include <cstdlib>
#include <iostream>

#include "crypto/bytes.hpp"
#include "crypto/random.hpp"
#include "server/instance.hpp"

namespace casefile::admin {
namespace {

namespace json = boost::json;

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

// init's passphrase: the usual sources, or a generated one with --generate-passphrase.
Result<std::string> init_passphrase(const Options& options) {
  auto given = admin_passphrase(options);
  if (given.ok() || !options.flag("generate-passphrase")) return given;
  auto random = crypto::random_bytes(20);
  if (!random.ok()) return std::move(random).error();
  return crypto::to_hex(*random);
}

}  // namespace

int run_init(const Options& options) {
  auto passphrase = init_passphrase(options);
  if (!passphrase.ok()) {
    if (passphrase.error().code == "passphrase_required") {
      return report_error(options, make_error("passphrase_required",
                                              "give the admin passphrase with --passphrase-file, "
                                              "CASEFILE_ADMIN_PASSPHRASE, or --generate-passphrase"));
    }
    return report_error(options, passphrase.error());
  }
  server::InstanceRequest request;
  request.root = options.instance;
  request.admin_passphrase = std::move(*passphrase);
  request.store_admin_passphrase = options.flag("generate-passphrase") && !options.passphrase_file &&
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

}  // namespace casefile::admin
