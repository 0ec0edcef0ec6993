// casefile-bench: the load harness of issue 9. Drives real devices (the
// device library, real TLS) and peers against a real casefiled process, and
// prints one table a scenario with its baseline measured in the same run
// (docs/benchmarks.md, "casefile-bench").
//
//   casefile-bench [--scenario 1,2,3,4,5,6,7,8] [--changes N] [--devices N] ...
//   (casefile-bench --help lists every flag)
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <set>
#include <sstream>
#include <string>

#include "bench/casefile_bench/connections_scenario.hpp"
#include "bench/casefile_bench/peer_scenarios.hpp"
#include "bench/casefile_bench/scale_out_scenario.hpp"
#include "bench/casefile_bench/sync_scenarios.hpp"

namespace {

using namespace casefile::bench;

constexpr const char* kUsage =
    "usage: casefile-bench [--scenario LIST] [--changes N] [--devices N] [--value-bytes N]\n"
    "                      [--small-store N] [--large-store N] [--new-changes N]\n"
    "                      [--connections N] [--period S] [--duration S]\n"
    "                      [--threads N] [--seconds S] [--rounds R] [--node-modules DIR]\n"
    "                      [--scale-changes N] [--scale-devices N] [--scale-rounds N]\n"
    "  --scenario      comma-separated, of 1 (push ingest), 2 (initial pull), 3 (incremental pull),\n"
    "                  4 (many connections syncing periodically),\n"
    "                  5 (TLS handshakes vs minimal Beast), 6 (keep-alive vs nginx),\n"
    "                  7 (push and pull vs PouchDB), 8 (scale out: SQLCipher, PostgreSQL with 1 and 2\n"
    "                  casefiled); default: all of them\n"
    "  --changes       documents of scenarios 1, 2 and 7 (default 100000)\n"
    "  --devices       pushing devices of scenario 1 (default 8)\n"
    "  --small-store, --large-store   scenario 3's stores (default 10000 and 1000000)\n"
    "  --connections, --period, --duration   scenario 4 (default 2000 connections, a sync every 5 s, 30 s)\n"
    "  --threads, --seconds, --rounds scenarios 5 and 6's load (default 4, 2, 3)\n"
    "  --scale-changes, --scale-devices, --scale-rounds   scenario 8's push (default 20000 changes,\n"
    "                  4 devices) and incremental-pull rounds (default 10)\n"
    "  --node-modules  where bench/peer/package.json was npm-installed (default: the build's peer/)\n";

[[noreturn]] void usage_error(const std::string& message) {
  std::cerr << "casefile-bench: " << message << "\n" << kUsage;
  std::exit(2);
}

std::size_t count_argument(const std::string& name, const char* text) {
  try {
    std::size_t used = 0;
    const unsigned long long value = std::stoull(text, &used);
    if (used != std::string(text).size() || value == 0) throw std::invalid_argument(name);
    return static_cast<std::size_t>(value);
  } catch (const std::exception&) {
    usage_error(name + " needs a positive whole number, not '" + text + "'");
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::set<int> scenarios;
  SyncWorkload sync_workload;
  IncrementalPullWorkload incremental_workload;
  TransportWorkload transport_workload;
  ConnectionsWorkload connections_workload;
  ScaleOutWorkload scale_out_workload;
  PouchdbPeer peer{CASEFILE_PEER_SCRIPT, CASEFILE_PEER_NODE_MODULES};
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    if (argument == "--help" || argument == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (i + 1 >= argc) usage_error("unknown argument or missing value: " + argument);
    const char* value = argv[++i];
    if (argument == "--scenario") {
      std::stringstream list(value);
      for (std::string item; std::getline(list, item, ',');) {
        const auto number = count_argument("--scenario", item.c_str());
        if (number > 8) usage_error("no scenario " + item);
        scenarios.insert(static_cast<int>(number));
      }
    } else if (argument == "--changes") {
      sync_workload.changes = count_argument(argument, value);
    } else if (argument == "--devices") {
      sync_workload.devices = count_argument(argument, value);
    } else if (argument == "--value-bytes") {
      sync_workload.value_bytes = count_argument(argument, value);
    } else if (argument == "--small-store") {
      incremental_workload.small_store = count_argument(argument, value);
    } else if (argument == "--large-store") {
      incremental_workload.large_store = count_argument(argument, value);
    } else if (argument == "--new-changes") {
      incremental_workload.new_changes = count_argument(argument, value);
    } else if (argument == "--connections") {
      connections_workload.connections = count_argument(argument, value);
    } else if (argument == "--period") {
      connections_workload.period_seconds = static_cast<double>(count_argument(argument, value));
    } else if (argument == "--duration") {
      connections_workload.duration_seconds = static_cast<double>(count_argument(argument, value));
    } else if (argument == "--threads") {
      transport_workload.threads = static_cast<unsigned>(count_argument(argument, value));
    } else if (argument == "--seconds") {
      transport_workload.seconds = static_cast<double>(count_argument(argument, value));
    } else if (argument == "--rounds") {
      transport_workload.rounds = static_cast<unsigned>(count_argument(argument, value));
    } else if (argument == "--scale-changes") {
      scale_out_workload.changes = count_argument(argument, value);
    } else if (argument == "--scale-devices") {
      scale_out_workload.devices = count_argument(argument, value);
    } else if (argument == "--scale-rounds") {
      scale_out_workload.rounds = count_argument(argument, value);
    } else if (argument == "--node-modules") {
      peer.node_modules = value;
    } else {
      usage_error("unknown argument: " + argument);
    }
  }
  if (scenarios.empty()) scenarios = {1, 2, 3, 4, 5, 6, 7, 8};

  std::printf("# casefile-bench\n");
  // The transport scenarios first: their minimal server forks, which is
  // safest before the sync scenarios have started any thread.
  if (scenarios.count(5)) print_report(handshake_report(transport_workload));
  if (scenarios.count(6)) print_report(keep_alive_report(transport_workload));
  if (scenarios.count(1) || scenarios.count(2)) {
    const PushPullFigures figures = measure_push_and_pull(sync_workload);
    if (scenarios.count(1)) print_report(push_ingest_report(sync_workload, figures));
    if (scenarios.count(2)) print_report(initial_pull_report(sync_workload, figures));
  }
  if (scenarios.count(4)) print_report(connections_report(connections_workload));
  if (scenarios.count(3)) print_report(incremental_pull_report(incremental_workload));
  if (scenarios.count(7)) print_report(pouchdb_report(sync_workload, peer));
  if (scenarios.count(8)) print_report(scale_out_report(scale_out_workload));
  return 0;
}
