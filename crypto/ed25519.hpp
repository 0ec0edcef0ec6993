// Ed25519 signatures (RFC 8032, pure).
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "crypto/secret_bytes.hpp"

namespace casefile::crypto {

inline constexpr std::size_t kEd25519PublicKeySize = 32;
inline constexpr std::size_t kEd25519SeedSize = 32;
inline constexpr std::size_t kEd25519SignatureSize = 64;

using Ed25519PublicKey = std::array<std::uint8_t, kEd25519PublicKeySize>;
using Ed25519Signature = std::array<std::uint8_t, kEd25519SignatureSize>;

class Ed25519PrivateKey {
 public:
  static Result<Ed25519PrivateKey> generate();
  // Errors: "invalid_key".
  static Result<Ed25519PrivateKey> from_seed(ByteView seed);

  const SecretBytes& seed() const { return seed_; }
  const Ed25519PublicKey& public_key() const { return public_key_; }
  // Errors: "sign_failed" (OpenSSL failure; not expected in practice).
  Result<Ed25519Signature> sign(ByteView message) const;

 private:
  struct Handle;  // the OpenSSL key, built once so signing does not re-derive it
  Ed25519PrivateKey(SecretBytes seed, Ed25519PublicKey public_key, std::shared_ptr<const Handle> handle)
      : seed_(std::move(seed)), public_key_(public_key), handle_(std::move(handle)) {}
  SecretBytes seed_;
  Ed25519PublicKey public_key_{};
  std::shared_ptr<const Handle> handle_;
};

// False for any malformed key or signature, never an exception.
bool ed25519_verify(ByteView public_key, ByteView message, ByteView signature);

}  // namespace casefile::crypto
