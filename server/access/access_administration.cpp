#include "server/access/access_administration.hpp"

#include "crypto/random.hpp"
#include "sync/device_authentication.hpp"

namespace casefile::server {
namespace {

std::string device_subject(const sync::DeviceId& device) { return "device:" + sync::to_text(device); }
std::string case_subject(const sync::CaseId& case_id) { return "case:" + sync::to_text(case_id); }

}  // namespace

AuditEvent AccessAdministration::event(std::string name, std::string subject,
                                       boost::json::object details) const {
  return AuditEvent{clock_(), actor_, std::move(name), std::move(subject), std::move(details)};
}

Status AccessAdministration::add_user(const std::string& name, Role role) {
  if (!sync::valid_user_name(name)) {
    return make_error("invalid_argument", "a user name is 1 to 128 characters of a-z 0-9 . _ - @");
  }
  const UserRecord user{name, role, false, clock_()};
  return store_.add_user(user, event("user_added", "user:" + name, {{"role", role_name(role)}}));
}

Status AccessAdministration::set_user_disabled(const std::string& name, bool disabled) {
  return store_.set_user_disabled(name, disabled,
                                  event(disabled ? "user_disabled" : "user_enabled", "user:" + name));
}

Result<NewEnrolmentCode> AccessAdministration::create_enrolment_code(const std::string& user,
                                                                     std::chrono::minutes lifetime) {
  if (lifetime < std::chrono::minutes(1) || lifetime > std::chrono::days(7)) {
    return make_error("invalid_argument", "an enrolment code lives between 1 minute and 7 days");
  }
  sync::EnrolmentCode code{};
  CASEFILE_RETURN_IF_ERROR(crypto::fill_random(code));
  NewEnrolmentCode created;
  created.text = sync::enrolment_code_to_text(code);
  created.expires_at_ms = clock_() + std::chrono::duration_cast<std::chrono::milliseconds>(lifetime).count();
  const crypto::Sha256Digest hash = crypto::sha256(code);
  std::fill(code.begin(), code.end(), 0);
  CASEFILE_RETURN_IF_ERROR(store_.add_enrolment_code(
      hash, user, created.expires_at_ms,
      event("enrolment_code_created", "user:" + user, {{"expires_at", created.expires_at_ms}})));
  return created;
}

Result<sync::DeviceCertificate> AccessAdministration::certify_device(
    const sync::DeviceId& device_id, const crypto::Ed25519PrivateKey& authority, std::chrono::days validity) {
  auto device = store_.find_device(device_id);
  if (!device.ok()) return std::move(device).error();
  if (!*device) return make_error("device_unknown", "no device " + sync::to_text(device_id));
  if ((*device)->state != DeviceState::pending) {
    return make_error("device_not_pending", "device " + sync::to_text(device_id) + " is " +
                                                std::string(device_state_name((*device)->state)));
  }
  auto user = store_.find_user((*device)->user);
  if (!user.ok()) return std::move(user).error();
  if (!*user) return make_error("user_unknown", "no user named " + (*device)->user);
  if ((*user)->disabled) return make_error("user_disabled", "user " + (*device)->user + " is disabled");

  const std::int64_t now = clock_();
  sync::DeviceCertificate certificate;
  certificate.device = device_id;
  certificate.user = (*user)->name;
  certificate.role = std::string(role_name((*user)->role));
  certificate.signing_public_key = (*device)->signing_public_key;
  certificate.wrapping_public_key = (*device)->wrapping_public_key;
  certificate.not_before_ms = now - std::chrono::milliseconds(kCertificateClockSkew).count();
  certificate.not_after_ms = now + std::chrono::duration_cast<std::chrono::milliseconds>(validity).count();
  auto signed_certificate = sync::sign_certificate(std::move(certificate), authority);
  if (!signed_certificate.ok()) return std::move(signed_certificate).error();
  CASEFILE_RETURN_IF_ERROR(store_.certify_device(device_id, sync::encode_certificate(*signed_certificate),
                                                 event("device_certified", device_subject(device_id),
                                                       {{"user", signed_certificate->user},
                                                        {"role", signed_certificate->role},
                                                        {"not_after", signed_certificate->not_after_ms}})));
  return signed_certificate;
}

Result<sync::WipeOrder> AccessAdministration::sign_wipe_order(const sync::DeviceId& device,
                                                              const crypto::Ed25519PrivateKey& authority,
                                                              const std::string& reason) {
  sync::WipeOrder order;
  order.device = device;
  order.issued_at_ms = clock_();
  order.reason = reason;
  return sync::sign_wipe_order(std::move(order), authority);
}

Result<sync::WipeOrder> AccessAdministration::revoke_device(const sync::DeviceId& device,
                                                            const crypto::Ed25519PrivateKey& authority,
                                                            const std::string& reason) {
  auto order = sign_wipe_order(device, authority, reason);
  if (!order.ok()) return std::move(order).error();
  CASEFILE_RETURN_IF_ERROR(
      store_.revoke_device(device, sync::encode_wipe_order(*order),
                           event("device_revoked", device_subject(device), {{"reason", reason}})));
  return order;
}

Status AccessAdministration::add_case_member(const sync::CaseId& case_id, const std::string& user) {
  return store_.add_case_member(case_id, user,
                                event("case_member_added", case_subject(case_id), {{"user", user}}));
}

Status AccessAdministration::remove_case_member(const sync::CaseId& case_id, const std::string& user) {
  return store_.remove_case_member(case_id, user,
                                   event("case_member_removed", case_subject(case_id), {{"user", user}}));
}

Result<AuditChainReport> AccessAdministration::verify_audit_chain() {
  auto report = store_.verify_audit_chain();
  boost::json::object details = report.ok() ? boost::json::object{{"result", "intact"},
                                                                  {"entries", report->entries},
                                                                  {"head", crypto::to_hex(report->head)}}
                                            : boost::json::object{{"result", report.error().code}};
  CASEFILE_RETURN_IF_ERROR(store_.append_audit(event("audit_verified", "", std::move(details))));
  return report;
}

}  // namespace casefile::server
