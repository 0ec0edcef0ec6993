// TlsPinStatement: the organisation authority's statement of which TLS keys
// devices must accept from casefiled, with the next one announced before the
// certificate is swapped (DESIGN §5, TLS row; docs/security.md, "TLS pin
// statements"). casefiled serves it at GET /v1/tls-pins; devices verify it
// against the authority key they got at enrolment, so the server alone
// cannot move a device to another key.
//
// Canonical encoding (docs/security.md), big-endian:
//   u8  version (1)
//   u64 sequence (increases with every statement; devices refuse a lower one)
//   u64 issued_at (ms since the Unix epoch)
//   32  current pin (SHA-256 of the certificate's SubjectPublicKeyInfo)
//   u8  has next (0 or 1)
//   32  next pin (only when has next is 1)
//   32  authority fingerprint
// The authority signs "casefile tls pins v1" || 0x00 || encoding.
// The stored and wire form is encoding || 64-byte signature; in text (the
// route's answer, `casefile-admin tls repin-code`), unpadded base64url.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/hash.hpp"

namespace casefile::sync {

inline constexpr std::uint8_t kTlsPinStatementVersion = 1;
inline constexpr std::string_view kTlsPinStatementLabel = "casefile tls pins v1";
// The longest text form accepted: a statement with a next pin is 179 bytes.
inline constexpr std::size_t kMaxTlsPinStatementText = 512;

struct TlsPinStatement {
  std::uint8_t version = kTlsPinStatementVersion;
  std::uint64_t sequence = 0;
  std::int64_t issued_at_ms = 0;
  crypto::Sha256Digest current_pin{};
  std::optional<crypto::Sha256Digest> next_pin;
  crypto::Sha256Digest authority_fingerprint{};
  crypto::Ed25519Signature signature{};

  friend bool operator==(const TlsPinStatement&, const TlsPinStatement&) = default;
};

crypto::Bytes tls_pin_statement_signing_message(const TlsPinStatement& statement);

// Fills in the fingerprint and the signature. Errors: the signer's.
Result<TlsPinStatement> sign_tls_pin_statement(TlsPinStatement statement,
                                               const crypto::Ed25519PrivateKey& authority);

// Errors: "tls_pins_wrong_authority" (fingerprint of another key),
// "tls_pins_invalid" (version or signature).
Status verify_tls_pin_statement(const TlsPinStatement& statement, crypto::ByteView authority_public_key);

// Verifies `statement` and checks it may replace the one accepted before
// (its sequence, if any): a lower sequence is "tls_pins_stale"; the same
// sequence is accepted only for the same statement (a repeat).
Status accept_tls_pin_statement(const TlsPinStatement& statement, crypto::ByteView authority_public_key,
                                std::optional<std::uint64_t> accepted_sequence);

// Errors: "tls_pins_invalid" (truncated, trailing bytes, bad version or flag).
crypto::Bytes encode_tls_pin_statement(const TlsPinStatement& statement);
Result<TlsPinStatement> decode_tls_pin_statement(crypto::ByteView bytes);

// Unpadded base64url of the encoding. Errors: "tls_pins_invalid" (not
// base64url, longer than kMaxTlsPinStatementText, or as decode's).
std::string tls_pin_statement_to_text(const TlsPinStatement& statement);
Result<TlsPinStatement> tls_pin_statement_from_text(std::string_view text);

}  // namespace casefile::sync
