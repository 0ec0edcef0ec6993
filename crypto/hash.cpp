#include "crypto/hash.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <stdexcept>

#include "crypto/internal/openssl_handles.hpp"

namespace casefile::crypto {
namespace {

// Failures here mean OpenSSL could not allocate or is misconfigured; SHA-256
// itself cannot fail on valid input, so the API has no error path.
void check(int openssl_result, const char* what) {
  if (openssl_result != 1) throw std::runtime_error(std::string("OpenSSL failure in ") + what);
}

}  // namespace

struct Sha256::State {
  internal::DigestContext context{EVP_MD_CTX_new()};
};

Sha256Digest sha256(ByteView data) {
  Sha256Digest digest{};
  unsigned int size = 0;
  check(EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr), "EVP_Digest");
  return digest;
}

Sha256::Sha256() : state_(new State) {
  if (!state_->context) {
    delete state_;
    throw std::bad_alloc();
  }
  check(EVP_DigestInit_ex(state_->context.get(), EVP_sha256(), nullptr), "EVP_DigestInit_ex");
}

Sha256::~Sha256() { delete state_; }

void Sha256::update(ByteView data) {
  check(EVP_DigestUpdate(state_->context.get(), data.data(), data.size()), "EVP_DigestUpdate");
}

Sha256Digest Sha256::finish() {
  Sha256Digest digest{};
  unsigned int size = 0;
  check(EVP_DigestFinal_ex(state_->context.get(), digest.data(), &size), "EVP_DigestFinal_ex");
  return digest;
}

Sha256Digest hmac_sha256(ByteView key, ByteView data) {
  internal::MacContext context(EVP_MAC_CTX_new(internal::hmac_algorithm()));
  if (!context) throw std::bad_alloc();
  char digest_name[] = "SHA256";
  const OSSL_PARAM parameters[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end(),
  };
  // An empty key is legal HMAC (RFC 2104); OpenSSL wants a non-null pointer.
  static const std::uint8_t kEmpty = 0;
  const std::uint8_t* key_data = key.empty() ? &kEmpty : key.data();
  check(EVP_MAC_init(context.get(), key_data, key.size(), parameters), "EVP_MAC_init");
  check(EVP_MAC_update(context.get(), data.data(), data.size()), "EVP_MAC_update");
  Sha256Digest mac{};
  std::size_t size = 0;
  check(EVP_MAC_final(context.get(), mac.data(), &size, mac.size()), "EVP_MAC_final");
  return mac;
}

}  // namespace casefile::crypto
