// casefile-bench's peer comparisons, each peer started by the bench and
// driven in the same run as casefiled:
//   5  TLS handshakes a second: the minimal Beast TLS server
//      (bench/support/transport_load.hpp), same certificate and settings
//   6  keep-alive small requests a second: nginx (Debian package) serving a
//      static file over TLS with the same certificate, own config in a
//      scratch directory (not the system service)
//   7  the push-and-pull workload: PouchDB replication against
//      express-pouchdb (bench/peer/pouchdb_replication.js, run with node;
//      its packages installed by tools/run-benchmarks under build/)
#pragma once

#include <filesystem>

#include "bench/casefile_bench/report.hpp"
#include "bench/casefile_bench/sync_scenarios.hpp"

namespace casefile::bench {

struct TransportWorkload {
  unsigned threads = 4;  // client threads of the one load driver
  double seconds = 2;    // per round and server
  unsigned rounds = 3;   // interleaved; the median round is kept
};

ScenarioReport handshake_report(const TransportWorkload& workload);
ScenarioReport keep_alive_report(const TransportWorkload& workload);

struct PouchdbPeer {
  std::filesystem::path script;        // bench/peer/pouchdb_replication.js
  std::filesystem::path node_modules;  // where npm installed bench/peer/package.json
};

// Scenario 7: measure_push_and_pull with one device, then the peer with the
// same number of documents and body size.
ScenarioReport pouchdb_report(const SyncWorkload& workload, const PouchdbPeer& peer);

}  // namespace casefile::bench
