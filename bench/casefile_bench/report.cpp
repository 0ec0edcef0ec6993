#include "bench/casefile_bench/report.hpp"

#include <cstdio>

namespace casefile::bench {
namespace {

std::string number(double value, const char* format) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

}  // namespace

void print_report(const ScenarioReport& report) {
  const bool database_columns = !report.rows.empty() && report.database_columns.size() == report.rows.size();
  std::printf("\n## scenario %d: %s\n\n", report.number, report.title.c_str());
  std::printf("| %-58s | %12s | %-11s | %9s | %9s | %9s | %12s | %14s |", "measure", "rate", "unit", "p50 ms",
              "p95 ms", "p99 ms", "server CPU s", "server VmHWM MiB");
  if (database_columns)
    std::printf(" %14s | %18s | %13s |", "postgres CPU s", "postgres VmHWM MiB", "vs SQLCipher");
  std::printf("\n|%s|%s|%s|%s|%s|%s|%s|%s|", std::string(60, '-').c_str(), std::string(14, '-').c_str(),
              std::string(13, '-').c_str(), std::string(11, '-').c_str(), std::string(11, '-').c_str(),
              std::string(11, '-').c_str(), std::string(14, '-').c_str(), std::string(16, '-').c_str());
  if (database_columns)
    std::printf("%s|%s|%s|", std::string(16, '-').c_str(), std::string(20, '-').c_str(),
                std::string(15, '-').c_str());
  std::printf("\n");
  for (std::size_t index = 0; index < report.rows.size(); ++index) {
    const ReportRow& row = report.rows[index];
    const auto latency = [&](double LatencySummary::*field) {
      return row.latency ? number((*row.latency).*field, "%.1f") : std::string("-");
    };
    std::printf("| %-58s | %12s | %-11s | %9s | %9s | %9s | %12s | %14s |", row.measure.c_str(),
                number(row.rate, "%.0f").c_str(), row.unit.c_str(), latency(&LatencySummary::p50_ms).c_str(),
                latency(&LatencySummary::p95_ms).c_str(), latency(&LatencySummary::p99_ms).c_str(),
                row.server ? number(row.server->cpu_seconds, "%.1f").c_str() : "-",
                row.server ? number(row.server->peak_rss_mib, "%.0f").c_str() : "-");
    if (database_columns) {
      const DatabaseColumns& columns = report.database_columns[index];
      std::printf(" %14s | %18s | %13s |",
                  columns.database ? number(columns.database->cpu_seconds, "%.1f").c_str() : "-",
                  columns.database ? number(columns.database->peak_rss_mib, "%.0f").c_str() : "-",
                  columns.relative ? number(*columns.relative, "%.2f").c_str() : "-");
    }
    std::printf("\n");
  }
  if (!report.ratio_name.empty()) {
    std::printf("\n%s: %.2f (target %s): %s\n", report.ratio_name.c_str(), report.ratio,
                report.target.c_str(), report.met ? "met" : "NOT met");
  }
  for (const auto& note : report.notes) std::printf("%s\n", note.c_str());
  std::fflush(stdout);
}

}  // namespace casefile::bench
