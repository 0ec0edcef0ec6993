// Registers the sync API on casefiled's Router (docs/protocol.md):
//   POST /v1/sync/push                       blocking pool
//   GET  /v1/sync/pull                       asynchronous, started on the blocking pool
//   GET  /v1/schema                          I/O thread (served from memory)
//   PUT  /v1/keys/{case_id}/epochs/{epoch}   blocking pool
//   GET  /v1/keys/{case_id}                  blocking pool
//   GET  /v1/keys                            blocking pool
//   POST /v1/keys/{case_id}/epochs/{epoch}/wraps   blocking pool
//   GET  /v1/admin/stats                     blocking pool
#pragma once

#include "base/result.hpp"
#include "server/router.hpp"
#include "server/sync_api/key_wrap_endpoints.hpp"
#include "server/sync_api/schema_endpoint.hpp"
#include "server/sync_api/statistics_endpoint.hpp"
#include "server/sync_api/sync_endpoints.hpp"

namespace casefile::server {

struct SyncApi {
  SyncEndpoints& sync;
  const SchemaEndpoint& schema;
  KeyWrapEndpoints& keys;
  const StatisticsEndpoint& statistics;
};

// REQUIRES: the endpoints outlive the router. Errors: the Router's.
Status register_sync_api_routes(Router& router, const SyncApi& api);

}  // namespace casefile::server
