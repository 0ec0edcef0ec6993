#include "bench/casefile_bench/scale_out_scenario.hpp"

#include <signal.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
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
  std::size_t changes = 0;  // pushed in (a): the notes and the case records
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

void write_notes(device::FieldDevice& field_device, const std::vector<sync::CaseId>& cases, std::size_t count,
                 std::size_t value_bytes) {
  for (std::size_t i = 0; i < count; ++i) {
    must(field_device.write(cases[i % cases.size()], "notes", std::nullopt,
                            {{"created_on", std::string("2026-11-27")}, {"body", note_body(value_bytes)}},
                            now_ms()),
         "write note");
  }
}

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
  on_threads(workload.devices, [&](std::size_t d) {
    const std::size_t share = workload.changes / workload.devices + (d < workload.changes % workload.devices);
    write_notes(devices[d], device_cases[d], share, workload.value_bytes);
  });
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

// (b) A writer pushes `new_changes` notes through the first instance, then
// the reader, enrolled with the last instance (the other one when there are
// two), syncs them down: its whole sync_once is timed, each round.
Measure measure_pull(const SetUp& set_up, BenchInstance& instance, const Servers& servers,
                     const PostgresCluster* cluster, const std::filesystem::path& directory,
                     const ScaleOutWorkload& workload) {
  auto writer = enrolled_device(instance, directory / "writer", "writer", servers.port(0));
  auto reader = enrolled_device(instance, directory / "reader", "reader", servers.port(servers.count() - 1));
  const std::vector<sync::CaseId> cases{create_bench_case(writer)};
  auto writer_client = must(device::SyncClient::create(writer), "client");
  auto reader_client = must(device::SyncClient::create(reader), "client");
  must(writer_client.sync_once(), "writer's first sync");
  must(instance.administration->add_case_member(cases[0], "reader"), "member");
  must(reader_client.sync_once(), "reader's first sync");  // cursor at the head; session token stored

  std::vector<double> pull_ms;
  const UsageMeter meter(servers, cluster);
  for (std::size_t round = 0; round < workload.rounds; ++round) {
    write_notes(writer, cases, workload.new_changes, workload.value_bytes);
    must(writer_client.sync_once(), "writer's push");
    const auto start = Clock::now();
    const auto pulled = must(reader_client.sync_once(), "reader's pull").pulled;
    pull_ms.push_back(seconds_since(start) * 1000.0);
    if (pulled != workload.new_changes) {
      fail(set_up.name + ": incremental pull",
           make_error("lost_changes",
                      std::to_string(pulled) + " of " + std::to_string(workload.new_changes) + " pulled"));
    }
  }
  const LatencySummary latency = summarize_latencies(pull_ms);
  return {{set_up.name + ": (b) reader pulls " + std::to_string(workload.new_changes) + " new" +
               (servers.count() > 1 ? ", other instance" : ""),
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
  figures.pull = measure_pull(set_up, instance, servers, database, directory.path(), workload);
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
                 std::to_string(workload.devices) + " devices) and incremental pull of " +
                 std::to_string(workload.new_changes) +
                 ", SQLCipher against PostgreSQL with 1 and 2 casefiled";
  for (Measure SetUpFigures::*measure : {&SetUpFigures::push, &SetUpFigures::pull}) {
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
  report.notes.push_back(
      "server CPU s and VmHWM: casefiled, summed over the instances; postgres: the postmaster, its live "
      "backends and those it reaped (/proc), VmHWM summed over live processes (shared buffers counted in "
      "each); PostgreSQL runs with its durable defaults (fsync and synchronous_commit on)");
  return report;
}

}  // namespace casefile::bench
