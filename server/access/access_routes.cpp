#include "server/access/access_routes.hpp"

namespace casefile::server {

Status register_access_routes(Router& router, AccessService& service) {
  using Method = Response (AccessService::*)(const Request&);
  struct Route {
    const char* method;
    const char* path;
    Method handler;
  };
  const Route routes[] = {
      {"POST", "/v1/enrol", &AccessService::enrol},
      {"GET", "/v1/enrol/{device_id}", &AccessService::enrolment_status},
      {"POST", "/v1/auth/challenge", &AccessService::issue_challenge},
      {"POST", "/v1/auth/token", &AccessService::issue_token},
      {"GET", "/v1/authority", &AccessService::authority},
      {"GET", "/v1/devices/{device_id}/certificate", &AccessService::device_certificate},
      {"POST", "/v1/cases", &AccessService::create_case},
      {"GET", "/v1/cases", &AccessService::list_cases},
      {"GET", "/v1/cases/{case_id}/members", &AccessService::list_case_members},
      {"POST", "/v1/cases/{case_id}/members", &AccessService::add_case_member},
      {"DELETE", "/v1/cases/{case_id}/members/{user}", &AccessService::remove_case_member},
      {"GET", "/v1/admin/users", &AccessService::admin_users},
      {"GET", "/v1/admin/devices", &AccessService::admin_devices},
      {"POST", "/v1/admin/devices/{device_id}/revoke", &AccessService::admin_revoke_device},
      {"GET", "/v1/admin/audit", &AccessService::admin_audit},
  };
  RouteOptions options;
  options.execution = RouteExecution::blocking_pool;
  for (const Route& route : routes) {
    CASEFILE_RETURN_IF_ERROR(router.add(
        route.method, route.path,
        [&service, handler = route.handler](const Request& request) { return (service.*handler)(request); },
        options));
  }
  return ok_status();
}

}  // namespace casefile::server
