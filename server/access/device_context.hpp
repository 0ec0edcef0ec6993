// Who is calling: what the authentication layer establishes for a request,
// and the one question every endpoint asks of it. Endpoints never read tokens
// or the control store themselves; they take a DeviceContext.
#pragma once

#include <set>
#include <string>

#include "base/result.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/x25519.hpp"
#include "server/http_message.hpp"
#include "sync/ids.hpp"

namespace casefile::server {

// Roles, lowest to highest. An admin is not a member of every case: access to
// records is per case membership for every role (DESIGN §1, insider threat).
enum class Role { lawyer, supervisor, admin };

std::string_view role_name(Role role);
Result<Role> parse_role(std::string_view name);  // Errors: "invalid_role".

// A certified, unrevoked device with a valid bearer token, as of this request.
struct DeviceContext {
  sync::DeviceId device;
  std::string user;
  Role role = Role::lawyer;
  crypto::Ed25519PublicKey signing_key{};  // from its authority-signed certificate
  crypto::X25519PublicKey wrapping_key{};  // from its authority-signed certificate
  std::set<sync::CaseId> member_cases;     // the cases its user may read and write now
};

class RequestAuthenticator {
 public:
  virtual ~RequestAuthenticator() = default;
  // Reads "Authorization: Bearer <token>" and answers with the device, read
  // afresh from the store (so a revocation takes effect on the next request,
  // on every instance). Errors, each with its HTTP status in docs/protocol.md:
  //   "unauthenticated" (401: no or malformed token), "token_expired" (401),
  //   "device_revoked" (403; the response carries the signed wipe order),
  //   "device_not_certified" (403), "user_disabled" (403).
  virtual Result<DeviceContext> authenticate(const Request& request) const = 0;

  // The response for an error from authenticate(), ready to send: its status
  // (authentication_error_status) and {"error", "message"}; for
  // "device_revoked", also "wipe_order", the authority-signed order the device
  // must obey. The default has no wipe order to give.
  virtual Response refusal_response(const Request& request, const Error& error) const;
};

// 401 for "unauthenticated", "token_expired"; 403 for "device_revoked",
// "device_not_certified", "user_disabled", "forbidden"; 500 for any other code
// (a store failure).
unsigned authentication_error_status(std::string_view code);

}  // namespace casefile::server
