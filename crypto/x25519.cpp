#include "crypto/x25519.hpp"

#include <openssl/evp.h>

#include "crypto/constant_time.hpp"
#include "crypto/internal/openssl_handles.hpp"
#include "crypto/random.hpp"

namespace casefile::crypto {

struct X25519PrivateKey::Handle {
  internal::Pkey key;
};

Result<X25519PrivateKey> X25519PrivateKey::generate() {
  auto private_key = random_secret(kX25519KeySize);
  if (!private_key.ok()) return std::move(private_key).error();
  return from_bytes(private_key->view());
}

Result<X25519PrivateKey> X25519PrivateKey::from_bytes(ByteView private_key) {
  if (private_key.size() != kX25519KeySize)
    return make_error("invalid_key", "X25519 private key must be 32 bytes");
  internal::Pkey key(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.data(), private_key.size()));
  if (!key) return make_error("invalid_key", "OpenSSL refused the X25519 private key");
  X25519PublicKey public_key{};
  std::size_t size = public_key.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), public_key.data(), &size) != 1 || size != public_key.size()) {
    return make_error("invalid_key", "could not derive the X25519 public key");
  }
  auto handle = std::make_shared<const Handle>(Handle{std::move(key)});
  return X25519PrivateKey(SecretBytes(private_key), public_key, std::move(handle));
}

Result<SecretBytes> X25519PrivateKey::agree(ByteView peer_public_key) const {
  if (peer_public_key.size() != kX25519KeySize)
    return make_error("invalid_key", "X25519 public key must be 32 bytes");
  internal::Pkey peer(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer_public_key.data(), peer_public_key.size()));
  if (!peer) return make_error("invalid_key", "OpenSSL refused the X25519 public key");
  internal::PkeyContext context(EVP_PKEY_CTX_new(handle_->key.get(), nullptr));
  SecretBytes shared(kX25519KeySize);
  std::size_t size = shared.size();
  if (!context || EVP_PKEY_derive_init(context.get()) != 1 ||
      EVP_PKEY_derive_set_peer(context.get(), peer.get()) != 1) {
    return make_error("invalid_key", "X25519 key agreement could not start");
  }
  // OpenSSL itself refuses the all-zero result of a low-order point.
  if (EVP_PKEY_derive(context.get(), shared.data(), &size) != 1 || size != shared.size()) {
    return make_error("weak_key", "X25519 produced no shared secret (low-order public key)");
  }
  // RFC 7748 §6.1: refuse an all-zero shared secret, whatever OpenSSL did.
  static constexpr std::uint8_t kZero[kX25519KeySize] = {};
  if (constant_time_equal(shared.view(), kZero)) {
    return make_error("weak_key", "X25519 shared secret is all zero (low-order public key)");
  }
  return shared;
}

}  // namespace casefile::crypto
