#include "sync/tls_pin_statement.hpp"

#include "crypto/constant_time.hpp"
#include "sync/internal/base64url.hpp"
#include "sync/internal/byte_writer.hpp"

namespace casefile::sync {
namespace {

Error invalid(const std::string& why) { return make_error("tls_pins_invalid", "TLS pin statement: " + why); }

crypto::Bytes encode_body(const TlsPinStatement& statement) {
  internal::ByteWriter writer;
  writer.u8(statement.version);
  writer.u64(statement.sequence);
  writer.u64(static_cast<std::uint64_t>(statement.issued_at_ms));
  writer.raw(statement.current_pin);
  writer.u8(statement.next_pin ? 1 : 0);
  if (statement.next_pin) writer.raw(*statement.next_pin);
  writer.raw(statement.authority_fingerprint);
  return writer.take();
}

}  // namespace

crypto::Bytes tls_pin_statement_signing_message(const TlsPinStatement& statement) {
  internal::ByteWriter writer;
  writer.raw(crypto::as_bytes(kTlsPinStatementLabel));
  writer.u8(0);
  writer.raw(encode_body(statement));
  return writer.take();
}

Result<TlsPinStatement> sign_tls_pin_statement(TlsPinStatement statement,
                                               const crypto::Ed25519PrivateKey& authority) {
  statement.authority_fingerprint = crypto::sha256(authority.public_key());
  auto signature = authority.sign(tls_pin_statement_signing_message(statement));
  if (!signature.ok()) return std::move(signature).error();
  statement.signature = *signature;
  return statement;
}

Status verify_tls_pin_statement(const TlsPinStatement& statement, crypto::ByteView authority_public_key) {
  if (!crypto::constant_time_equal(crypto::sha256(authority_public_key), statement.authority_fingerprint)) {
    return make_error("tls_pins_wrong_authority", "the TLS pin statement names another authority");
  }
  if (statement.version != kTlsPinStatementVersion) return invalid("unsupported version");
  if (!crypto::ed25519_verify(authority_public_key, tls_pin_statement_signing_message(statement),
                              statement.signature)) {
    return invalid("the authority signature does not verify");
  }
  return ok_status();
}

Status accept_tls_pin_statement(const TlsPinStatement& statement, crypto::ByteView authority_public_key,
                                std::optional<std::uint64_t> accepted_sequence) {
  CASEFILE_RETURN_IF_ERROR(verify_tls_pin_statement(statement, authority_public_key));
  if (accepted_sequence && statement.sequence < *accepted_sequence) {
    return make_error("tls_pins_stale",
                      "the TLS pin statement has sequence " + std::to_string(statement.sequence) +
                          ", older than the accepted " + std::to_string(*accepted_sequence));
  }
  return ok_status();
}

crypto::Bytes encode_tls_pin_statement(const TlsPinStatement& statement) {
  crypto::Bytes bytes = encode_body(statement);
  bytes.insert(bytes.end(), statement.signature.begin(), statement.signature.end());
  return bytes;
}

Result<TlsPinStatement> decode_tls_pin_statement(crypto::ByteView bytes) {
  internal::ByteReader reader(bytes);
  TlsPinStatement statement;
  auto version = reader.u8();
  if (!version || *version != kTlsPinStatementVersion) return invalid("unsupported version");
  statement.version = *version;
  auto sequence = reader.u64();
  auto issued_at = reader.u64();
  if (!sequence || !issued_at) return invalid("truncated");
  if (*issued_at > INT64_MAX) return invalid("issued_at out of range");
  statement.sequence = *sequence;
  statement.issued_at_ms = static_cast<std::int64_t>(*issued_at);
  if (!reader.raw(statement.current_pin.data(), statement.current_pin.size())) return invalid("truncated");
  auto has_next = reader.u8();
  if (!has_next || *has_next > 1) return invalid("bad next-pin flag");
  if (*has_next == 1) {
    crypto::Sha256Digest next{};
    if (!reader.raw(next.data(), next.size())) return invalid("truncated");
    statement.next_pin = next;
  }
  if (!reader.raw(statement.authority_fingerprint.data(), statement.authority_fingerprint.size()) ||
      !reader.raw(statement.signature.data(), statement.signature.size())) {
    return invalid("truncated");
  }
  if (!reader.at_end()) return invalid("trailing bytes");
  return statement;
}

std::string tls_pin_statement_to_text(const TlsPinStatement& statement) {
  return internal::base64url_encode(encode_tls_pin_statement(statement));
}

Result<TlsPinStatement> tls_pin_statement_from_text(std::string_view text) {
  if (text.size() > kMaxTlsPinStatementText) return invalid("too long");
  auto bytes = internal::base64url_decode(text);
  if (!bytes) return invalid("not base64url");
  return decode_tls_pin_statement(*bytes);
}

}  // namespace casefile::sync
