// The AEAD engine behind aead_seal/aead_open, with the nonce and tag sizes
// left to the caller. The public API fixes them (12-byte nonce, 16-byte tag);
// this entry point exists so the Wycheproof tests can check the engine on
// every vector, including AES-GCM with other IV sizes and AES-128/192 keys.
// Product code must use crypto/aead.hpp.
#pragma once

#include "base/result.hpp"
#include "crypto/aead.hpp"
#include "crypto/bytes.hpp"

namespace casefile::crypto::internal {

// AeadAlgorithm::aes_256_gcm here also accepts 16- and 24-byte keys (AES-128/192-GCM).
// Nonce: exactly 12 bytes for ChaCha20-Poly1305 (RFC 8439), 1 byte or more for AES-GCM
// (NIST SP 800-38D §5.2.1.1). Tag: 1..16 bytes.
// Errors: "invalid_key", "invalid_nonce", "invalid_tag_size", "decrypt_failed".
Result<Bytes> aead_seal_any_size(AeadAlgorithm algorithm, ByteView key, ByteView nonce,
                                 ByteView associated_data, ByteView plaintext, std::size_t tag_size);
Result<Bytes> aead_open_any_size(AeadAlgorithm algorithm, ByteView key, ByteView nonce,
                                 ByteView associated_data, ByteView ciphertext_and_tag, std::size_t tag_size);

}  // namespace casefile::crypto::internal
