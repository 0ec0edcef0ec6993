// AccessService: the HTTP handlers of identity and access, as plain
// Request -> Response functions over a ControlStore (docs/security.md and
// docs/protocol.md show every request, response and error code).
//
// Unauthenticated:
//   POST /v1/enrol                  a device presents an enrolment code
//   GET  /v1/enrol/{device_id}      the device polls for its certificate
//   POST /v1/auth/challenge         a certified device asks for a challenge
//   POST /v1/auth/token             ... and signs it for a bearer token
//   GET  /v1/authority              the organisation authority's public key
// Bearer token:
//   GET  /v1/devices/{device_id}/certificate   another device's certificate
//   POST /v1/cases, GET /v1/cases
//   GET/POST /v1/cases/{case_id}/members, DELETE .../members/{user}
//   GET /v1/admin/users, GET /v1/admin/devices,
//   POST /v1/admin/devices/{device_id}/revoke, GET /v1/admin/audit (role admin)
//
// Every enrolment, sign-in (success and refusal), case and membership change
// and admin request is audited in the same transaction as its effect.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>

#include "crypto/ed25519.hpp"
#include "crypto/hash.hpp"
#include "server/access/control_store.hpp"
#include "server/access/token_authenticator.hpp"
#include "server/http_message.hpp"
#include "server/instance.hpp"
#include "sync/device_authentication.hpp"

namespace casefile::server {

struct AccessServiceOptions {
  std::chrono::milliseconds challenge_lifetime{std::chrono::minutes(2)};
  std::chrono::milliseconds token_lifetime{std::chrono::hours(1)};
  // Served by GET /v1/authority (org/recovery.sig, sync/recovery_key_statement.hpp);
  // nullopt: the instance has no statement yet, and both fields are null.
  std::optional<RecoveryKeyStatement> recovery_key_statement;
};

class AccessService {
 public:
  // `tls_pin` is the SPKI SHA-256 of the server's TLS key, which devices bind
  // into their challenge signatures.
  AccessService(ControlStore& store, const crypto::Ed25519PublicKey& authority_public_key,
                const crypto::Sha256Digest& tls_pin, AccessClock clock = system_clock_ms,
                AccessServiceOptions options = {});

  const RequestAuthenticator& authenticator() const { return authenticator_; }

  // The server's TLS key changed (SIGHUP): sign-ins bind the new pin from now
  // on, and the previous one still, for devices on connections opened before
  // the reload. A man in the middle's pin is neither. Thread-safe.
  void rotate_tls_pin(const crypto::Sha256Digest& pin);

  Response enrol(const Request& request);
  Response enrolment_status(const Request& request);
  Response issue_challenge(const Request& request);
  Response issue_token(const Request& request);
  Response authority(const Request& request);

  Response device_certificate(const Request& request);

  Response create_case(const Request& request);
  Response list_cases(const Request& request);
  Response list_case_members(const Request& request);
  Response add_case_member(const Request& request);
  Response remove_case_member(const Request& request);

  Response admin_users(const Request& request);
  Response admin_devices(const Request& request);
  Response admin_revoke_device(const Request& request);
  Response admin_audit(const Request& request);

 private:
  // The certified device with an enabled user that may sign in. Errors:
  // "device_unknown", "device_not_certified", "device_revoked",
  // "user_disabled", "certificate_expired", "certificate_invalid".
  Result<DeviceRecord> device_for_sign_in(const sync::DeviceId& device, std::int64_t now);
  // The signature covers the current TLS pin, or the one before the last reload.
  bool signed_over_a_current_pin(const DeviceRecord& device, const sync::TokenRequest& request) const;
  Response refuse(const Error& error, const std::optional<sync::DeviceId>& device);
  Response audited_refusal(const Error& error, std::string actor, std::string event,
                           const sync::DeviceId& device);
  // Authenticates and, when `admin_only`, requires the admin role.
  Result<DeviceContext> caller(const Request& request, bool admin_only, Response& refusal);

  ControlStore& store_;
  crypto::Ed25519PublicKey authority_public_key_;
  mutable std::mutex tls_pins_mutex_;
  crypto::Sha256Digest tls_pin_;                          // GUARDED_BY(tls_pins_mutex_)
  std::optional<crypto::Sha256Digest> previous_tls_pin_;  // GUARDED_BY(tls_pins_mutex_)
  AccessClock clock_;
  AccessServiceOptions options_;
  TokenAuthenticator authenticator_;
};

// The HTTP status of an access error code; 500 for codes it does not know.
unsigned access_error_status(std::string_view code);

}  // namespace casefile::server
