#include "bench/support/bench_instance.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "crypto/key_file.hpp"
#include "crypto/random.hpp"
#include "device/enrolment.hpp"
#include "server/access/postgres_control_store.hpp"
#include "server/access/sqlcipher_control_store.hpp"
#include "sync/device_authentication.hpp"

namespace casefile::bench {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {
constexpr const char* kAdminPassphrase = "benchmark passphrase, not a secret";
constexpr const char* kDevicePassphrase = "device passphrase, not a secret";
}  // namespace

void fail(const std::string& what, const Error& error) {
  std::cerr << program_invocation_short_name << ": " << what << ": " << error.code << ": " << error.message
            << "\n";
  std::exit(1);
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string note_body(std::size_t value_bytes) {
  const crypto::Bytes random = must(crypto::random_bytes(value_bytes), "random bytes");
  std::string body(value_bytes, 'a');
  for (std::size_t i = 0; i < value_bytes; ++i) body[i] = static_cast<char>('a' + random[i] % 26);
  return body;
}

void capture_notes(device::FieldDevice& device, std::span<const sync::CaseId> cases, std::size_t count,
                   std::size_t value_bytes) {
  constexpr std::size_t kNotesPerTransaction = 500;
  if (cases.empty()) fail("capture", make_error("invalid_argument", "no case to write notes in"));
  for (std::size_t begin = 0; begin < count; begin += kNotesPerTransaction) {
    const std::size_t end = std::min(count, begin + kNotesPerTransaction);
    must(device.commit_together([&]() -> Status {
      for (std::size_t i = begin; i < end; ++i) {
        auto written = device.write(
            cases[i % cases.size()], "notes", std::nullopt,
            {{"created_on", std::string("2026-11-27")}, {"body", note_body(value_bytes)}}, now_ms());
        if (!written.ok()) return std::move(written).error();
      }
      return ok_status();
    }),
         "write notes");
  }
}

BenchInstance make_instance(const fs::path& directory, const std::optional<std::string>& postgres_url) {
  BenchInstance instance;
  server::InstanceRequest request;
  request.root = directory / "instance";
  request.admin_passphrase = kAdminPassphrase;
  instance.summary = must(server::create_instance(request), "create_instance");
  instance.root = request.root;
  if (postgres_url) {
    std::ofstream config(server::InstanceLayout(instance.root).config(), std::ios::app);
    config << "\n[store]\nkind = \"postgres\"\npostgres_url = \"" << *postgres_url << "\"\n";
    if (!config.flush())
      fail("configure the store", make_error("io_error", "cannot append to casefiled.toml"));
    instance.control =
        must(server::PostgresControlStore::open(*postgres_url, 1), "open the PostgreSQL control store");
  } else {
    instance.control =
        must(server::SqlCipherControlStore::open_in_instance(instance.root), "open control.db");
  }
  instance.administration = std::make_unique<server::AccessAdministration>(*instance.control, "admin:bench");
  auto seed = must(crypto::load_key_file(server::InstanceLayout(instance.root).authority_key(),
                                         kAdminPassphrase, crypto::kKeyFilePurposeOrgAuthority),
                   "open the authority key");
  instance.authority = std::make_unique<crypto::Ed25519PrivateKey>(
      must(crypto::Ed25519PrivateKey::from_seed(seed.view()), "authority key"));
  return instance;
}

device::FieldDevice enrolled_device(BenchInstance& instance, const fs::path& directory,
                                    const std::string& user, unsigned short port) {
  device::CreateOptions options;
  options.scrypt = crypto::ScryptParameters{.n = 1u << 17, .r = 8, .p = 1};
  auto field_device =
      must(device::FieldDevice::create(directory, kDevicePassphrase, options), "create device");
  must(instance.administration->add_user(user, server::Role::lawyer), "add user");
  auto code = must(instance.administration->create_enrolment_code(user, std::chrono::minutes(15)), "code");
  const std::string payload = json::serialize(
      sync::enrolment_payload("https://127.0.0.1:" + std::to_string(port), instance.summary.tls_spki_pin,
                              instance.summary.authority_fingerprint, code.text));
  must(device::enrol(field_device, payload), "enrol");
  must(instance.administration->certify_device(field_device.profile().device_id, *instance.authority),
       "certify");
  auto check = must(device::check_certification(field_device), "check certification");
  if (check.state != device::EnrolmentState::certified) {
    fail("check certification", make_error("not_certified", "the device is not certified"));
  }
  return field_device;
}

sync::CaseId create_bench_case(device::FieldDevice& device) {
  return must(device.create_case({{"stage", std::string("trial")},
                                  {"province", std::string("north")},
                                  {"channel", std::string("duty_lawyer")},
                                  {"opened_on", std::string("2026-11-27")}},
                                 now_ms()),
              "create case");
}

}  // namespace casefile::bench
