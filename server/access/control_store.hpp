// ControlStore: every piece of identity and access state (users, devices,
// enrolment codes, challenges, tokens, cases and memberships, the audit log),
// behind one interface so that several stateless casefiled instances can
// share it (DESIGN §7). SqlCipherControlStore is the embedded implementation;
// a PostgreSQL one will implement the same contract.
//
// Contract for every implementation:
//  - Each mutation that takes an AuditEvent commits the change and appends
//    that event to the audit log in ONE transaction: both or neither.
//  - Secrets are never stored: enrolment codes and bearer tokens as SHA-256
//    only. Challenges are public nonces.
//  - Times are milliseconds since the Unix epoch, given by the caller, so
//    expiry is tested without sleeping.
//  - Methods are safe to call from several threads at once.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/hash.hpp"
#include "crypto/x25519.hpp"
#include "server/access/device_context.hpp"
#include "sync/ids.hpp"

namespace casefile::server {

struct UserRecord {
  std::string name;
  Role role = Role::lawyer;
  bool disabled = false;
  std::int64_t created_at_ms = 0;
};

enum class DeviceState { pending, certified, revoked };
std::string_view device_state_name(DeviceState state);

struct DeviceRecord {
  sync::DeviceId id;
  std::string user;
  crypto::Ed25519PublicKey signing_public_key{};
  crypto::X25519PublicKey wrapping_public_key{};
  DeviceState state = DeviceState::pending;
  std::int64_t enrolled_at_ms = 0;
  crypto::Bytes certificate;  // sync::encode_certificate form; empty while pending
  crypto::Bytes wipe_order;   // sync::encode_wipe_order form; empty unless revoked
};

// What a caller asks to append; the store assigns sequence and hash.
struct AuditEvent {
  std::int64_t time_ms = 0;
  std::string actor;    // "admin:<os user>", "device:<uuid>", "anonymous"
  std::string event;    // docs/audit.md lists every event
  std::string subject;  // "user:<name>", "device:<uuid>", "case:<uuid>", or ""
  boost::json::object details;
};

struct AuditEntry {
  std::int64_t sequence = 0;  // 1, 2, 3, ... without gaps
  std::int64_t time_ms = 0;
  std::string actor;
  std::string event;
  std::string subject;
  std::string details_json;  // serialized once, at append; hashed as these bytes
  crypto::Sha256Digest hash{};
};

struct AuditQuery {
  std::optional<std::int64_t> since_ms;  // time_ms >= since
  std::optional<std::int64_t> until_ms;  // time_ms < until
  std::optional<std::string> event;
  std::optional<sync::DeviceId> device;  // entries whose actor or subject is this device
  std::optional<std::int64_t> after_sequence;
  std::size_t limit = 1000;
};

struct CaseMembers {
  sync::CaseId case_id;
  std::vector<std::string> users;
};

struct TokenRecord {
  sync::DeviceId device;
  std::int64_t expires_at_ms = 0;
};

struct AuditChainReport {
  std::int64_t entries = 0;
  crypto::Sha256Digest head{};  // hash of the last entry; all zero when empty
};

class ControlStore {
 public:
  virtual ~ControlStore() = default;

  // Users. Errors: "user_exists", "user_unknown".
  virtual Status add_user(const UserRecord& user, const AuditEvent& audit) = 0;
  virtual Result<std::optional<UserRecord>> find_user(std::string_view name) = 0;
  virtual Result<std::vector<UserRecord>> list_users() = 0;
  virtual Status set_user_disabled(std::string_view name, bool disabled, const AuditEvent& audit) = 0;

  // Enrolment codes. Errors: "user_unknown", "user_disabled".
  virtual Status add_enrolment_code(const crypto::Sha256Digest& code_hash, std::string_view user,
                                    std::int64_t expires_at_ms, const AuditEvent& audit) = 0;
  // Marks the code used and creates `device` (state pending, user from the
  // code) at once; adds {"user": ...} to the audit details. Errors:
  // "enrolment_code_invalid" (unknown, used or expired: one code on purpose),
  // "device_exists".
  virtual Result<DeviceRecord> enrol_device(const crypto::Sha256Digest& code_hash, std::int64_t now_ms,
                                            DeviceRecord device, AuditEvent audit) = 0;

  // Devices. Errors: "device_unknown", "device_not_pending", "device_revoked".
  virtual Result<std::optional<DeviceRecord>> find_device(const sync::DeviceId& device) = 0;
  virtual Result<std::vector<DeviceRecord>> list_devices() = 0;
  // pending -> certified.
  virtual Status certify_device(const sync::DeviceId& device, crypto::ByteView certificate,
                                const AuditEvent& audit) = 0;
  // pending or certified -> revoked, with the signed wipe order; deletes its
  // open challenges. Its tokens stop authenticating at once (authentication
  // reads the device state) and are kept until expiry, so that the device's
  // next request is answered with the wipe order.
  virtual Status revoke_device(const sync::DeviceId& device, crypto::ByteView wipe_order,
                               const AuditEvent& audit) = 0;

  // Challenges and tokens. Not audited on issue (one a sign-in); the token
  // exchange is. Errors: "challenge_invalid" (unknown, used or expired).
  virtual Status add_challenge(const sync::DeviceId& device, crypto::ByteView challenge,
                               std::int64_t expires_at_ms) = 0;
  // Marks the challenge used and stores the token hash, at once.
  virtual Status redeem_challenge(const sync::DeviceId& device, crypto::ByteView challenge,
                                  std::int64_t now_ms, const crypto::Sha256Digest& token_hash,
                                  std::int64_t token_expires_at_ms, const AuditEvent& audit) = 0;
  virtual Result<std::optional<TokenRecord>> find_token(const crypto::Sha256Digest& token_hash) = 0;
  // Deletes expired challenges and tokens and used or expired codes; returns
  // how many rows went.
  virtual Result<std::int64_t> delete_expired(std::int64_t now_ms) = 0;

  // Cases. Errors: "case_exists", "case_unknown", "user_unknown",
  // "already_member", "not_member", "case_last_member".
  virtual Status create_case(const sync::CaseId& case_id, std::string_view first_member,
                             const AuditEvent& audit) = 0;
  virtual Result<bool> case_exists(const sync::CaseId& case_id) = 0;
  virtual Status add_case_member(const sync::CaseId& case_id, std::string_view user,
                                 const AuditEvent& audit) = 0;
  virtual Status remove_case_member(const sync::CaseId& case_id, std::string_view user,
                                    const AuditEvent& audit) = 0;
  virtual Result<std::vector<std::string>> case_members(const sync::CaseId& case_id) = 0;
  virtual Result<std::vector<sync::CaseId>> cases_of_user(std::string_view user) = 0;
  // Every case, ascending, with its member users (ascending): one read for
  // work over all cases (casefile-admin keys).
  virtual Result<std::vector<CaseMembers>> list_cases() = 0;

  // The audit log. append_audit is for events without a mutation (refusals).
  virtual Status append_audit(const AuditEvent& audit) = 0;
  virtual Result<std::vector<AuditEntry>> query_audit(const AuditQuery& query) = 0;
  // Recomputes every hash from the first entry. Errors: "audit_chain_broken"
  // (the message names the first bad sequence number).
  virtual Result<AuditChainReport> verify_audit_chain() = 0;
};

}  // namespace casefile::server
