#include "server/access/token_authenticator.hpp"

#include <chrono>

#include "server/access/internal/request_parts.hpp"
#include "sync/device_authentication.hpp"
#include "sync/device_certificate.hpp"
#include "sync/wipe_order.hpp"

namespace casefile::server {
namespace {

constexpr std::size_t kTokenSize = 32;

Error unavailable(const Error& cause) {
  return make_error("control_store_unavailable", "the control store failed: " + cause.code);
}

// The stored token record of the request's bearer token, if any.
Result<std::optional<TokenRecord>> token_of(ControlStore& store, const Request& request) {
  auto text = internal::bearer_token(request);
  if (!text) return std::optional<TokenRecord>();
  auto bytes = sync::bytes_from_wire_text(*text);
  if (!bytes || bytes->size() != kTokenSize) return std::optional<TokenRecord>();
  return store.find_token(crypto::sha256(*bytes));
}

}  // namespace

std::int64_t system_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<DeviceContext> TokenAuthenticator::authenticate(const Request& request) const {
  auto token = token_of(store_, request);
  if (!token.ok()) return unavailable(token.error());
  if (!*token) return make_error("unauthenticated", "a valid bearer token is required");
  const std::int64_t now = clock_();
  if ((*token)->expires_at_ms < now) return make_error("token_expired", "the bearer token has expired");
  const sync::DeviceId device_id = (*token)->device;

  auto device = store_.find_device(device_id);
  if (!device.ok()) return unavailable(device.error());
  if (!*device) return make_error("unauthenticated", "a valid bearer token is required");
  std::optional<Error> refusal;
  std::optional<UserRecord> user;
  if ((*device)->state == DeviceState::revoked) {
    refusal = make_error("device_revoked", "this device is revoked and must wipe its data");
  } else if ((*device)->state != DeviceState::certified) {
    refusal = make_error("device_not_certified", "this device is not certified");
  } else {
    auto found = store_.find_user((*device)->user);
    if (!found.ok()) return unavailable(found.error());
    user = std::move(*found);
    if (!user || user->disabled) refusal = make_error("user_disabled", "the device's user is disabled");
  }
  if (refusal) {
    AuditEvent audit{now,
                     "device:" + sync::to_text(device_id),
                     "request_refused",
                     "device:" + sync::to_text(device_id),
                     {{"reason", refusal->code}, {"method", request.method}, {"path", request.path}}};
    auto appended = store_.append_audit(audit);
    if (!appended.ok()) return unavailable(appended.error());
    return *refusal;
  }

  auto certificate = sync::decode_certificate((*device)->certificate);
  if (!certificate.ok()) return unavailable(certificate.error());
  auto cases = store_.cases_of_user(user->name);
  if (!cases.ok()) return unavailable(cases.error());
  DeviceContext context;
  context.device = device_id;
  context.user = user->name;
  context.role = user->role;  // the user's role now, not as certified: demotion applies at once
  context.signing_key = certificate->signing_public_key;
  context.wrapping_key = certificate->wrapping_public_key;
  context.member_cases.insert(cases->begin(), cases->end());
  return context;
}

Response TokenAuthenticator::refusal_response(const Request& request, const Error& error) const {
  Response response = RequestAuthenticator::refusal_response(request, error);
  if (error.code != "device_revoked") return response;
  auto token = token_of(store_, request);
  if (!token.ok() || !*token) return response;
  auto device = store_.find_device((*token)->device);
  if (!device.ok() || !*device || (*device)->wipe_order.empty()) return response;
  auto order = sync::decode_wipe_order((*device)->wipe_order);
  if (!order.ok()) return response;
  return json_response(response.status,
                       boost::json::object{{"error", error.code},
                                           {"message", error.message},
                                           {"wipe_order", sync::wipe_order_to_json(*order)}});
}

}  // namespace casefile::server
