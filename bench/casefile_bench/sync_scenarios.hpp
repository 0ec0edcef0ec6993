// casefile-bench's sync scenarios: real FieldDevices (the device library)
// syncing with a real casefiled process over pinned TLS on loopback.
//   1  push ingest: N devices push their outboxes at once
//   2  initial pull: a new device pulls everything
//   3  incremental pull of 100 new changes, small store against large store
#pragma once

#include <cstddef>

#include "bench/casefile_bench/report.hpp"

namespace casefile::bench {

struct SyncWorkload {
  std::size_t changes = 100000;   // notes captured, over all devices
  std::size_t devices = 8;        // pushing at once, one thread each
  std::size_t value_bytes = 700;  // the sealed body of each note
};

struct PushPullFigures {
  std::size_t changes = 0;  // pushed and pulled: the notes and the case records
  double push_seconds = 0;
  double pull_seconds = 0;
  ReportRow push;                  // latency: one push batch round (prepare, sign, HTTPS, verdicts committed)
  ReportRow pull;                  // latency: one pull page (HTTPS, verify, merge, commit)
  double raw_insert_rate = 0;      // the same change bytes into a SQLCipher table, 500 a transaction
  double ed25519_verify_rate = 0;  // verifications a second on all cores
};

// Each device captures its share of the notes offline (not timed), all push
// at once (timed), then a new device, member of every case, pulls them all
// (timed). Exits with a message if a change is lost.
PushPullFigures measure_push_and_pull(const SyncWorkload& workload);

ScenarioReport push_ingest_report(const SyncWorkload& workload, const PushPullFigures& figures);
ScenarioReport initial_pull_report(const SyncWorkload& workload, const PushPullFigures& figures);

struct IncrementalPullWorkload {
  std::size_t small_store = 10000;
  std::size_t large_store = 1000000;
  std::size_t new_changes = 100;
  std::size_t rounds = 5;  // pulls measured per store size; the median is compared
};

// Scenario 3. The background changes (other cases, which the pulling device
// is not a member of) are seeded into casefile.db through the server store
// API in-process before casefiled starts; the new changes are pushed and
// pulled through HTTPS by real devices.
ScenarioReport incremental_pull_report(const IncrementalPullWorkload& workload);

}  // namespace casefile::bench
