// Sync engine costs, in memory: merge throughput, pull-page encoding, and how
// merge cost grows with siblings and with record size. The first argument of
// each family is its baseline.
#include <benchmark/benchmark.h>

#include <optional>
#include <random>

#include "crypto/ed25519.hpp"
#include "sync/batch.hpp"
#include "sync/memory_store.hpp"
#include "sync/pull.hpp"
#include "sync/push.hpp"
#include "sync/record_state.hpp"
#include "sync/response_json.hpp"

namespace casefile::sync {
namespace {

constexpr std::uint64_t kNow = 1'700'000'000'000;

template <typename IdType>
IdType numbered(std::uint8_t tag, std::uint64_t number) {
  IdType id;
  id.bytes[0] = tag;
  for (int i = 0; i < 8; ++i) id.bytes[15 - i] = static_cast<std::uint8_t>(number >> (8 * i));
  return id;
}

RecordKey key_of(std::uint64_t record) {
  return RecordKey{numbered<CaseId>(1, 1), "interviews", numbered<RecordId>(2, record)};
}

Change set_change(std::uint64_t device, std::uint64_t sequence, std::uint64_t record, std::string field,
                  std::vector<Dot> supersedes) {
  Change change{Dot{numbered<DeviceId>(3, device), sequence},
                key_of(record),
                Hlc::from_parts(kNow + sequence, 0),
                {Operation{OperationKind::set_field, std::move(field), std::string("value of typical length"),
                           std::move(supersedes)}}};
  return change;
}

// A stream of edits to 1,000 records by 20 devices, each superseding what it saw.
void BM_MergeChangesInMemory(benchmark::State& state) {
  std::mt19937_64 random(1);
  std::vector<Change> changes;
  std::vector<Dot> last_dot(1000 * 4);
  for (std::uint64_t i = 1; i <= 20'000; ++i) {
    const std::uint64_t record = random() % 1000;
    const std::uint64_t field = random() % 4;
    std::vector<Dot> supersedes;
    if (last_dot[record * 4 + field].sequence != 0) supersedes.push_back(last_dot[record * 4 + field]);
    Change change = set_change(random() % 20, i, record, "field" + std::to_string(field), supersedes);
    last_dot[record * 4 + field] = change.id;
    changes.push_back(std::move(change));
  }
  for (auto _ : state) {
    std::map<RecordKey, RecordState> records;
    for (const Change& change : changes)
      records.try_emplace(change.record, change.record).first->second.apply(change);
    benchmark::DoNotOptimize(records);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(changes.size()));
}
BENCHMARK(BM_MergeChangesInMemory)->Unit(benchmark::kMillisecond);

// The server's whole push path in memory: signature, proofs, dedup, merge,
// commit. Batch size is the argument.
void BM_PushBatchInMemory(benchmark::State& state) {
  const auto key = *crypto::Ed25519PrivateKey::from_seed(std::vector<std::uint8_t>(32, 7));
  const DeviceId device = numbered<DeviceId>(3, 1);
  std::uint64_t sequence = 0;
  std::uint64_t batch_number = 0;
  MemoryServerStore store;
  PushContext context;
  context.device = device;
  context.device_public_key = key.public_key();
  context.writable_cases = {numbered<CaseId>(1, 1)};
  context.server_now_millis = kNow + 10'000'000;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<Change> changes;
    for (std::int64_t i = 0; i < state.range(0); ++i) {
      ++sequence;
      Change change = set_change(1, sequence, sequence % 1000, "stage", {});
      change.id.device = device;
      changes.push_back(std::move(change));
    }
    Batch batch = *seal_batch(numbered<BatchId>(4, ++batch_number), key, device, std::move(changes));
    state.ResumeTiming();
    auto response = handle_push(store, context, batch);
    benchmark::DoNotOptimize(response);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_PushBatchInMemory)->Arg(1)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);

// encode_pull_page for a page of N entries from 10 batches.
void BM_PullPageEncoding(benchmark::State& state) {
  const auto key = *crypto::Ed25519PrivateKey::from_seed(std::vector<std::uint8_t>(32, 9));
  const DeviceId device = numbered<DeviceId>(3, 1);
  PullPage page;
  page.server_time_millis = kNow;
  page.next_cursor = "AQAAAAAAAAPo";
  const std::int64_t entries = state.range(0);
  const std::int64_t per_batch = std::max<std::int64_t>(1, entries / 10);
  std::uint64_t sequence = 0;
  for (std::int64_t b = 0; sequence < static_cast<std::uint64_t>(entries); ++b) {
    std::vector<Change> changes;
    for (std::int64_t i = 0; i < per_batch && sequence < static_cast<std::uint64_t>(entries); ++i) {
      ++sequence;
      Change change = set_change(1, sequence, sequence, "stage", {Dot{device, sequence + 100000}});
      change.id.device = device;
      change.operations.push_back(
          Operation{OperationKind::set_field, "statement", SealedValue{crypto::Bytes(160, 0xab)}, {}});
      changes.push_back(std::move(change));
    }
    Batch batch =
        *seal_batch(numbered<BatchId>(4, static_cast<std::uint64_t>(b)), key, device, std::move(changes));
    page.batches.push_back(batch.header);
    for (SignedChange& change : batch.changes)
      page.entries.push_back(LogEntry{page.entries.size() + 1, change});
  }
  std::size_t bytes = 0;
  for (auto _ : state) {
    const std::string body = encode_pull_page(page);
    bytes = body.size();
    benchmark::DoNotOptimize(body);
  }
  state.SetItemsProcessed(state.iterations() * entries);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_PullPageEncoding)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);

// One concurrent write into a field that already holds N siblings.
void BM_MergeCostBySiblings(benchmark::State& state) {
  RecordState base(key_of(1));
  const std::int64_t siblings = state.range(0);
  for (std::int64_t i = 1; i <= siblings; ++i)
    base.apply(set_change(static_cast<std::uint64_t>(i), 1, 1, "stage", {}));
  const Change incoming = set_change(static_cast<std::uint64_t>(siblings + 1), 2, 1, "stage", {});
  std::optional<RecordState> record;
  for (auto _ : state) {
    state.PauseTiming();
    record = base;  // copying and destroying the record are not timed
    state.ResumeTiming();
    record->apply(incoming);
    benchmark::DoNotOptimize(*record);
    state.PauseTiming();
    record.reset();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_MergeCostBySiblings)->Arg(1)->Arg(10)->Arg(100)->Arg(1000);

// One write of one field into a record of N fields (each with history).
void BM_MergeCostByRecordSize(benchmark::State& state) {
  RecordState base(key_of(1));
  const std::int64_t fields = state.range(0);
  std::uint64_t sequence = 0;
  for (std::int64_t f = 0; f < fields; ++f) {
    Dot previous{};
    for (int edit = 0; edit < 3; ++edit) {
      std::vector<Dot> supersedes;
      if (previous.sequence != 0) supersedes.push_back(previous);
      Change change = set_change(1, ++sequence, 1, "field" + std::to_string(f), supersedes);
      previous = change.id;
      base.apply(change);
    }
  }
  const Dot current = base.field("field0")->entries().front().dot;
  const Change incoming = set_change(2, 1, 1, "field0", {current});
  std::optional<RecordState> record;
  for (auto _ : state) {
    state.PauseTiming();
    record = base;  // copying and destroying the record are not timed
    state.ResumeTiming();
    record->apply(incoming);
    benchmark::DoNotOptimize(*record);
    state.PauseTiming();
    record.reset();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_MergeCostByRecordSize)->Arg(1)->Arg(10)->Arg(100)->Arg(1000);

}  // namespace
}  // namespace casefile::sync

BENCHMARK_MAIN();
