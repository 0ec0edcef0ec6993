// Sealed-field envelopes (DESIGN §5): how one sensitive field value is
// encrypted under its case key, so that the server stores only ciphertext.
//
//   version u8 | suite u8 | epoch u32 | salt[32] | commitment[32] | ciphertext || tag[16]
//
// Per-value keys come from HKDF(case key, fresh random salt), so nonces cannot
// repeat across offline devices. The commitment, a second HKDF output of the
// same derivation, makes the envelope open under one case key only. The
// associated data binds header, case, collection, record and field, so an
// envelope moved anywhere else fails. The plaintext is padded with Padmé before
// sealing. Byte-exact construction and references: docs/crypto.md.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "crypto/secret_bytes.hpp"

namespace casefile::crypto {

inline constexpr std::uint8_t kEnvelopeVersion = 1;
// HKDF-SHA256 key derivation and commitment, ChaCha20-Poly1305, Padmé.
inline constexpr std::uint8_t kEnvelopeSuite = 1;
inline constexpr std::size_t kEnvelopeHeaderSize = 70;
inline constexpr std::size_t kEnvelopeMaxPlaintextSize = std::size_t{1} << 20;  // 1 MiB
inline constexpr std::size_t kEnvelopeMaxContextFieldSize = 1024;
inline constexpr std::size_t kCaseKeySize = 32;

// Where a value lives. Each part is 1..1024 bytes; the views must outlive the call.
struct FieldContext {
  std::string_view case_id;
  std::string_view collection;
  std::string_view record_id;
  std::string_view field_name;
};

// Errors: "invalid_key" (case key not 32 bytes), "invalid_context",
// "value_too_large" (over kEnvelopeMaxPlaintextSize), "random_failed".
Result<Bytes> seal_field(const FieldContext& context, std::uint32_t epoch, ByteView case_key,
                         ByteView plaintext);

// `epoch` and `case_key` are the key the caller expects the envelope to be
// under (see read_envelope_epoch). Errors, in the order they are checked:
// "unsupported_version", "malformed_envelope" (size or structure),
// "unsupported_suite", "wrong_epoch", "invalid_key", "invalid_context",
// "bad_commitment" (salt or commitment altered, or another case key),
// "decrypt_failed" (ciphertext altered, or moved to another field, record,
// collection or case).
Result<SecretBytes> open_field(const FieldContext& context, std::uint32_t epoch, ByteView case_key,
                               ByteView envelope);

// The case-key epoch an envelope claims, for key lookup and re-encryption;
// unauthenticated until open_field succeeds.
// Errors: "unsupported_version", "malformed_envelope".
Result<std::uint32_t> read_envelope_epoch(ByteView envelope);

// Padmé (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and
// Communication with PURBs", PoPETs 2019, §4): the padded length for `length`.
std::size_t padme_length(std::size_t length);

}  // namespace casefile::crypto
