// X25519 key agreement (RFC 7748).
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "crypto/secret_bytes.hpp"

namespace casefile::crypto {

inline constexpr std::size_t kX25519KeySize = 32;
using X25519PublicKey = std::array<std::uint8_t, kX25519KeySize>;

class X25519PrivateKey {
 public:
  static Result<X25519PrivateKey> generate();
  // Errors: "invalid_key".
  static Result<X25519PrivateKey> from_bytes(ByteView private_key);

  const SecretBytes& private_bytes() const { return private_key_; }
  const X25519PublicKey& public_key() const { return public_key_; }

  // Errors: "invalid_key" (malformed peer key), "weak_key" (an all-zero shared
  // secret, from a low-order peer point; RFC 7748 §6.1).
  Result<SecretBytes> agree(ByteView peer_public_key) const;

 private:
  struct Handle;  // the OpenSSL key, built once so agreement does not re-derive it
  X25519PrivateKey(SecretBytes private_key, X25519PublicKey public_key, std::shared_ptr<const Handle> handle)
      : private_key_(std::move(private_key)), public_key_(public_key), handle_(std::move(handle)) {}
  SecretBytes private_key_;
  X25519PublicKey public_key_{};
  std::shared_ptr<const Handle> handle_;
};

}  // namespace casefile::crypto
