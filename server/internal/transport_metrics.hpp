// The transport's own series in the MetricsRegistry, looked up once.
#pragma once

#include <string_view>

#include "server/metrics.hpp"

namespace casefile::server::internal {

class TransportMetrics {
 public:
  explicit TransportMetrics(MetricsRegistry& registry);

  // One answered request: counted by route template, method and status code,
  // and its latency (first header byte parsed to response written) observed.
  void record_request(std::string_view route, std::string_view method, unsigned status, double seconds);

  Gauge& open_connections;
  Counter& refused_connections;  // over max_connections
  Counter& handshake_failures;
  Counter& read_timeouts;
  Counter& pipeline_stalls;  // reading paused: max_pipelined_requests unanswered
  Counter& busy_refusals;    // blocking pool queue full
  Counter& tls_reloads_succeeded;
  Counter& tls_reloads_failed;

 private:
  MetricsRegistry& registry_;
};

// A method as a label of bounded cardinality.
std::string_view method_label(std::string_view method);

}  // namespace casefile::server::internal
