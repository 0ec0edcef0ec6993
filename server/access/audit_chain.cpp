#include "server/access/audit_chain.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <string_view>

namespace casefile::server {
namespace {

constexpr std::string_view kAuditLabel = "casefile audit v1";
constexpr std::size_t kMaxAuditText = 0xffff;
constexpr std::size_t kMaxAuditDetails = 64 * 1024;

void append_unsigned(crypto::Bytes& out, std::uint64_t value, int width) {
  for (int shift = (width - 1) * 8; shift >= 0; shift -= 8)
    out.push_back(static_cast<std::uint8_t>(value >> shift));
}

// REQUIRES: text.size() fits `width` bytes (the store bounds every field).
void append_text(crypto::Bytes& out, std::string_view text, int width) {
  append_unsigned(out, text.size(), width);
  out.insert(out.end(), text.begin(), text.end());
}

}  // namespace

crypto::Bytes audit_entry_canonical_bytes(const AuditEntry& entry) {
  crypto::Bytes out(kAuditLabel.begin(), kAuditLabel.end());
  out.push_back(0);
  append_unsigned(out, static_cast<std::uint64_t>(entry.sequence), 8);
  append_unsigned(out, static_cast<std::uint64_t>(entry.time_ms), 8);
  append_text(out, entry.actor, 2);
  append_text(out, entry.event, 2);
  append_text(out, entry.subject, 2);
  append_text(out, entry.details_json, 4);
  return out;
}

crypto::Sha256Digest audit_entry_hash(const crypto::Sha256Digest& previous_hash, const AuditEntry& entry) {
  crypto::Sha256 hash;
  hash.update(previous_hash);
  hash.update(audit_entry_canonical_bytes(entry));
  return hash.finish();
}

Result<AuditEntry> next_audit_entry(const AuditEvent& event, std::int64_t previous_sequence,
                                    const crypto::Sha256Digest& previous_hash) {
  AuditEntry entry;
  entry.sequence = previous_sequence + 1;
  entry.time_ms = event.time_ms;
  entry.actor = event.actor;
  entry.event = event.event;
  entry.subject = event.subject;
  entry.details_json = boost::json::serialize(event.details);
  if (entry.actor.size() > kMaxAuditText || entry.event.size() > kMaxAuditText ||
      entry.subject.size() > kMaxAuditText || entry.details_json.size() > kMaxAuditDetails) {
    return make_error("invalid_argument", "audit event too large");
  }
  entry.hash = audit_entry_hash(previous_hash, entry);
  return entry;
}

Status AuditChainVerifier::add(const AuditEntry& entry) {
  const std::int64_t expected = report_.entries + 1;
  if (entry.sequence != expected) {
    return make_error("audit_chain_broken", "audit entry " + std::to_string(expected) + " is missing");
  }
  const crypto::Sha256Digest hash = audit_entry_hash(report_.head, entry);
  if (hash != entry.hash) {
    return make_error("audit_chain_broken",
                      "audit entry " + std::to_string(entry.sequence) + " does not match the chain");
  }
  report_.head = hash;
  report_.entries = expected;
  return ok_status();
}

boost::json::object audit_entry_to_json(const AuditEntry& entry) {
  boost::json::object object{
      {"sequence", entry.sequence}, {"time", entry.time_ms},    {"actor", entry.actor},
      {"event", entry.event},       {"subject", entry.subject}, {"hash", crypto::to_hex(entry.hash)},
  };
  boost::system::error_code error;
  boost::json::value details = boost::json::parse(entry.details_json, error);
  object["details"] = error ? boost::json::value(entry.details_json) : std::move(details);
  return object;
}

}  // namespace casefile::server
