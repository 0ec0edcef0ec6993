// Case-key wraps: one epoch's case key sealed to one recipient's X25519 key
// with HPKE (RFC 9180) base mode, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 /
// ChaCha20-Poly1305 (crypto/hpke.hpp, DESIGN §5).
//
//   info = "casefile case key v1" || 0x00 || case id (16) || epoch (u32 BE) ||
//          recipient id (16)
//   aad  = empty (info already binds the context, and enters the key schedule)
//   wrap = enc (32) || ciphertext (32-byte case key || 16-byte tag), 80 bytes
//
// The recovery key is a recipient like a device, under the nil id
// (kRecoveryRecipient), which no manifest accepts as a device.
//
// HPKE base mode does not say who sealed: anyone can wrap some key to a
// device. The case key commitment in the authority-signed manifest says which
// key an epoch is, so a device accepts an unwrapped key only if it matches.
// Details and byte tables: docs/security.md ("Case keyrings"), docs/crypto.md.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"
#include "crypto/secret_bytes.hpp"
#include "crypto/x25519.hpp"
#include "sync/ids.hpp"

namespace casefile::sync {

inline constexpr std::string_view kCaseKeyWrapLabel = "casefile case key v1";
inline constexpr std::string_view kCaseKeyCommitmentLabel = "casefile case key commitment v1";
inline constexpr std::size_t kCaseKeyWrapSize = 80;
// The recipient id of the organisation's recovery key: the nil UUID.
inline constexpr DeviceId kRecoveryRecipient{};

// The HPKE info string above.
crypto::Bytes case_key_wrap_info(const CaseId& case_id, std::uint32_t epoch, const DeviceId& recipient);

// Errors: "invalid_key" (case key not 32 bytes, or a malformed public key),
// "weak_key" (a low-order public key), "random_failed".
Result<crypto::Bytes> wrap_case_key(const crypto::SecretBytes& case_key, const CaseId& case_id,
                                    std::uint32_t epoch, const DeviceId& recipient,
                                    const crypto::X25519PublicKey& recipient_public_key);

// Errors: "case_key_unwrap_failed" for every failure (wrong size, another
// recipient, case or epoch, any altered byte), so a failure says nothing more.
Result<crypto::SecretBytes> unwrap_case_key(crypto::ByteView wrap, const CaseId& case_id, std::uint32_t epoch,
                                            const DeviceId& recipient,
                                            const crypto::X25519PrivateKey& recipient_private_key);

// HMAC-SHA256(key = case key, "casefile case key commitment v1" || 0x00 ||
// case id (16) || epoch (u32 BE)). Public: a PRF output under a 256-bit
// random key reveals nothing of the key, and names exactly one key.
// REQUIRES: case_key.size() == crypto::kCaseKeySize (throws std::invalid_argument).
crypto::Sha256Digest case_key_commitment(const crypto::SecretBytes& case_key, const CaseId& case_id,
                                         std::uint32_t epoch);

}  // namespace casefile::sync
