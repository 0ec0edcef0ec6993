// AccessAdministration: what casefile-admin does to identity and access, as a
// library over a ControlStore, so the commands and their tests share one path.
// The actor names who acts ("admin:<os user>") in every audit entry.
//
// Operations that sign (certify, revoke) take the authority key, which only
// casefile-admin holds, unwrapped with the admin passphrase: the server never
// sees it (DESIGN §5).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "crypto/ed25519.hpp"
#include "server/access/control_store.hpp"
#include "server/access/token_authenticator.hpp"
#include "sync/device_certificate.hpp"
#include "sync/wipe_order.hpp"

namespace casefile::server {

struct NewEnrolmentCode {
  std::string text;  // the only copy: the store keeps its SHA-256
  std::int64_t expires_at_ms = 0;
};

inline constexpr std::chrono::minutes kDefaultEnrolmentCodeLifetime{15};
inline constexpr std::chrono::days kDefaultCertificateValidity{365};
// A certificate's validity starts this long before certification, for device
// clocks that run slow.
inline constexpr std::chrono::minutes kCertificateClockSkew{10};

class AccessAdministration {
 public:
  AccessAdministration(ControlStore& store, std::string actor, AccessClock clock = system_clock_ms)
      : store_(store), actor_(std::move(actor)), clock_(std::move(clock)) {}

  // Errors: "invalid_argument" (user name), "user_exists".
  Status add_user(const std::string& name, Role role);
  // Errors: "user_unknown".
  Status set_user_disabled(const std::string& name, bool disabled);

  // Errors: "invalid_argument" (lifetime not in 1 min..7 days), "user_unknown", "user_disabled".
  Result<NewEnrolmentCode> create_enrolment_code(const std::string& user, std::chrono::minutes lifetime);

  // Signs and stores the certificate of a pending device, with the role its
  // user has now. Errors: "device_unknown", "device_not_pending",
  // "user_unknown", "user_disabled".
  Result<sync::DeviceCertificate> certify_device(const sync::DeviceId& device,
                                                 const crypto::Ed25519PrivateKey& authority,
                                                 std::chrono::days validity = kDefaultCertificateValidity);

  // Signs a wipe order, without storing anything (for the HTTP revoke route).
  // Errors: "invalid_argument" (reason over 1024 bytes).
  Result<sync::WipeOrder> sign_wipe_order(const sync::DeviceId& device,
                                          const crypto::Ed25519PrivateKey& authority,
                                          const std::string& reason);
  // Signs a wipe order and revokes the device with it. Errors: sign's,
  // "device_unknown", "device_revoked".
  Result<sync::WipeOrder> revoke_device(const sync::DeviceId& device,
                                        const crypto::Ed25519PrivateKey& authority,
                                        const std::string& reason);

  // Errors: the store's ("case_unknown", "user_unknown", "already_member",
  // "not_member", "case_last_member").
  Status add_case_member(const sync::CaseId& case_id, const std::string& user);
  Status remove_case_member(const sync::CaseId& case_id, const std::string& user);

  // Verifies the chain and records that it was verified (with the head).
  Result<AuditChainReport> verify_audit_chain();

 private:
  AuditEvent event(std::string name, std::string subject, boost::json::object details = {}) const;

  ControlStore& store_;
  std::string actor_;
  AccessClock clock_;
};

}  // namespace casefile::server
