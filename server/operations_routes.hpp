// The routes every casefiled serves for its operators (DESIGN §8):
//   GET /healthz  200 while the process runs;
//   GET /readyz   200 when `ready` says so (store open, not draining), else
//                 503 not_ready with the reason;
//   GET /metrics  the registry in the Prometheus text format.
#pragma once

#include <functional>

#include "base/result.hpp"
#include "server/metrics.hpp"
#include "server/router.hpp"

namespace casefile::server {

using ReadinessCheck = std::function<Status()>;

// REQUIRES: metrics outlives the router. Errors: those of Router::add.
Status add_operations_routes(Router& router, MetricsRegistry& metrics, ReadinessCheck ready);

}  // namespace casefile::server
