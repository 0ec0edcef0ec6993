// Scenario 3: incremental pull of a few new changes, with a small and a large
// server store (bench/casefile_bench/sync_scenarios.hpp).
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "bench/casefile_bench/sync_scenarios.hpp"
#include "bench/support/bench_instance.hpp"
#include "bench/support/server_commits.hpp"
#include "device/sync_client.hpp"
#include "server/store/sqlcipher_server_store.hpp"
#include "server/sync_api/database_key_file.hpp"
#include "tests/server/casefiled_process.hpp"
#include "tests/support/scratch_directory.hpp"

namespace casefile::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kBatch = 500;
constexpr std::size_t kBackgroundCases = 200;
constexpr std::size_t kSeedThreads = 4;

// Fills casefile.db of the instance with `changes` changes in cases no bench
// device is a member of, through the server store API (group commit, a few
// writers at once), before casefiled opens it.
void seed_store(const server::InstanceLayout& layout, std::size_t changes) {
  const auto key = must(server::read_database_key_file(layout.database_key()), "database key");
  auto store = must(server::SqlcipherServerStore::open(layout.database(), key), "open casefile.db");
  const std::size_t batches = (changes + kBatch - 1) / kBatch;
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> writers;
  for (std::size_t w = 0; w < kSeedThreads; ++w) {
    writers.emplace_back([&] {
      for (std::size_t batch = next++; batch < batches; batch = next++) {
        const std::size_t count = std::min(kBatch, changes - batch * kBatch);
        // One numbered device a batch: each device's sequence starts at 1.
        const auto commit = new_records_commit(1000 + batch, 1, 1, count, 0, kBackgroundCases);
        must(store->commit_push(commit), "seed commit");
      }
    });
  }
  for (auto& writer : writers) writer.join();
}

struct StoreFigures {
  std::vector<double> pull_ms;  // one incremental sync of the reader, per round
  ProcessUsage server;
  double seed_seconds = 0;
};

StoreFigures measure_store(std::size_t store_changes, const IncrementalPullWorkload& workload) {
  test_support::ScratchDirectory directory;
  BenchInstance instance = make_instance(directory.path());
  const server::InstanceLayout layout(instance.root);
  StoreFigures figures;
  const auto seed_start = Clock::now();
  seed_store(layout, store_changes);
  figures.seed_seconds = std::chrono::duration<double>(Clock::now() - seed_start).count();

  server::testing::CasefiledProcess casefiled(layout.config(), directory.path() / "casefiled.log",
                                              instance.summary.tls_spki_pin, {"--log-level", "warning"});
  const pid_t server_pid = read_pid_file(instance.root / "casefiled.pid");
  auto writer = enrolled_device(instance, directory.path() / "writer", "writer", casefiled.port());
  auto reader = enrolled_device(instance, directory.path() / "reader", "reader", casefiled.port());
  const sync::CaseId case_id = create_bench_case(writer);
  auto writer_client = must(device::SyncClient::create(writer), "client");
  auto reader_client = must(device::SyncClient::create(reader), "client");
  must(writer_client.sync_once(), "writer's first sync");
  must(instance.administration->add_case_member(case_id, "reader"), "member");
  must(reader_client.sync_once(), "reader's first sync");  // cursor at the head; session token stored

  const ProcessUsage before = read_process_usage(server_pid);
  for (std::size_t round = 0; round < workload.rounds; ++round) {
    capture_notes(writer, std::span(&case_id, 1), workload.new_changes, 700);
    must(writer_client.sync_once(), "writer's push");
    const auto start = Clock::now();
    const auto pulled = must(reader_client.sync_once(), "reader's pull").pulled;
    figures.pull_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (pulled != workload.new_changes) {
      fail("incremental pull",
           make_error("lost_changes",
                      std::to_string(pulled) + " of " + std::to_string(workload.new_changes) + " pulled"));
    }
  }
  const ProcessUsage after = read_process_usage(server_pid);
  figures.server = {after.cpu_seconds - before.cpu_seconds, after.peak_rss_mib};
  casefiled.signal(SIGTERM);
  casefiled.wait_for_exit();
  return figures;
}

ReportRow store_row(std::size_t store_changes, const IncrementalPullWorkload& workload,
                    const StoreFigures& figures) {
  const LatencySummary latency = summarize_latencies(figures.pull_ms);
  return {"casefiled, " + std::to_string(store_changes) + "-change store: sync pulling " +
              std::to_string(workload.new_changes) + " new",
          static_cast<double>(workload.new_changes) / (latency.p50_ms / 1000.0), "changes/s", latency,
          figures.server};
}

}  // namespace

ScenarioReport incremental_pull_report(const IncrementalPullWorkload& workload) {
  const StoreFigures small = measure_store(workload.small_store, workload);
  const StoreFigures large = measure_store(workload.large_store, workload);
  ScenarioReport report;
  report.number = 3;
  report.title = "incremental pull of " + std::to_string(workload.new_changes) + " new changes, " +
                 std::to_string(workload.small_store) + "- against " + std::to_string(workload.large_store) +
                 "-change store";
  report.rows.push_back(store_row(workload.small_store, workload, small));
  report.rows.push_back(store_row(workload.large_store, workload, large));
  report.ratio_name = "median sync time, large store / small store";
  report.ratio = summarize_latencies(large.pull_ms).p50_ms / summarize_latencies(small.pull_ms).p50_ms;
  report.target = "<= 1.5";
  report.met = report.ratio <= 1.5;
  report.notes.push_back(
      "each row: " + std::to_string(workload.rounds) +
      " rounds of (a writer device pushes the new notes, then the reader's whole sync_once is timed: sign-in "
      "reuse, empty push, keyring refresh, pull, verify, durable commit); rate from the median; the store's "
      "other "
      "changes are in " +
      std::to_string(kBackgroundCases) + " cases the reader is not a member of");
  char seeded[160];
  std::snprintf(
      seeded, sizeof seeded,
      "stores seeded in-process through the server store API before casefiled started: %.0f s and %.0f s",
      small.seed_seconds, large.seed_seconds);
  report.notes.push_back(seeded);
  return report;
}

}  // namespace casefile::bench
