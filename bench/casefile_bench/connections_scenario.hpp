// casefile-bench scenario 4: many device connections open at once, each
// syncing periodically (a pull of its device's cursor every period), against
// a real casefiled. Real enrolled devices sign in and push through the
// device library; their session tokens and cursors then drive the
// connections, which share the devices (casefiled sees each as a device's
// periodic sync: bearer token, pull from its cursor).
#pragma once

#include <cstddef>

#include "bench/casefile_bench/report.hpp"

namespace casefile::bench {

struct ConnectionsWorkload {
  std::size_t connections = 2000;
  std::size_t devices = 8;       // real devices whose tokens and cursors the connections use
  double period_seconds = 5;     // between one connection's syncs
  double duration_seconds = 30;  // measured, after every connection is open
};

// Raises this process's open-file limit to its hard limit first (casefiled
// inherits it); exits with a message when it stays below what is needed.
ScenarioReport connections_report(const ConnectionsWorkload& workload);

}  // namespace casefile::bench
