// Batched insert rate into SQLCipher as Casefile configures it: WAL,
// synchronous=FULL (an fsync per commit), 500 rows of 700 random bytes a
// transaction. Keyed with 4096-byte cipher pages (production), keyed with
// SQLCipher 3's 1024-byte default (to show why 4096), and unkeyed (the
// baseline). Rates are wall-clock rows/s: fsync time is the point.
//
// After Google Benchmark's own table it prints the ratios from this run.
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "bench/support/raw_insert.hpp"
#include "crypto/random.hpp"
#include "schema/database.hpp"
#include "tests/support/scratch_directory.hpp"

namespace casefile::schema {
namespace {

constexpr int kRowsPerTransaction = 500;
constexpr std::size_t kRowSize = 700;

enum class Storage { keyed_4096, keyed_1024, unkeyed };

using test_support::ScratchDirectory;

Result<Database> open_storage(Storage storage, const std::filesystem::path& path) {
  DatabaseOptions options;  // synchronous FULL, WAL
  if (storage == Storage::unkeyed) return Database::open_unencrypted_for_benchmark_only(path, options);
  options.cipher_page_size = storage == Storage::keyed_4096 ? 4096 : 1024;
  auto key = crypto::random_secret(32);
  if (!key.ok()) return key.error();
  return Database::open(path, *key, options);
}

void BatchedInsert(benchmark::State& state, Storage storage) {
  ScratchDirectory directory;
  auto database = open_storage(storage, directory.path() / "bench.db");
  if (!database.ok()) {
    state.SkipWithError(database.error().message.c_str());
    return;
  }
  if (!database->execute(bench::kRawRowsTable).ok()) {
    state.SkipWithError("create table failed");
    return;
  }
  // Distinct random rows, so neither compression nor page reuse flatters anyone.
  std::vector<crypto::Bytes> bodies;
  for (int i = 0; i < kRowsPerTransaction; ++i) bodies.push_back(crypto::random_bytes(kRowSize).value());

  for (auto _ : state) {
    if (auto inserted = bench::insert_rows_in_one_transaction(*database, bodies); !inserted.ok()) {
      state.SkipWithError(inserted.error().message.c_str());
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * kRowsPerTransaction);
  state.SetBytesProcessed(state.iterations() * kRowsPerTransaction * static_cast<std::int64_t>(kRowSize));
}

// Keeps each benchmark's rows/s for the ratio table.
class RateRecorder : public benchmark::ConsoleReporter {
 public:
  // Colour only on a terminal, so piped output (tools/run-benchmarks, reports) stays plain.
  RateRecorder() : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_ColorTabular : OO_Tabular) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      auto rate = run.counters.find("items_per_second");
      if (rate != run.counters.end()) rows_per_second[run.benchmark_name()] = rate->second.value;
    }
    ConsoleReporter::ReportRuns(runs);
  }
  std::map<std::string, double> rows_per_second;
};

const std::string kKeyed4096 = "SQLCipherInsert/keyed_page4096";
const std::string kKeyed1024 = "SQLCipherInsert/keyed_page1024_default";
const std::string kUnkeyed = "SQLCipherInsert/unkeyed_baseline";

void print_summary(const std::map<std::string, double>& rates) {
  auto rate = [&](const std::string& name) {
    for (const auto& [full_name, value] : rates) {
      if (full_name.rfind(name, 0) == 0) return value;
    }
    return 0.0;
  };
  const double keyed = rate(kKeyed4096);
  const double keyed_small_pages = rate(kKeyed1024);
  const double unkeyed = rate(kUnkeyed);
  std::printf(
      "\nSQLCipher batched insert (WAL, synchronous=FULL, %d rows x %zu B a transaction, files in %s)\n",
      kRowsPerTransaction, kRowSize, std::filesystem::temp_directory_path().c_str());
  std::printf("  %-40s %14s %12s\n", "configuration", "rows/s", "vs unkeyed");
  const auto line = [&](const char* label, double value) {
    std::printf("  %-40s %14.0f %11.2fx\n", label, value, unkeyed > 0 ? value / unkeyed : 0.0);
  };
  line("unkeyed SQLite (baseline)", unkeyed);
  line("keyed, cipher_page_size 4096 (Casefile)", keyed);
  line("keyed, cipher_page_size 1024 (default)", keyed_small_pages);
  if (keyed_small_pages > 0) {
    std::printf("  4096-byte pages are %.2fx the rate of 1024-byte pages\n", keyed / keyed_small_pages);
  }
}

}  // namespace
}  // namespace casefile::schema

int main(int argc, char** argv) {
  using casefile::schema::BatchedInsert;
  using casefile::schema::Storage;
  benchmark::RegisterBenchmark(casefile::schema::kUnkeyed.c_str(), BatchedInsert, Storage::unkeyed)
      ->UseRealTime()
      ->MinTime(2.0);
  benchmark::RegisterBenchmark(casefile::schema::kKeyed4096.c_str(), BatchedInsert, Storage::keyed_4096)
      ->UseRealTime()
      ->MinTime(2.0);
  benchmark::RegisterBenchmark(casefile::schema::kKeyed1024.c_str(), BatchedInsert, Storage::keyed_1024)
      ->UseRealTime()
      ->MinTime(2.0);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  casefile::schema::RateRecorder reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  casefile::schema::print_summary(reporter.rows_per_second);
  return 0;
}
