// Authenticated encryption: ChaCha20-Poly1305 (RFC 8439) and AES-256-GCM.
// Output and input of ciphertext are ciphertext || 16-byte tag.
#pragma once

#include "base/result.hpp"
#include "crypto/bytes.hpp"

namespace casefile::crypto {

enum class AeadAlgorithm { chacha20_poly1305, aes_256_gcm };

inline constexpr std::size_t kAeadKeySize = 32;
inline constexpr std::size_t kAeadNonceSize = 12;
inline constexpr std::size_t kAeadTagSize = 16;

// Errors: "invalid_key" (wrong key length), "invalid_nonce" (wrong nonce length),
// "decrypt_failed" (authentication failed; nothing of the plaintext is returned).
Result<Bytes> aead_seal(AeadAlgorithm algorithm, ByteView key, ByteView nonce, ByteView associated_data,
                        ByteView plaintext);
Result<Bytes> aead_open(AeadAlgorithm algorithm, ByteView key, ByteView nonce, ByteView associated_data,
                        ByteView ciphertext_and_tag);

}  // namespace casefile::crypto
