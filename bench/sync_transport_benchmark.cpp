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

#include "bench/support/bench_instance.hpp"
#include "bench/support/process_usage.hpp"
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

constexpr std::size_t kCases = 5;

using bench::BenchInstance;
using bench::fail;
using bench::must;
using bench::note_body;
using bench::now_ms;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void print_row(const char* name, double rate, double baseline) {
  std::printf("  %-52s %10.0f %10.2fx\n", name, rate, rate / baseline);
}

// CPU seconds the device (this process) and casefiled used in one phase:
// their sum against the phase's wall time says whether it waited (disk,
// network, scheduling) or computed, and on which side.
struct PhaseUsage {
  double seconds = 0;
  double device_cpu = 0;
  double server_cpu = 0;
};

template <class Body>
PhaseUsage measure_phase(pid_t server, Body body) {
  const auto device_before = bench::read_process_usage(::getpid());
  const auto server_before = bench::read_process_usage(server);
  const auto start = Clock::now();
  body();
  PhaseUsage usage;
  usage.seconds = seconds_since(start);
  usage.device_cpu = bench::read_process_usage(::getpid()).cpu_seconds - device_before.cpu_seconds;
  usage.server_cpu = bench::read_process_usage(server).cpu_seconds - server_before.cpu_seconds;
  return usage;
}

void print_usage(const char* name, const PhaseUsage& usage) {
  std::printf("  %-10s wall %7.2f s   device CPU %6.2f s   casefiled CPU %6.2f s\n", name, usage.seconds,
              usage.device_cpu, usage.server_cpu);
}

// One lawyer's device (`writer`) captures `changes` notes offline in cases of
// its own, then pushes them; a colleague (`reader`), member of those cases
// only, then pulls them from nothing. Both sync with `overlap` as given
// (SyncOptions::overlap, docs/device-sync.md).
struct SyncRound {
  PhaseUsage push;
  PhaseUsage pull;
  double capture_rate = 0;
  std::vector<crypto::Bytes> rows;  // the outbox's change bytes, for the raw baseline
  std::size_t retries = 0;
};

SyncRound sync_round(BenchInstance& instance, const fs::path& directory, pid_t server_pid,
                     unsigned short port, const std::string& writer_name, const std::string& reader_name,
                     std::size_t changes, std::size_t value_bytes, bool overlap) {
  auto writer = bench::enrolled_device(instance, directory / writer_name, writer_name, port);
  auto reader = bench::enrolled_device(instance, directory / reader_name, reader_name, port);
  SyncRound round;

  // Offline capture: the cases, then the notes, one durable write each.
  std::vector<sync::CaseId> cases;
  for (std::size_t i = 0; i < kCases; ++i) {
    cases.push_back(bench::create_bench_case(writer));
  }
  const auto capture_start = Clock::now();
  for (std::size_t i = 0; i < changes; ++i) {
    must(
        writer.write(cases[i % kCases], "notes", std::nullopt,
                     {{"created_on", std::string("2026-11-27")}, {"body", note_body(value_bytes)}}, now_ms()),
        "write note");
  }
  round.capture_rate = static_cast<double>(changes) / seconds_since(capture_start);
  for (const auto& change : must(writer.store().read_outbox(0, changes + kCases), "read outbox")) {
    round.rows.push_back(sync::encode_change(change));
  }

  // Retries would hide in the rates: count them and say so.
  device::SyncOptions sync_options;
  sync_options.overlap = overlap;
  sync_options.sleep = [&round](std::chrono::milliseconds delay) {
    ++round.retries;
    std::this_thread::sleep_for(delay);
  };
  auto writer_sync = must(device::SyncClient::create(writer, sync_options), "sync client");
  device::SyncReport pushed;
  round.push = measure_phase(server_pid, [&] { pushed = must(writer_sync.sync_once(), "push"); });
  if (pushed.accepted != round.rows.size()) {
    fail("push", make_error("lost_changes", std::to_string(pushed.accepted) + " of " +
                                                std::to_string(round.rows.size()) + " accepted"));
  }
  for (const auto& case_id : cases)
    must(instance.administration->add_case_member(case_id, reader_name), "member");
  auto reader_sync = must(device::SyncClient::create(reader, sync_options), "sync client");
  device::SyncReport pulled;
  round.pull = measure_phase(server_pid, [&] { pulled = must(reader_sync.sync_once(), "pull"); });
  if (pulled.pulled != round.rows.size()) {
    fail("pull", make_error("lost_changes", std::to_string(pulled.pulled) + " of " +
                                                std::to_string(round.rows.size()) + " pulled"));
  }
  return round;
}

int run(std::size_t changes, std::size_t value_bytes) {
  test_support::ScratchDirectory directory;
  BenchInstance instance = bench::make_instance(directory.path());
  server::testing::CasefiledProcess casefiled(server::InstanceLayout(instance.root).config(),
                                              directory.path() / "casefiled.log",
                                              instance.summary.tls_spki_pin, {"--log-level", "warning"});
  const pid_t server_pid = bench::read_pid_file(instance.root / "casefiled.pid");
  // One request at a time first (the baseline of the overlap), then overlapped.
  const SyncRound serial = sync_round(instance, directory.path(), server_pid, casefiled.port(), "amina",
                                      "bruno", changes, value_bytes, false);
  const SyncRound overlapped = sync_round(instance, directory.path(), server_pid, casefiled.port(), "carla",
                                          "dmitri", changes, value_bytes, true);
  const std::vector<crypto::Bytes>& rows = overlapped.rows;
  const double raw_rate = must(bench::raw_insert_rate(directory.path() / "raw.db", rows), "raw insert");
  casefiled.signal(SIGTERM);
  casefiled.wait_for_exit();

  const auto rate = [&](const PhaseUsage& usage) { return static_cast<double>(rows.size()) / usage.seconds; };
  std::printf(
      "Sync through casefiled over TLS on loopback: %zu changes (notes with a %zu-byte sealed body) in %zu "
      "cases,\n"
      "500-change push batches, 500-entry pull pages; every commit synchronous=FULL; Release build\n\n",
      rows.size(), value_bytes, kCases);
  std::printf("  %-52s %10s %11s\n", "measure", "changes/s", "vs raw");
  print_row("raw SQLCipher insert of the same bytes (baseline)", raw_rate, raw_rate);
  print_row("push: device outbox -> casefiled, durable, verdicts", rate(overlapped.push), raw_rate);
  print_row("pull: casefiled -> second device, verified, durable", rate(overlapped.pull), raw_rate);
  print_row("push, one request at a time (overlap off)", rate(serial.push), raw_rate);
  print_row("pull, one request at a time (overlap off)", rate(serial.pull), raw_rate);
  print_row("device capture: validate, seal, one commit per write", overlapped.capture_rate, raw_rate);
  std::printf("  overlap gain: push %.2fx, pull %.2fx (same run, same server)\n",
              serial.push.seconds / overlapped.push.seconds, serial.pull.seconds / overlapped.pull.seconds);
  std::printf("  requests retried after a transport error or 503: %zu\n\n",
              serial.retries + overlapped.retries);
  print_usage("push", overlapped.push);
  print_usage("pull", overlapped.pull);
  print_usage("push, off", serial.push);
  print_usage("pull, off", serial.pull);
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
