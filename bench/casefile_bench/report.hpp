// casefile-bench's output: one table a scenario (markdown, so it pastes into
// docs/benchmarks.md), then the ratio to the baseline measured in the same
// run and whether the target is met.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bench/support/latency_summary.hpp"
#include "bench/support/process_usage.hpp"

namespace casefile::bench {

struct ReportRow {
  std::string measure;
  double rate = 0;   // operations a second
  std::string unit;  // what an operation is: "changes/s", "requests/s"
  std::optional<LatencySummary> latency;
  std::optional<ProcessUsage> server;  // CPU seconds used in the measure; peak RSS so far (all instances)
};

// Scenario 8's extra columns of one row: PostgreSQL's processes over the
// measure, and the row's rate over its SQLCipher row's.
struct DatabaseColumns {
  std::optional<ProcessUsage> database;
  std::optional<double> relative;
};

struct ScenarioReport {
  int number = 0;
  std::string title;
  std::vector<ReportRow> rows;
  std::vector<DatabaseColumns> database_columns;  // empty, or one a row: the table gets the extra columns
  // "casefiled / lower baseline", the ratio and its target; no target: empty.
  std::string ratio_name;
  double ratio = 0;
  std::string target;  // e.g. ">= 0.50"
  bool met = false;
  std::vector<std::string> notes;
};

void print_report(const ScenarioReport& report);

}  // namespace casefile::bench
