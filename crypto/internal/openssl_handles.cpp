#include "crypto/internal/openssl_handles.hpp"

#include <stdexcept>

namespace casefile::crypto::internal {
namespace {

template <typename T>
T* require(T* algorithm, const char* name) {
  // A missing default-provider algorithm is a broken installation, not a
  // runtime condition a caller could handle.
  if (algorithm == nullptr) throw std::logic_error(std::string("OpenSSL algorithm unavailable: ") + name);
  return algorithm;
}

}  // namespace

EVP_MAC* hmac_algorithm() {
  static EVP_MAC* const algorithm = require(EVP_MAC_fetch(nullptr, "HMAC", nullptr), "HMAC");
  return algorithm;
}

EVP_KDF* hkdf_algorithm() {
  static EVP_KDF* const algorithm = require(EVP_KDF_fetch(nullptr, "HKDF", nullptr), "HKDF");
  return algorithm;
}

EVP_KDF* scrypt_algorithm() {
  static EVP_KDF* const algorithm = require(EVP_KDF_fetch(nullptr, "SCRYPT", nullptr), "SCRYPT");
  return algorithm;
}

}  // namespace casefile::crypto::internal
