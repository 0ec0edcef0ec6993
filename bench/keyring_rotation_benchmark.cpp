// Forced rotation of every case key through the library casefile-admin uses
// (server::KeyringAdministration::reconcile, as `keys rotate --all` runs it),
// on real instance files: control.db, keys.db, and casefile.db holding 10,000
// and then 1,000,000 records, in one run. 1,000 cases x 5 devices each time.
// The cost must depend on cases x devices only (issue 7): the ratio of the two
// runs is the figure to look at, and should be about 1.
//
// Setup is outside the timing: users, devices and certificates, the cases and
// their authority-signed epoch 1 for the same 5 devices, and the records,
// inserted raw into casefile.db's records table (the store's own schema, no
// logic) in one transaction, spread over the cases.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "crypto/envelope.hpp"
#include "crypto/random.hpp"
#include "schema/database.hpp"
#include "server/access/access_administration.hpp"
#include "server/access/sqlcipher_control_store.hpp"
#include "server/store/sqlcipher_server_store.hpp"
#include "server/sync_api/keyring_administration.hpp"
#include "server/sync_api/sqlcipher_key_wrap_store.hpp"
#include "sync/case_key_wrap.hpp"
#include "sync/device_authentication.hpp"

namespace casefile {
namespace {

constexpr std::size_t kCases = 1000;
constexpr std::size_t kDevices = 5;

template <typename T>
T must(Result<T> result) {
  if (!result.ok()) throw std::runtime_error(result.error().code + ": " + result.error().message);
  return std::move(result).value();
}
void must(const Status& status) {
  if (!status.ok()) throw std::runtime_error(status.error().code + ": " + status.error().message);
}

template <typename IdType>
IdType numbered(std::uint8_t tag, std::uint64_t number) {
  IdType id;
  id.bytes[0] = tag;
  id.bytes[6] = 0x40;  // RFC 4122 version 4 and variant bits
  id.bytes[8] = 0x80;
  for (int i = 0; i < 6; ++i) id.bytes[15 - i] = static_cast<std::uint8_t>(number >> (8 * i));
  return id;
}

server::AuditEvent event(std::string name) {
  return server::AuditEvent{1'700'000'000'000, "admin:bench", std::move(name), "", {}};
}

struct Measurement {
  std::size_t records = 0;
  double seconds = 0;
  std::size_t rotated = 0;
};

// One instance directory with `records` records; returns the rotation's time.
Measurement run(const std::filesystem::path& directory, std::size_t records) {
  std::filesystem::remove_all(directory);
  std::filesystem::create_directories(directory);
  const crypto::SecretBytes database_key = must(crypto::random_secret(32));
  const auto authority = must(crypto::Ed25519PrivateKey::generate());
  const auto recovery = must(crypto::X25519PrivateKey::generate());
  auto control = must(server::SqlCipherControlStore::open(directory / "control.db", database_key));
  auto keys = must(server::SqlcipherKeyWrapStore::open(directory / "keys.db", database_key));
  server::AccessAdministration access(*control, "admin:bench");

  // One lawyer with 5 certified devices, a member of every case.
  must(access.add_user("lawyer", server::Role::lawyer));
  std::vector<sync::RecipientKey> device_keys;
  std::vector<sync::DeviceId> devices;
  for (std::size_t d = 0; d < kDevices; ++d) {
    const auto signing = must(crypto::Ed25519PrivateKey::generate());
    const auto wrapping = must(crypto::X25519PrivateKey::generate());
    const auto code = must(access.create_enrolment_code("lawyer", std::chrono::minutes(15)));
    const sync::DeviceId id = numbered<sync::DeviceId>(0xd0, d + 1);
    const auto request = must(sync::make_enrolment_request(*sync::enrolment_code_from_text(code.text), id,
                                                           signing, wrapping.public_key()));
    server::DeviceRecord record;
    record.id = id;
    record.signing_public_key = request.signing_public_key;
    record.wrapping_public_key = request.wrapping_public_key;
    must(control->enrol_device(crypto::sha256(request.code), 1'700'000'000'000, record,
                               event("device_enrolled")));
    must(access.certify_device(id, authority));
    devices.push_back(id);
    device_keys.push_back(sync::RecipientKey{id, wrapping.public_key()});
  }
  device_keys.push_back(sync::RecipientKey{sync::kRecoveryRecipient, recovery.public_key()});

  // The cases, each with an authority-signed epoch 1 for the 5 devices.
  std::vector<sync::CaseId> cases;
  for (std::size_t c = 0; c < kCases; ++c) {
    const auto case_id = numbered<sync::CaseId>(0xca, c + 1);
    must(control->create_case(case_id, "lawyer", event("case_created")));
    auto plan = must(sync::plan_first_epoch(case_id, devices, recovery.public_key(), 1,
                                            must(crypto::random_secret(32)), 1'700'000'000'000));
    plan.manifest = must(sync::sign_manifest(plan.manifest, authority));
    server::KeyEpoch epoch{case_id,          1, sync::encode_manifest(plan.manifest), {}, devices.front(),
                           1'700'000'000'000};
    for (auto& wrap : must(sync::wrap_rotation(plan, device_keys))) {
      epoch.wraps.push_back(server::KeyWrap{wrap.recipient, std::move(wrap.wrap)});
    }
    must(keys->put_epoch(epoch));
    cases.push_back(case_id);
  }

  // The records: the server store's schema, rows inserted raw.
  const auto sync_database = directory / "casefile.db";
  must(server::SqlcipherServerStore::open(sync_database, database_key));
  {
    auto database = must(schema::Database::open(sync_database, database_key));
    auto transaction = must(database.begin());
    const crypto::Bytes state(120, 0x5a);  // about a small record's encoded state
    auto insert =
        must(database.prepare("INSERT INTO records (case_id, collection, record_id, version, state, "
                              "created_by) VALUES (?, 'notes', ?, 1, ?, NULL)"));
    for (std::size_t r = 0; r < records; ++r) {
      const auto case_id = cases[r % kCases];
      const auto record_id = numbered<sync::RecordId>(0x7e, r + 1);
      insert.reset();
      must(insert.bind_blob(1, crypto::ByteView(case_id.bytes))
               .bind_blob(2, crypto::ByteView(record_id.bytes))
               .bind_blob(3, state)
               .run());
    }
    must(transaction.commit());
  }

  // The fill's dirty pages go to disk now, not inside the timing: the rotation
  // fsyncs keys.db and control.db, and a journal still flushing a large
  // casefile.db would be charged to it.
  ::sync();

  server::KeyringAdministration administration(*control, *keys, authority.public_key(), recovery.public_key(),
                                               "admin:bench");
  server::ReconcileOptions options;
  options.force = true;
  const auto started = std::chrono::steady_clock::now();
  const auto results = must(administration.reconcile(cases, authority, options));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::size_t rotated = 0;
  for (const auto& result : results) rotated += result.outcome == server::KeyringOutcome::rotated ? 1 : 0;
  if (rotated != kCases) throw std::runtime_error("not every case was rotated");
  return Measurement{records, seconds, rotated};
}

}  // namespace
}  // namespace casefile

int main(int argc, char** argv) {
  using namespace casefile;
  std::vector<std::size_t> sizes = {10'000, 1'000'000};
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    if (argument == "--small" && i + 1 < argc) sizes[0] = std::stoul(argv[++i]);
    if (argument == "--large" && i + 1 < argc) sizes[1] = std::stoul(argv[++i]);
    // Other flags (tools/run-benchmarks passes Google Benchmark's) are ignored.
  }
  const auto directory = std::filesystem::temp_directory_path() /
                         ("casefile-rotation-bench-" + std::to_string(static_cast<long>(::getpid())));
  try {
    std::vector<Measurement> measurements;
    for (std::size_t records : sizes) measurements.push_back(run(directory, records));
    std::filesystem::remove_all(directory);
    std::printf("%-10s %6s %8s %9s %12s %10s\n", "records", "cases", "devices", "seconds", "ms per case",
                "ratio");
    for (const Measurement& measurement : measurements) {
      std::printf("%-10zu %6zu %8zu %9.3f %12.3f %10.3f\n", measurement.records, kCases, kDevices,
                  measurement.seconds, measurement.seconds * 1000.0 / kCases,
                  measurement.seconds / measurements.front().seconds);
    }
    std::printf("ratio %zu/%zu records: %.3f (the rotation reads no record: about 1 expected)\n", sizes[1],
                sizes[0], measurements.back().seconds / measurements.front().seconds);
  } catch (const std::exception& error) {
    std::filesystem::remove_all(directory);
    std::cerr << "keyring_rotation_benchmark: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
