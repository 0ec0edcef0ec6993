#include "server/sync_api/sync_api_routes.hpp"

namespace casefile::server {

Status register_sync_api_routes(Router& router, const SyncApi& api) {
  RouteOptions blocking;
  blocking.execution = RouteExecution::blocking_pool;
  CASEFILE_RETURN_IF_ERROR(router.add(
      "POST", "/v1/sync/push", [&sync = api.sync](const Request& request) { return sync.push(request); },
      blocking));
  CASEFILE_RETURN_IF_ERROR(router.add_async(
      "GET", "/v1/sync/pull",
      [&sync = api.sync](const Request& request, Router::Responder respond) {
        sync.pull(request, std::move(respond));
      },
      blocking));
  CASEFILE_RETURN_IF_ERROR(router.add(
      "GET", "/v1/schema", [&schema = api.schema](const Request& request) { return schema.get(request); }));
  CASEFILE_RETURN_IF_ERROR(router.add(
      "PUT", "/v1/keys/{case_id}/epochs/{epoch}",
      [&keys = api.keys](const Request& request) { return keys.put_epoch(request); }, blocking));
  CASEFILE_RETURN_IF_ERROR(router.add(
      "GET", "/v1/keys/{case_id}",
      [&keys = api.keys](const Request& request) { return keys.get_keys(request); }, blocking));
  CASEFILE_RETURN_IF_ERROR(router.add(
      "GET", "/v1/keys", [&keys = api.keys](const Request& request) { return keys.list_heads(request); },
      blocking));
  CASEFILE_RETURN_IF_ERROR(router.add(
      "POST", "/v1/keys/{case_id}/epochs/{epoch}/wraps",
      [&keys = api.keys](const Request& request) { return keys.add_wraps(request); }, blocking));
  return router.add(
      "GET", "/v1/admin/stats",
      [&statistics = api.statistics](const Request& request) { return statistics.get(request); }, blocking);
}

}  // namespace casefile::server
