#include "bench/casefile_bench/scale_out_scenario.hpp"

#include <signal.h>

#include <cstdio>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench/casefile_bench/sync_timing.hpp"
#include "bench/support/bench_instance.hpp"
#include "device/sync_client.hpp"
#include "tests/server/casefiled_process.hpp"
#include "tests/support/postgres_cluster.hpp"
#include "tests/support/scratch_directory.hpp"

namespace casefile::bench {
namespace {

using test_support::PostgresCluster;

constexpr std::size_t kCasesPerDevice = 2;
constexpr int kParkSettleMs = 200;  // (c): from sending the long-poll to pushing

struct SetUp {
  std::string name;  // the rows' prefix
  bool postgres = false;
  std::size_t instances = 1;
};

// One measure's row and PostgreSQL's usage over it (none on SQLCipher).
struct Measure {
  ReportRow row;
  std::optional<ProcessUsage> database;
};

struct SetUpFigures {
  Measure push;
  Measure pull;
  Measure wake_up;
  std::vector<double> writer_push_ms;  // the writer's push in each round of (c)
  std::size_t changes = 0;             // pushed in (a): the notes and the case records
};

// The casefiled processes of one set-up, all from one instance's files.
class Servers {
 public:
  Servers(const BenchInstance& instance, const std::filesystem::path& directory, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
      processes_.push_back(std::make_unique<server::testing::CasefiledProcess>(
          server::InstanceLayout(instance.root).config(),
          directory / ("casefiled-" + std::to_string(i) + ".log"), instance.summary.tls_spki_pin,
          std::vector<std::string>{"--log-level", "warning"}));
    }
  }
  ~Servers() {
    for (auto& process : processes_) process->signal(SIGTERM);
    for (auto& process : processes_) process->wait_for_exit();
  }
  Servers(const Servers&) = delete;
  Servers& operator=(const Servers&) = delete;

  std::size_t count() const { return processes_.size(); }
  unsigned short port(std::size_t index) const { return processes_[index % processes_.size()]->port(); }

  // CPU seconds and peak RSS, each summed over the instances.
  ProcessUsage usage() const {
    ProcessUsage total;
    for (const auto& process : processes_) {
      const ProcessUsage usage = read_process_usage(process->pid());
      total.cpu_seconds += usage.cpu_seconds;
      total.peak_rss_mib += usage.peak_rss_mib;
    }
    return total;
  }

 private:
  std::vector<std::unique_ptr<server::testing::CasefiledProcess>> processes_;
};

// What the servers and PostgreSQL use over one measure.
class UsageMeter {
 public:
  UsageMeter(const Servers& servers, const PostgresCluster* cluster) : servers_(servers), cluster_(cluster) {
    servers_before_ = servers_.usage();
    if (cluster_) database_before_ = read_process_tree_usage(cluster_->postmaster_pid());
  }
  ProcessUsage servers() const { return usage_between(servers_before_, servers_.usage()); }
  std::optional<ProcessUsage> database() const {
    if (!cluster_) return std::nullopt;
    return usage_between(database_before_, read_process_tree_usage(cluster_->postmaster_pid()));
  }

 private:
  const Servers& servers_;
  const PostgresCluster* cluster_;
  ProcessUsage servers_before_;
  ProcessUsage database_before_;
};

// (a) Each device captures its share offline (not timed), then all push at
// once, device d through instance d mod the instance count.
Measure measure_push(const SetUp& set_up, BenchInstance& instance, const Servers& servers,
                     const PostgresCluster* cluster, const std::filesystem::path& directory,
                     const ScaleOutWorkload& workload, std::size_t& changes) {
  std::vector<device::FieldDevice> devices;
  std::vector<std::vector<sync::CaseId>> device_cases(workload.devices);
  for (std::size_t d = 0; d < workload.devices; ++d) {
    const std::string user = "lawyer-" + std::to_string(d);
    devices.push_back(enrolled_device(instance, directory / user, user, servers.port(d)));
    for (std::size_t c = 0; c < kCasesPerDevice; ++c)
      device_cases[d].push_back(create_bench_case(devices[d]));
  }
  capture_shares(devices, device_cases, workload.changes, workload.value_bytes);
  std::vector<std::uint64_t> outbox_depths;
  std::vector<device::SyncClient> clients;
  for (auto& field_device : devices) {
    outbox_depths.push_back(must(field_device.status(), "status").outbox_depth);
    clients.push_back(must(device::SyncClient::create(field_device), "client"));
  }
  std::vector<StepTimer> timers(workload.devices, StepTimer(device::SyncPhase::pushing));
  std::vector<std::uint64_t> accepted(workload.devices, 0);
  const UsageMeter meter(servers, cluster);
  const auto start = Clock::now();
  on_threads(workload.devices, [&](std::size_t d) {
    accepted[d] = must(clients[d].sync_once(timers[d].callback()), "push").accepted;
  });
  const double seconds = seconds_since(start);
  changes = 0;
  std::vector<double> latencies;
  for (std::size_t d = 0; d < workload.devices; ++d) {
    if (accepted[d] != outbox_depths[d]) {
      fail(set_up.name + ": push",
           make_error("lost_changes", "device " + std::to_string(d) + ": " + std::to_string(accepted[d]) +
                                          " of " + std::to_string(outbox_depths[d]) + " accepted"));
    }
    changes += outbox_depths[d];
    latencies.insert(latencies.end(), timers[d].latencies_ms().begin(), timers[d].latencies_ms().end());
  }
  return {
      {set_up.name + ": (a) " + std::to_string(workload.devices) + " devices push",
       static_cast<double>(changes) / seconds, "changes/s", summarize_latencies(latencies), meter.servers()},
      meter.database()};
}

// A writer enrolled with the first instance and a reader with the last (the
// other one when there are two), both members of one case, the reader's
// cursor at the head.
struct WriterAndReader {
  // Held by pointer: a SyncClient keeps its device's address.
  std::unique_ptr<device::FieldDevice> writer;
  std::unique_ptr<device::FieldDevice> reader;
  std::vector<sync::CaseId> cases;
  device::SyncClient writer_client;
  device::SyncClient reader_client;
};

WriterAndReader writer_and_reader(BenchInstance& instance, const Servers& servers,
                                  const std::filesystem::path& directory) {
  auto writer = std::make_unique<device::FieldDevice>(
      enrolled_device(instance, directory / "writer", "writer", servers.port(0)));
  auto reader = std::make_unique<device::FieldDevice>(
      enrolled_device(instance, directory / "reader", "reader", servers.port(servers.count() - 1)));
  std::vector<sync::CaseId> cases{create_bench_case(*writer)};
  auto writer_client = must(device::SyncClient::create(*writer), "client");
  auto reader_client = must(device::SyncClient::create(*reader), "client");
  return {std::move(writer), std::move(reader), std::move(cases), std::move(writer_client),
          std::move(reader_client)};
}

void check_pulled(const SetUp& set_up, const std::string& what, std::uint64_t pulled, std::size_t expected) {
  if (pulled != expected) {
    fail(set_up.name + ": " + what,
         make_error("lost_changes", std::to_string(pulled) + " of " + std::to_string(expected) + " pulled"));
  }
}

// (b) Each round, the writer pushes `new_changes` notes, then the reader's
// whole sync_once is timed.
Measure measure_pull(const SetUp& set_up, WriterAndReader& pair, const Servers& servers,
                     const PostgresCluster* cluster, const ScaleOutWorkload& workload) {
  std::vector<double> pull_ms;
  const UsageMeter meter(servers, cluster);
  for (std::size_t round = 0; round < workload.rounds; ++round) {
    capture_notes(*pair.writer, pair.cases, workload.new_changes, workload.value_bytes);
    must(pair.writer_client.sync_once(), "writer's push");
    const auto start = Clock::now();
    const auto pulled = must(pair.reader_client.sync_once(), "reader's pull").pulled;
    pull_ms.push_back(seconds_since(start) * 1000.0);
    check_pulled(set_up, "incremental pull", pulled, workload.new_changes);
  }
  const LatencySummary latency = summarize_latencies(pull_ms);
  return {{set_up.name + ": (b) pull " + std::to_string(workload.new_changes) + " new" +
               (servers.count() > 1 ? ", other instance" : ""),
           static_cast<double>(workload.new_changes) / (latency.p50_ms / 1000.0), "changes/s", latency,
           meter.servers()},
          meter.database()};
}

// (c) Each round, the reader long-polls (SyncClient::watch: a sync, then a
// pull that waits for news); once its long-poll is sent, the writer pushes
// `new_changes` notes. Timed: from the start of the writer's push to the end
// of the reader's sync that applied them. With two instances the reader is
// parked on the other one and woken through PostgreSQL's NOTIFY.
Measure measure_wake_up(const SetUp& set_up, WriterAndReader& pair, const Servers& servers,
                        const PostgresCluster* cluster, const ScaleOutWorkload& workload,
                        std::vector<double>& writer_push_ms) {
  std::vector<double> wake_up_ms;
  const UsageMeter meter(servers, cluster);
  for (std::size_t round = 0; round < workload.rounds; ++round) {
    capture_notes(*pair.writer, pair.cases, workload.new_changes, workload.value_bytes);
    std::promise<void> parked;
    Clock::time_point applied;
    std::size_t rounds_started = 0;
    // Round 1 of watch() is a plain sync; round 2 long-polls; stop() before round 3.
    const auto stop = [&] {
      applied = Clock::now();
      return ++rounds_started > 2;
    };
    bool parked_told = false;
    const auto progress = [&](const device::SyncProgress& step) {
      if (rounds_started == 2 && step.phase == device::SyncPhase::pulling && !parked_told) {
        parked_told = true;  // the long-poll is sent right after this step
        parked.set_value();
      }
      return true;
    };
    auto watched = std::async(std::launch::async, [&] { return pair.reader_client.watch(stop, progress); });
    parked.get_future().wait();
    // The long-poll request goes out after the step is reported; give it time
    // to be parked, so that the wake-up is what is timed, not a plain pull.
    std::this_thread::sleep_for(std::chrono::milliseconds(kParkSettleMs));
    const auto start = Clock::now();
    must(pair.writer_client.sync_once(), "writer's push");
    writer_push_ms.push_back(seconds_since(start) * 1000.0);
    const auto pulled = must(watched.get(), "reader's watch").pulled;
    wake_up_ms.push_back(std::chrono::duration<double, std::milli>(applied - start).count());
    check_pulled(set_up, "wake-up", pulled, workload.new_changes);
  }
  const LatencySummary latency = summarize_latencies(wake_up_ms);
  return {{set_up.name + ": (c) wake-up" + (servers.count() > 1 ? ", other instance" : ""),
           static_cast<double>(workload.new_changes) / (latency.p50_ms / 1000.0), "changes/s", latency,
           meter.servers()},
          meter.database()};
}

SetUpFigures measure_set_up(const SetUp& set_up, PostgresCluster& cluster, const ScaleOutWorkload& workload) {
  test_support::ScratchDirectory directory;
  std::optional<std::string> postgres_url;
  if (set_up.postgres) postgres_url = cluster.new_schema_connection_string();
  BenchInstance instance = make_instance(directory.path(), postgres_url);
  const Servers servers(instance, directory.path(), set_up.instances);
  const PostgresCluster* database = set_up.postgres ? &cluster : nullptr;
  SetUpFigures figures;
  figures.push =
      measure_push(set_up, instance, servers, database, directory.path(), workload, figures.changes);
  WriterAndReader pair = writer_and_reader(instance, servers, directory.path());
  must(pair.writer_client.sync_once(), "writer's first sync");
  must(instance.administration->add_case_member(pair.cases[0], "reader"), "member");
  must(pair.reader_client.sync_once(), "reader's first sync");  // cursor at the head; session token stored
  figures.pull = measure_pull(set_up, pair, servers, database, workload);
  figures.wake_up = measure_wake_up(set_up, pair, servers, database, workload, figures.writer_push_ms);
  return figures;
}

std::unique_ptr<PostgresCluster> start_cluster() {
  try {
    return std::make_unique<PostgresCluster>(PostgresCluster::Durability::durable);
  } catch (const std::exception& error) {
    fail("scenario 8: start PostgreSQL", make_error("postgres_unavailable", error.what()));
  }
}

}  // namespace

ScenarioReport scale_out_report(const ScaleOutWorkload& workload) {
  // First, so that a missing PostgreSQL fails the run before anything is measured.
  const std::unique_ptr<PostgresCluster> cluster = start_cluster();
  const std::vector<SetUp> set_ups{{"SQLCipher, 1 casefiled", false, 1},
                                   {"PostgreSQL, 1 casefiled", true, 1},
                                   {"PostgreSQL, 2 casefiled", true, 2}};
  std::vector<SetUpFigures> figures;
  for (const auto& set_up : set_ups) figures.push_back(measure_set_up(set_up, *cluster, workload));

  ScenarioReport report;
  report.number = 8;
  report.title = "scale out: push ingest of " + std::to_string(figures[0].changes) + " signed changes (" +
                 std::to_string(workload.devices) + " devices), incremental pull and wake-up of " +
                 std::to_string(workload.new_changes) +
                 ", SQLCipher against PostgreSQL with 1 and 2 casefiled";
  for (Measure SetUpFigures::*measure : {&SetUpFigures::push, &SetUpFigures::pull, &SetUpFigures::wake_up}) {
    for (const auto& set_up : figures) {
      report.rows.push_back((set_up.*measure).row);
      report.database_columns.push_back(
          {(set_up.*measure).database, (set_up.*measure).row.rate / (figures[0].*measure).row.rate});
    }
  }
  report.notes.push_back(
      "no target (issue 10 asks for the comparison); vs SQLCipher: the row's rate over the SQLCipher row's");
  report.notes.push_back(
      "(a): " + std::to_string(workload.value_bytes) +
      "-byte sealed bodies, batches of 500; latency: one push batch round as the device sees it; with 2 "
      "casefiled, device d pushes through instance d mod 2");
  report.notes.push_back(
      "(b): " + std::to_string(workload.rounds) +
      " rounds of (a writer pushes the new notes through the first instance, then the reader's whole "
      "sync_once is timed); rate from the median; with 2 casefiled the reader syncs through the other "
      "instance; CPU columns include the writer's pushes");
  std::string writer_push = "(c): the writer's push alone (median of the same rounds), to subtract:";
  for (std::size_t i = 0; i < figures.size(); ++i) {
    char median[96];
    std::snprintf(median, sizeof median, "%s %s %.1f ms", i == 0 ? "" : ";", set_ups[i].name.c_str(),
                  summarize_latencies(figures[i].writer_push_ms).p50_ms);
    writer_push += median;
  }
  report.notes.push_back(
      "(c): " + std::to_string(workload.rounds) +
      " rounds of (the reader runs SyncClient::watch: a sync, then a long-poll pull; " +
      std::to_string(kParkSettleMs) +
      " ms after the long-poll is sent, the writer pushes the new notes through the first instance); timed "
      "from the start of the writer's push to the end of the reader's sync that applied them; rate from the "
      "median; with 2 casefiled the reader is parked on the other instance and woken through PostgreSQL's "
      "LISTEN/NOTIFY");
  report.notes.push_back(writer_push);
  report.notes.push_back(
      "server CPU s and VmHWM: casefiled, summed over the instances; postgres: the postmaster, its live "
      "backends and those it reaped (/proc), VmHWM summed over live processes (shared buffers counted in "
      "each); PostgreSQL runs with its durable defaults (fsync and synchronous_commit on)");
  return report;
}

}  // namespace casefile::bench
