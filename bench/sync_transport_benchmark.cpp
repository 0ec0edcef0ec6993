// Push and pull through the whole stack: FieldDevice replicas syncing with a
// real casefiled process over pinned TLS on loopback, against the storage
// limit measured in the same run (raw SQLCipher inserts of the same change
// bytes, 500 rows a transaction, synchronous=FULL).
//
// One lawyer's device captures N notes offline in a few cases (each note a
// 700-byte sealed body), then syncs: that is the push figure (prepare and sign
// batches, HTTPS, the server's judging and durable commit, the device's commit
// of the verdicts). A colleague's device, a member of the same cases, then
// syncs from nothing: that is the pull figure (pages over HTTPS, signature and
// inclusion-proof checks, merge and durable commit on the device).
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/support/raw_insert.hpp"
#include "crypto/key_file.hpp"
#include "crypto/random.hpp"
#include "device/enrolment.hpp"
#include "device/field_device.hpp"
#include "device/sync_client.hpp"
#include "schema/database.hpp"
#include "server/access/access_administration.hpp"
#include "server/access/sqlcipher_control_store.hpp"
#include "server/instance.hpp"
#include "sync/change_encoding.hpp"
#include "sync/device_authentication.hpp"
#include "tests/server/casefiled_process.hpp"
#include "tests/support/scratch_directory.hpp"

namespace casefile {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kAdminPassphrase = "benchmark passphrase, not a secret";
constexpr const char* kDevicePassphrase = "device passphrase, not a secret";
constexpr std::size_t kRowsPerTransaction = 500;
constexpr std::size_t kCases = 5;

[[noreturn]] void fail(const std::string& what, const Error& error) {
  std::cerr << "sync_transport_benchmark: " << what << ": " << error.code << ": " << error.message << "\n";
  std::exit(1);
}

template <class T>
T must(Result<T> result, const std::string& what) {
  if (!result.ok()) fail(what, result.error());
  return std::move(result).value();
}

void must(const Status& status, const std::string& what) {
  if (!status.ok()) fail(what, status.error());
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A printable 700-byte body, different for every note.
std::string note_body(std::size_t value_bytes) {
  const crypto::Bytes random = crypto::random_bytes(value_bytes).value();
  std::string body(value_bytes, 'a');
  for (std::size_t i = 0; i < value_bytes; ++i) body[i] = static_cast<char>('a' + random[i] % 26);
  return body;
}

struct Instance {
  fs::path root;
  server::InstanceSummary summary;
  std::unique_ptr<server::SqlCipherControlStore> control;
  std::unique_ptr<server::AccessAdministration> administration;
  std::unique_ptr<crypto::Ed25519PrivateKey> authority;
};

Instance make_instance(const fs::path& directory) {
  Instance instance;
  server::InstanceRequest request;
  request.root = directory / "instance";
  request.admin_passphrase = kAdminPassphrase;
  instance.summary = must(server::create_instance(request), "create_instance");
  instance.root = request.root;
  instance.control = must(server::SqlCipherControlStore::open_in_instance(instance.root), "open control.db");
  instance.administration = std::make_unique<server::AccessAdministration>(*instance.control, "admin:bench");
  auto seed = must(crypto::load_key_file(server::InstanceLayout(instance.root).authority_key(),
                                         kAdminPassphrase, crypto::kKeyFilePurposeOrgAuthority),
                   "open the authority key");
  instance.authority = std::make_unique<crypto::Ed25519PrivateKey>(
      must(crypto::Ed25519PrivateKey::from_seed(seed.view()), "authority key"));
  return instance;
}

// A device of `user`, enrolled with a code and certified by the admin.
device::FieldDevice enrolled_device(Instance& instance, const fs::path& directory, const std::string& user,
                                    unsigned short port) {
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

// The storage limit: the same change bytes inserted raw, 500 a transaction.
double raw_insert_rate(const fs::path& directory, const std::vector<crypto::Bytes>& rows) {
  auto database =
      must(schema::Database::open(directory / "raw.db", test_support::random_database_key()), "open raw.db");
  must(database.execute(bench::kRawRowsTable), "create table");
  const auto start = Clock::now();
  for (std::size_t at = 0; at < rows.size(); at += kRowsPerTransaction) {
    const std::size_t count = std::min(kRowsPerTransaction, rows.size() - at);
    must(bench::insert_rows_in_one_transaction(database, std::span(rows).subspan(at, count)), "raw insert");
  }
  return static_cast<double>(rows.size()) / seconds_since(start);
}

void print_row(const char* name, double rate, double baseline) {
  std::printf("  %-52s %10.0f %10.2fx\n", name, rate, rate / baseline);
}

int run(std::size_t changes, std::size_t value_bytes) {
  test_support::ScratchDirectory directory;
  Instance instance = make_instance(directory.path());
  server::testing::CasefiledProcess casefiled(server::InstanceLayout(instance.root).config(),
                                              directory.path() / "casefiled.log",
                                              instance.summary.tls_spki_pin, {"--log-level", "warning"});
  auto amina = enrolled_device(instance, directory.path() / "amina", "amina", casefiled.port());
  auto bruno = enrolled_device(instance, directory.path() / "bruno", "bruno", casefiled.port());

  // Offline capture: the cases, then the notes, one durable write each.
  std::vector<sync::CaseId> cases;
  for (std::size_t i = 0; i < kCases; ++i) {
    cases.push_back(must(amina.create_case({{"stage", std::string("trial")},
                                            {"province", std::string("north")},
                                            {"channel", std::string("duty_lawyer")},
                                            {"opened_on", std::string("2026-11-27")}},
                                           now_ms()),
                         "create case"));
  }
  const auto capture_start = Clock::now();
  for (std::size_t i = 0; i < changes; ++i) {
    must(amina.write(cases[i % kCases], "notes", std::nullopt,
                     {{"created_on", std::string("2026-11-27")}, {"body", note_body(value_bytes)}}, now_ms()),
         "write note");
  }
  const double capture_rate = static_cast<double>(changes) / seconds_since(capture_start);

  // The rows the storage limit is measured with: the outbox's change bytes.
  std::vector<crypto::Bytes> rows;
  for (const auto& change : must(amina.store().read_outbox(0, changes + kCases), "read outbox")) {
    rows.push_back(sync::encode_change(change));
  }

  // Retries would hide in the rates: count them and say so.
  std::size_t retries = 0;
  device::SyncOptions sync_options;
  sync_options.sleep = [&retries](std::chrono::milliseconds delay) {
    ++retries;
    std::this_thread::sleep_for(delay);
  };
  auto amina_sync = must(device::SyncClient::create(amina, sync_options), "sync client");
  const auto push_start = Clock::now();
  const auto pushed = must(amina_sync.sync_once(), "push");
  const double push_seconds = seconds_since(push_start);
  if (pushed.accepted != rows.size()) {
    fail("push", make_error("lost_changes", std::to_string(pushed.accepted) + " of " +
                                                std::to_string(rows.size()) + " accepted"));
  }

  for (const auto& case_id : cases)
    must(instance.administration->add_case_member(case_id, "bruno"), "member");
  auto bruno_sync = must(device::SyncClient::create(bruno, sync_options), "sync client");
  const auto pull_start = Clock::now();
  const auto pulled = must(bruno_sync.sync_once(), "pull");
  const double pull_seconds = seconds_since(pull_start);
  if (pulled.pulled != rows.size()) {
    fail("pull", make_error("lost_changes", std::to_string(pulled.pulled) + " of " +
                                                std::to_string(rows.size()) + " pulled"));
  }

  const double raw_rate = raw_insert_rate(directory.path(), rows);
  casefiled.signal(SIGTERM);
  casefiled.wait_for_exit();

  std::printf(
      "Sync through casefiled over TLS on loopback: %zu changes (notes with a %zu-byte sealed body) in %zu "
      "cases,\n"
      "500-change push batches, 500-entry pull pages; every commit synchronous=FULL; Release build\n\n",
      rows.size(), value_bytes, kCases);
  std::printf("  %-52s %10s %11s\n", "measure", "changes/s", "vs raw");
  print_row("raw SQLCipher insert of the same bytes (baseline)", raw_rate, raw_rate);
  print_row("push: device outbox -> casefiled, durable, verdicts",
            static_cast<double>(rows.size()) / push_seconds, raw_rate);
  print_row("pull: casefiled -> second device, verified, durable",
            static_cast<double>(rows.size()) / pull_seconds, raw_rate);
  print_row("device capture: validate, seal, one commit per write", capture_rate, raw_rate);
  std::printf("  requests retried after a transport error or 503: %zu\n", retries);
  return 0;
}

}  // namespace
}  // namespace casefile

int main(int argc, char** argv) {
  std::size_t changes = 5000;
  std::size_t value_bytes = 700;
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    if (argument == "--changes" && i + 1 < argc) changes = std::stoul(argv[++i]);
    if (argument == "--value-bytes" && i + 1 < argc) value_bytes = std::stoul(argv[++i]);
    // Other flags (tools/run-benchmarks passes Google Benchmark's) are ignored.
  }
  return casefile::run(changes, value_bytes);
}
