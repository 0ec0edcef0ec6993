#include "bench/casefile_bench/sync_scenarios.hpp"

#include <signal.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/casefile_bench/sync_timing.hpp"
#include "bench/support/bench_instance.hpp"
#include "bench/support/raw_insert.hpp"
#include "crypto/ed25519.hpp"
#include "device/field_device.hpp"
#include "device/sync_client.hpp"
#include "sync/change_encoding.hpp"
#include "tests/server/casefiled_process.hpp"
#include "tests/support/scratch_directory.hpp"

namespace casefile::bench {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kCasesPerDevice = 2;

unsigned cores() { return std::max(1u, std::thread::hardware_concurrency()); }

// Ed25519 verifications a second on all cores: `count` verifications of one
// signature over a 32-byte message (a batch's Merkle root), split among threads.
double ed25519_verify_rate(std::size_t count) {
  const auto key = must(crypto::Ed25519PrivateKey::generate(), "ed25519 key");
  const crypto::Bytes message(32, 0x5a);
  const auto signature = must(key.sign(message), "ed25519 sign");
  std::atomic<std::size_t> failures{0};
  const std::size_t threads = cores();
  const auto start = Clock::now();
  on_threads(threads, [&](std::size_t thread) {
    const std::size_t share = count / threads + (thread < count % threads ? 1 : 0);
    for (std::size_t i = 0; i < share; ++i) {
      if (!crypto::ed25519_verify(key.public_key(), message, signature)) ++failures;
    }
  });
  const double seconds = seconds_since(start);
  if (failures != 0)
    fail("ed25519 baseline", make_error("verify_failed", "a valid signature did not verify"));
  return static_cast<double>(count) / seconds;
}

}  // namespace

PushPullFigures measure_push_and_pull(const SyncWorkload& workload) {
  test_support::ScratchDirectory directory;
  BenchInstance instance = make_instance(directory.path());
  server::testing::CasefiledProcess casefiled(server::InstanceLayout(instance.root).config(),
                                              directory.path() / "casefiled.log",
                                              instance.summary.tls_spki_pin, {"--log-level", "warning"});
  const pid_t server_pid = read_pid_file(instance.root / "casefiled.pid");

  std::vector<device::FieldDevice> devices;
  std::vector<sync::CaseId> cases;
  std::vector<std::vector<sync::CaseId>> device_cases(workload.devices);
  for (std::size_t d = 0; d < workload.devices; ++d) {
    devices.push_back(enrolled_device(instance, directory.path() / ("lawyer-" + std::to_string(d)),
                                      "lawyer-" + std::to_string(d), casefiled.port()));
    for (std::size_t c = 0; c < kCasesPerDevice; ++c) {
      device_cases[d].push_back(create_bench_case(devices[d]));
      cases.push_back(device_cases[d].back());
    }
  }

  capture_shares(devices, device_cases, workload.changes, workload.value_bytes);

  // The baselines' rows: every outbox's change bytes.
  std::vector<crypto::Bytes> rows;
  std::vector<std::uint64_t> outbox_depths;
  for (auto& field_device : devices) {
    const auto depth = must(field_device.status(), "status").outbox_depth;
    outbox_depths.push_back(depth);
    for (const auto& change : must(field_device.store().read_outbox(0, depth), "read outbox")) {
      rows.push_back(sync::encode_change(change));
    }
  }

  PushPullFigures figures;
  figures.changes = rows.size();

  // Push: every device at once, one thread each.
  std::vector<device::SyncClient> clients;
  for (auto& field_device : devices)
    clients.push_back(must(device::SyncClient::create(field_device), "client"));
  std::vector<StepTimer> push_timers(workload.devices, StepTimer(device::SyncPhase::pushing));
  std::vector<std::uint64_t> accepted(workload.devices, 0);
  const ProcessUsage before_push = read_process_usage(server_pid);
  const auto push_start = Clock::now();
  on_threads(workload.devices, [&](std::size_t d) {
    accepted[d] = must(clients[d].sync_once(push_timers[d].callback()), "push").accepted;
  });
  figures.push_seconds = seconds_since(push_start);
  const ProcessUsage after_push = read_process_usage(server_pid);
  std::vector<double> push_latencies;
  for (std::size_t d = 0; d < workload.devices; ++d) {
    if (accepted[d] != outbox_depths[d]) {
      fail("push",
           make_error("lost_changes", "device " + std::to_string(d) + ": " + std::to_string(accepted[d]) +
                                          " of " + std::to_string(outbox_depths[d]) + " accepted"));
    }
    push_latencies.insert(push_latencies.end(), push_timers[d].latencies_ms().begin(),
                          push_timers[d].latencies_ms().end());
  }
  figures.push = {"casefiled: " + std::to_string(workload.devices) + " devices push (500-change batches)",
                  static_cast<double>(rows.size()) / figures.push_seconds, "changes/s",
                  summarize_latencies(push_latencies), usage_between(before_push, after_push)};

  // Pull: a new device, member of every case, from nothing.
  auto colleague = enrolled_device(instance, directory.path() / "colleague", "colleague", casefiled.port());
  for (const auto& case_id : cases)
    must(instance.administration->add_case_member(case_id, "colleague"), "member");
  auto colleague_client = must(device::SyncClient::create(colleague), "client");
  StepTimer pull_timer(device::SyncPhase::pulling);
  const ProcessUsage before_pull = read_process_usage(server_pid);
  const auto pull_start = Clock::now();
  const auto pulled = must(colleague_client.sync_once(pull_timer.callback()), "pull").pulled;
  figures.pull_seconds = seconds_since(pull_start);
  const ProcessUsage after_pull = read_process_usage(server_pid);
  if (pulled != rows.size()) {
    fail("pull", make_error("lost_changes",
                            std::to_string(pulled) + " of " + std::to_string(rows.size()) + " pulled"));
  }
  figures.pull = {"casefiled: a new device pulls everything (500-entry pages)",
                  static_cast<double>(rows.size()) / figures.pull_seconds, "changes/s",
                  summarize_latencies(pull_timer.latencies_ms()), usage_between(before_pull, after_pull)};

  casefiled.signal(SIGTERM);
  casefiled.wait_for_exit();

  figures.raw_insert_rate = must(raw_insert_rate(directory.path() / "raw.db", rows), "raw insert");
  figures.ed25519_verify_rate = ed25519_verify_rate(rows.size());
  return figures;
}

ScenarioReport push_ingest_report(const SyncWorkload& workload, const PushPullFigures& figures) {
  ScenarioReport report;
  report.number = 1;
  report.title = "push ingest of " + std::to_string(figures.changes) + " signed changes (" +
                 std::to_string(workload.value_bytes) + "-byte sealed bodies, batches of 500, " +
                 std::to_string(workload.devices) + " devices)";
  report.rows.push_back(figures.push);
  report.rows.push_back({"baseline: raw SQLCipher insert of the same bytes, 500 a txn",
                         figures.raw_insert_rate, "changes/s", std::nullopt, std::nullopt});
  report.rows.push_back({"baseline: Ed25519 verify, " + std::to_string(cores()) + " cores",
                         figures.ed25519_verify_rate, "verifies/s", std::nullopt, std::nullopt});
  const double limit = std::min(figures.raw_insert_rate, figures.ed25519_verify_rate);
  report.ratio_name = "push rate / the lower baseline";
  report.ratio = figures.push.rate / limit;
  report.target = ">= 0.50";
  report.met = report.ratio >= 0.5;
  report.notes.push_back(
      "latency: one push batch round as the device sees it (prepare and sign the batch, "
      "HTTPS, the server's durable commit, the device's commit of the verdicts)");
  return report;
}

ScenarioReport initial_pull_report(const SyncWorkload& workload, const PushPullFigures& figures) {
  ScenarioReport report;
  report.number = 2;
  report.title = "initial pull of " + std::to_string(figures.changes) + " changes by a new device (" +
                 std::to_string(workload.value_bytes) + "-byte sealed bodies)";
  report.rows.push_back(figures.pull);
  report.rows.push_back({"reference: raw SQLCipher insert of the same bytes, 500 a txn",
                         figures.raw_insert_rate, "changes/s", std::nullopt, std::nullopt});
  report.notes.push_back(
      "no target (issue 9); latency: one pull page as the device sees it (HTTPS, signature "
      "and inclusion-proof checks, merge, durable commit)");
  report.notes.push_back("seconds: " + std::to_string(figures.pull_seconds));
  return report;
}

}  // namespace casefile::bench
