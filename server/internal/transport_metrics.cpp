#include "server/internal/transport_metrics.hpp"

#include <string>

namespace casefile::server::internal {

TransportMetrics::TransportMetrics(MetricsRegistry& registry)
    : open_connections(registry.gauge("casefile_http_open_connections", "Open client connections.")),
      refused_connections(registry.counter("casefile_http_refused_connections_total",
                                           "Connections refused because max_connections were open.")),
      handshake_failures(registry.counter("casefile_tls_handshake_failures_total", "Failed TLS handshakes.")),
      read_timeouts(registry.counter("casefile_http_read_timeouts_total",
                                     "Requests whose header or body did not arrive in time.")),
      pipeline_stalls(registry.counter("casefile_http_pipeline_stalls_total",
                                       "Times a connection stopped reading because too many requests were "
                                       "unanswered.")),
      busy_refusals(registry.counter("casefile_http_server_busy_total",
                                     "Requests refused because the blocking work queue was full.")),
      tls_reloads_succeeded(registry.counter("casefile_tls_reloads_total", "TLS certificate reloads.",
                                             {{"result", "success"}})),
      tls_reloads_failed(registry.counter("casefile_tls_reloads_total", "TLS certificate reloads.",
                                          {{"result", "failure"}})),
      registry_(registry) {}

void TransportMetrics::record_request(std::string_view route, std::string_view method, unsigned status,
                                      double seconds) {
  const std::string code = std::to_string(status);
  registry_
      .counter("casefile_http_requests_total", "HTTP requests answered, by route template and status code.",
               {{"route", std::string(route)}, {"method", std::string(method)}, {"code", code}})
      .increment();
  registry_
      .histogram("casefile_http_request_duration_seconds", "Time from request header to response written.",
                 default_latency_buckets(), {{"route", std::string(route)}})
      .observe(seconds);
}

std::string_view method_label(std::string_view method) {
  for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    if (method == known) return known;
  }
  return "other";
}

}  // namespace casefile::server::internal
