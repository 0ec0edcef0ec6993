#include "server/operations_routes.hpp"

#include <boost/json/object.hpp>

namespace casefile::server {

Status add_operations_routes(Router& router, MetricsRegistry& metrics, ReadinessCheck ready) {
  CASEFILE_RETURN_IF_ERROR(router.add("GET", "/healthz", [](const Request&) {
    return json_response(200, boost::json::object{{"status", "alive"}});
  }));
  CASEFILE_RETURN_IF_ERROR(router.add("GET", "/readyz", [ready = std::move(ready)](const Request&) {
    const Status status = ready ? ready() : ok_status();
    if (!status.ok()) return error_response(503, transport_error::kNotReady, status.error().message);
    return json_response(200, boost::json::object{{"status", "ready"}});
  }));
  return router.add("GET", "/metrics", [&metrics](const Request&) {
    Response response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = metrics.render_prometheus();
    return response;
  });
}

}  // namespace casefile::server
