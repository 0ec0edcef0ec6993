// The audit log's hash chain, independent of where entries are stored.
//
// Each entry's hash is SHA-256(previous entry's hash || canonical bytes),
// with 32 zero bytes before the first. Canonical bytes, big-endian:
//   "casefile audit v1" || 0x00 || u64 sequence || u64 time_ms ||
//   u16 len + actor || u16 len + event || u16 len + subject ||
//   u32 len + details_json
// Editing, deleting or reordering any entry changes every later hash; cutting
// entries off the end is seen only against a head hash kept elsewhere
// (docs/audit.md).
#pragma once

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"
#include "server/access/control_store.hpp"

namespace casefile::server {

crypto::Bytes audit_entry_canonical_bytes(const AuditEntry& entry);
crypto::Sha256Digest audit_entry_hash(const crypto::Sha256Digest& previous_hash, const AuditEntry& entry);

// The entry that follows `previous_sequence` (0 before the first) and
// `previous_hash`: the event's fields, its details serialized once, and its
// hash. Every ControlStore appends through this. Errors: "invalid_argument"
// (a text field over 65535 bytes, or details over 64 KiB).
Result<AuditEntry> next_audit_entry(const AuditEvent& event, std::int64_t previous_sequence,
                                    const crypto::Sha256Digest& previous_hash);

// Checks entries read in sequence order, one at a time, against the chain.
class AuditChainVerifier {
 public:
  // Errors: "audit_chain_broken" (the message names the first bad sequence).
  [[nodiscard]] Status add(const AuditEntry& entry);
  const AuditChainReport& report() const { return report_; }

 private:
  AuditChainReport report_;
};

// The JSON form used by /v1/admin/audit and casefile-admin audit --json.
boost::json::object audit_entry_to_json(const AuditEntry& entry);

}  // namespace casefile::server
