// casefile-bench scenario 8, "scale out" (issue #10, docs/scale.md): (a)
// push ingest, (b) incremental pull and (c) a long-poll's wake-up by a push,
// each on three set-ups in one run, against real casefiled processes over
// pinned TLS with real devices (the device library):
//   SQLCipher, one casefiled (the baseline);
//   PostgreSQL, one casefiled;
//   PostgreSQL, two casefiled instances on one database: the pushing devices
//   split between them, and the reader pulls (and is woken) on the instance
//   the writer did not push to, so that the cross-instance path is timed.
// The PostgreSQL cluster is the bench's own (tests/support/postgres_cluster.hpp:
// initdb in a scratch directory, a loopback port, stopped at the end), with
// PostgreSQL's durable defaults. A missing PostgreSQL is an error (exit 1).
#pragma once

#include <cstddef>

#include "bench/casefile_bench/report.hpp"

namespace casefile::bench {

struct ScaleOutWorkload {
  std::size_t changes = 20000;    // notes pushed in (a), over all devices
  std::size_t devices = 4;        // pushing at once in (a), one thread each
  std::size_t value_bytes = 700;  // the sealed body of each note
  std::size_t new_changes = 100;  // pulled by the reader in each round of (b) and (c)
  std::size_t rounds = 10;        // rounds of (b) and of (c); the rate is the median's
};

// Measures the three set-ups one after another and returns one table: for
// each, (a), (b) and (c), with casefiled's CPU seconds (all instances),
// PostgreSQL's (its processes, from /proc) and peak RSS, and each row's rate
// over the SQLCipher row of the same measure.
// Exits with a message if a change is lost or PostgreSQL cannot start.
ScenarioReport scale_out_report(const ScaleOutWorkload& workload);

}  // namespace casefile::bench
