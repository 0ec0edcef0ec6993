// The server store's push ingest and incremental pull, each beside its
// baseline measured in the same run:
//
// - ingest: commit_push of realistic commits (500 changes a batch, each
//   writing a 700-byte sealed value to a new record, sealed and Merkle-proven
//   as a device would) into SqlcipherServerStore with 1, 4 and 8 concurrent
//   pushers; beside the raw SQLCipher insert of the same canonical change
//   bytes, 500 rows a transaction, same settings (WAL, synchronous=FULL,
//   keyed, 4096-byte pages). Group commit should make more pushers not slower.
// - pull: read_log of the 100 newest changes of a device's 5 cases, with 10k
//   and with 100k changes in the store: the cost should not grow with the log.
//
// Rates are wall-clock changes/s (fsync time is the point). After Google
// Benchmark's table it prints a summary with the ratios.
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "bench/support/raw_insert.hpp"
#include "bench/support/server_commits.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/random.hpp"
#include "schema/database.hpp"
#include "server/store/sqlcipher_server_store.hpp"
#include "sync/batch.hpp"
#include "sync/change_encoding.hpp"
#include "sync/merkle.hpp"
#include "sync/record_state.hpp"
#include "tests/support/scratch_directory.hpp"

namespace casefile::server {
namespace {

constexpr std::size_t kChangesPerBatch = 500;
constexpr std::size_t kSealedValueSize = 700;
constexpr int kIngestBatchesPerRun = 48;         // 500-change commits, split among the pushers
constexpr std::size_t kSmallCommitChanges = 10;  // an interactive push: a few edits
constexpr int kSmallCommitsPerRun = 240;
constexpr std::size_t kDeviceCases = 5;
constexpr std::size_t kAllCases = 200;
constexpr std::size_t kNewChangesPulled = 100;

using test_support::ScratchDirectory;

using bench::numbered_id;

sync::PushCommit new_records_commit(std::uint64_t device, std::uint64_t batch_number,
                                    std::uint64_t first_device_sequence, std::size_t changes,
                                    std::size_t first_case, std::size_t cases) {
  return bench::new_records_commit(device, batch_number, first_device_sequence, changes, first_case, cases,
                                   kSealedValueSize);
}

crypto::SecretBytes database_key() { return crypto::random_secret(32).value(); }

// What the summary prints beside Google Benchmark's table.
struct Observations {
  std::mutex mutex;
  std::map<std::pair<std::size_t, int>, double> average_group_commits;  // by (changes a commit, pushers)
};
Observations observations;

void RawSqlcipherInsert(benchmark::State& state) {
  ScratchDirectory directory;
  auto database = schema::Database::open(directory.path() / "raw.db", database_key());  // WAL, FULL, 4096
  if (!database.ok() || !database->execute(bench::kRawRowsTable).ok()) {
    state.SkipWithError("open failed");
    return;
  }
  std::vector<crypto::Bytes> rows;
  for (int batch = 0; batch < kIngestBatchesPerRun; ++batch) {
    for (const auto& change :
         new_records_commit(1, batch, 1 + batch * kChangesPerBatch, kChangesPerBatch, 0, 1).accepted)
      rows.push_back(sync::encode_change(change.change));
  }
  std::size_t next_batch = 0;
  for (auto _ : state) {
    const std::span<const crypto::Bytes> batch(
        rows.data() + (next_batch++ % kIngestBatchesPerRun) * kChangesPerBatch, kChangesPerBatch);
    if (auto inserted = bench::insert_rows_in_one_transaction(*database, batch); !inserted.ok()) {
      state.SkipWithError(inserted.error().message.c_str());
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kChangesPerBatch));
}

// Shared by the pusher threads of one run; thread 0 sets it up and tears it down.
struct IngestRun {
  std::unique_ptr<ScratchDirectory> directory;
  std::unique_ptr<SqlcipherServerStore> store;
  std::vector<std::vector<sync::PushCommit>> commits;  // by pusher
};
IngestRun ingest;

// range(0): changes per commit.
void PushIngest(benchmark::State& state) {
  const int pushers = state.threads();
  const auto changes_per_commit = static_cast<std::size_t>(state.range(0));
  const int batches_each =
      (changes_per_commit == kChangesPerBatch ? kIngestBatchesPerRun : kSmallCommitsPerRun) / pushers;
  if (state.thread_index() == 0) {
    ingest.directory = std::make_unique<ScratchDirectory>();
    auto store = SqlcipherServerStore::open(ingest.directory->path() / "casefile.db", database_key());
    if (!store.ok()) std::abort();
    ingest.store = std::move(store).value();
    ingest.commits.assign(pushers, {});
    for (int pusher = 0; pusher < pushers; ++pusher) {
      for (int batch = 0; batch < batches_each; ++batch) {
        ingest.commits[pusher].push_back(new_records_commit(
            10 + pusher, batch, 1 + batch * changes_per_commit, changes_per_commit, pusher * 10, 10));
      }
    }
  }
  std::size_t next = 0;
  for (auto _ : state) {  // the threads start together, after the setup above
    auto sequences = ingest.store->commit_push(ingest.commits[state.thread_index()][next++]);
    if (!sequences.ok() || sequences->size() != changes_per_commit) {
      state.SkipWithError("commit_push failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(changes_per_commit));
  if (state.thread_index() == 0) {
    const GroupCommitCounters counters = ingest.store->group_commit_counters();
    {
      std::lock_guard lock(observations.mutex);
      observations.average_group_commits[{changes_per_commit, pushers}] =
          counters.groups > 0 ? static_cast<double>(counters.commits) / static_cast<double>(counters.groups)
                              : 0;
    }
    ingest = IngestRun{};
  }
}

// Stores filled for the pull benchmark, by size: filled once, although Google
// Benchmark calls the function several times to choose an iteration count.
struct FilledStore {
  ScratchDirectory directory;
  std::unique_ptr<SqlcipherServerStore> store;
};
std::map<std::size_t, std::unique_ptr<FilledStore>> filled_stores;

Result<SqlcipherServerStore*> filled_store(std::size_t changes_in_store) {
  auto& filled = filled_stores[changes_in_store];
  if (filled) return filled->store.get();
  filled = std::make_unique<FilledStore>();
  auto store = SqlcipherServerStore::open(filled->directory.path() / "casefile.db", database_key());
  if (!store.ok()) return std::move(store).error();
  filled->store = std::move(store).value();
  // The organisation's log: every case, many devices' batches.
  for (std::size_t written = 0, batch = 0; written < changes_in_store; written += kChangesPerBatch, ++batch) {
    auto committed =
        filled->store->commit_push(new_records_commit(100 + batch, 1, 1, kChangesPerBatch, 0, kAllCases));
    if (!committed.ok()) return std::move(committed).error();
  }
  // Then 100 new changes in the pulling device's cases.
  auto committed =
      filled->store->commit_push(new_records_commit(7, 1, 1, kNewChangesPulled, 0, kDeviceCases));
  if (!committed.ok()) return std::move(committed).error();
  return filled->store.get();
}

void IncrementalPull(benchmark::State& state) {
  const auto changes_in_store = static_cast<std::size_t>(state.range(0));
  auto store = filled_store(changes_in_store);
  if (!store.ok()) {
    state.SkipWithError(store.error().message.c_str());
    return;
  }
  std::set<sync::CaseId> readable;
  for (std::size_t c = 0; c < kDeviceCases; ++c) readable.insert(numbered_id<sync::CaseId>(0xca, c));
  for (auto _ : state) {
    auto slice = (*store)->read_log(changes_in_store, readable, 1000);
    if (!slice.ok() || slice->entries.size() != kNewChangesPulled) {
      state.SkipWithError("read_log returned the wrong page");
      return;
    }
    benchmark::DoNotOptimize(slice->entries.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kNewChangesPulled));
}

class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  SummaryReporter() : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_ColorTabular : OO_Tabular) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      auto rate = run.counters.find("items_per_second");
      if (rate != run.counters.end()) items_per_second[run.benchmark_name()] = rate->second.value;
      seconds_per_iteration[run.benchmark_name()] =
          run.iterations > 0 ? run.real_accumulated_time / static_cast<double>(run.iterations) : 0;
    }
    ConsoleReporter::ReportRuns(runs);
  }
  std::map<std::string, double> items_per_second;
  std::map<std::string, double> seconds_per_iteration;
};

// The value of the benchmark whose name starts with `prefix` and contains `part`.
double find(const std::map<std::string, double>& values, const std::string& prefix,
            const std::string& part = "") {
  for (const auto& [name, value] : values) {
    if (name.rfind(prefix, 0) == 0 && name.find(part) != std::string::npos) return value;
  }
  return 0;
}

void print_summary(const SummaryReporter& reporter) {
  const double raw = find(reporter.items_per_second, "RawSqlcipherInsert");
  std::printf(
      "\nPush ingest (WAL, synchronous=FULL, keyed 4096, each change a new record with a %zu B sealed "
      "value)\n",
      kSealedValueSize);
  std::printf("  %-46s %12s %10s %14s\n", "configuration", "changes/s", "vs raw", "commits/group");
  std::printf("  %-46s %12.0f %9.2fx %14s\n", "raw SQLCipher insert, same rows (baseline)", raw, 1.0, "-");
  // The store writes three rows a change (log, record state, indexes), the raw baseline one.
  for (std::size_t changes : {kChangesPerBatch, kSmallCommitChanges}) {
    double one_pusher = 0;
    double eight_pushers = 0;
    for (int pushers : {1, 4, 8}) {
      const double rate = find(reporter.items_per_second, "PushIngest/" + std::to_string(changes) + "/",
                               "threads:" + std::to_string(pushers));
      if (pushers == 1) one_pusher = rate;
      if (pushers == 8) eight_pushers = rate;
      const std::string label = "store, " + std::to_string(changes) + "-change commits, " +
                                std::to_string(pushers) + " pusher" + (pushers > 1 ? "s" : "");
      std::printf("  %-46s %12.0f %9.2fx %14.1f\n", label.c_str(), rate, raw > 0 ? rate / raw : 0.0,
                  observations.average_group_commits[{changes, pushers}]);
    }
    if (one_pusher > 0) {
      std::printf("  %zu-change commits: 8 pushers ingest %.2fx the rate of 1 pusher\n", changes,
                  eight_pushers / one_pusher);
    }
  }

  const double small = find(reporter.seconds_per_iteration, "IncrementalPull/10000");
  const double large = find(reporter.seconds_per_iteration, "IncrementalPull/100000");
  std::printf("\nIncremental pull (read_log of the %zu newest changes in a device's %zu of %zu cases)\n",
              kNewChangesPulled, kDeviceCases, kAllCases);
  std::printf("  %-46s %12s %10s\n", "changes in the store", "us/pull", "vs 10k");
  std::printf("  %-46s %12.1f %9.2fx\n", "10,000", small * 1e6, 1.0);
  std::printf("  %-46s %12.1f %9.2fx\n", "100,000", large * 1e6, small > 0 ? large / small : 0.0);
}

}  // namespace
}  // namespace casefile::server

int main(int argc, char** argv) {
  using namespace casefile::server;
  benchmark::RegisterBenchmark("RawSqlcipherInsert", RawSqlcipherInsert)->UseRealTime()->MinTime(2.0);
  for (std::size_t changes : {kChangesPerBatch, kSmallCommitChanges}) {
    const int commits = changes == kChangesPerBatch ? kIngestBatchesPerRun : kSmallCommitsPerRun;
    for (int pushers : {1, 4, 8}) {
      benchmark::RegisterBenchmark("PushIngest", PushIngest)
          ->Arg(static_cast<std::int64_t>(changes))
          ->Threads(pushers)
          ->Iterations(commits / pushers)
          ->UseRealTime();
    }
  }
  benchmark::RegisterBenchmark("IncrementalPull", IncrementalPull)
      ->Arg(10'000)
      ->Arg(100'000)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  print_summary(reporter);
  casefile::server::filled_stores.clear();
  return 0;
}
