// The organisation authority's statement of the recovery key (DESIGN §5):
// devices wrap every case key they create to the recovery X25519 public key,
// so they must know it is the organisation's and not one the server chose.
//
//   signed message = "casefile recovery key v1" || 0x00 || recovery public key (32)
//   signature      = Ed25519 by the authority (64 bytes)
//
// casefile-admin stores the signature as hex in org/recovery.sig; GET
// /v1/authority serves the key and the signature (docs/protocol.md §2).
#pragma once

#include <string_view>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/x25519.hpp"

namespace casefile::sync {

inline constexpr std::string_view kRecoveryKeyStatementLabel = "casefile recovery key v1";

crypto::Bytes recovery_key_statement_message(const crypto::X25519PublicKey& recovery_public_key);

// Errors: the signer's.
Result<crypto::Ed25519Signature> sign_recovery_key_statement(
    const crypto::X25519PublicKey& recovery_public_key, const crypto::Ed25519PrivateKey& authority);

// Errors: "recovery_key_signature_invalid" (any malformed or wrong signature,
// another key, another authority).
Status verify_recovery_key_statement(const crypto::X25519PublicKey& recovery_public_key,
                                     crypto::ByteView signature, crypto::ByteView authority_public_key);

}  // namespace casefile::sync
