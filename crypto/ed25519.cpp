#include "crypto/ed25519.hpp"

#include <openssl/evp.h>

#include "crypto/internal/openssl_handles.hpp"
#include "crypto/random.hpp"

namespace casefile::crypto {

struct Ed25519PrivateKey::Handle {
  internal::Pkey key;
};

Result<Ed25519PrivateKey> Ed25519PrivateKey::generate() {
  auto seed = random_secret(kEd25519SeedSize);
  if (!seed.ok()) return std::move(seed).error();
  return from_seed(seed->view());
}

Result<Ed25519PrivateKey> Ed25519PrivateKey::from_seed(ByteView seed) {
  if (seed.size() != kEd25519SeedSize) return make_error("invalid_key", "Ed25519 seed must be 32 bytes");
  internal::Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  if (!key) return make_error("invalid_key", "OpenSSL refused the Ed25519 seed");
  Ed25519PublicKey public_key{};
  std::size_t size = public_key.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), public_key.data(), &size) != 1 || size != public_key.size()) {
    return make_error("invalid_key", "could not derive the Ed25519 public key");
  }
  auto handle = std::make_shared<const Handle>(Handle{std::move(key)});
  return Ed25519PrivateKey(SecretBytes(seed), public_key, std::move(handle));
}

Result<Ed25519Signature> Ed25519PrivateKey::sign(ByteView message) const {
  internal::DigestContext context(EVP_MD_CTX_new());
  Ed25519Signature signature{};
  std::size_t size = signature.size();
  // Pure Ed25519 (RFC 8032 §5.1.6): no digest, one-shot.
  if (!context || EVP_DigestSignInit(context.get(), nullptr, nullptr, nullptr, handle_->key.get()) != 1 ||
      EVP_DigestSign(context.get(), signature.data(), &size, message.data(), message.size()) != 1 ||
      size != signature.size()) {
    return make_error("sign_failed", "Ed25519 signing failed");
  }
  return signature;
}

bool ed25519_verify(ByteView public_key, ByteView message, ByteView signature) {
  if (public_key.size() != kEd25519PublicKeySize || signature.size() != kEd25519SignatureSize) return false;
  internal::Pkey key(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(), public_key.size()));
  if (!key) return false;
  internal::DigestContext context(EVP_MD_CTX_new());
  if (!context || EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr, key.get()) != 1)
    return false;
  return EVP_DigestVerify(context.get(), signature.data(), signature.size(), message.data(),
                          message.size()) == 1;
}

}  // namespace casefile::crypto
