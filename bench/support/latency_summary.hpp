// Percentiles of a set of latencies (nearest-rank), in milliseconds.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

namespace casefile::bench {

struct LatencySummary {
  std::size_t samples = 0;
  double p50_ms = 0;
  double p95_ms = 0;
  double p99_ms = 0;
};

inline LatencySummary summarize_latencies(std::vector<double> milliseconds) {
  LatencySummary summary;
  summary.samples = milliseconds.size();
  if (milliseconds.empty()) return summary;
  std::sort(milliseconds.begin(), milliseconds.end());
  const auto rank = [&](double percentile) {
    const auto index = static_cast<std::size_t>(std::ceil(percentile / 100.0 * milliseconds.size()));
    return milliseconds[std::min(milliseconds.size(), std::max<std::size_t>(index, 1)) - 1];
  };
  summary.p50_ms = rank(50);
  summary.p95_ms = rank(95);
  summary.p99_ms = rank(99);
  return summary;
}

}  // namespace casefile::bench
