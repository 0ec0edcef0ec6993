#include "server/access/device_context.hpp"

namespace casefile::server {

std::string_view role_name(Role role) {
  switch (role) {
    case Role::lawyer:
      return "lawyer";
    case Role::supervisor:
      return "supervisor";
    case Role::admin:
      return "admin";
  }
  return "lawyer";
}

Result<Role> parse_role(std::string_view name) {
  if (name == "lawyer") return Role::lawyer;
  if (name == "supervisor") return Role::supervisor;
  if (name == "admin") return Role::admin;
  return make_error("invalid_role", "a role is lawyer, supervisor or admin");
}

unsigned authentication_error_status(std::string_view code) {
  if (code == "unauthenticated" || code == "token_expired") return 401;
  if (code == "device_revoked" || code == "device_not_certified" || code == "user_disabled" ||
      code == "forbidden") {
    return 403;
  }
  return 500;
}

Response RequestAuthenticator::refusal_response(const Request& /*request*/, const Error& error) const {
  const unsigned status = authentication_error_status(error.code);
  if (status == 500) {
    // The cause stays in the server's log; the client learns only to retry.
    const std::string_view code = error.code == "control_store_unavailable"
                                      ? std::string_view("control_store_unavailable")
                                      : "internal_error";
    return error_response(500, code, "authentication is unavailable; retry later");
  }
  Response response = error_response(status, error.code, error.message);
  if (status == 401) response.headers.emplace_back("WWW-Authenticate", "Bearer");
  return response;
}

}  // namespace casefile::server
