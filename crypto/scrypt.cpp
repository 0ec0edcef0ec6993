#include "crypto/scrypt.hpp"

#include <openssl/core_names.h>
#include <openssl/kdf.h>

#include <stdexcept>

#include "crypto/internal/openssl_handles.hpp"

namespace casefile::crypto {
namespace {

constexpr std::uint64_t kMaxMemory = std::uint64_t{1} << 30;  // 1 GiB

// RFC 7914 §2 memory use: V is 128 * r * N bytes, B is 128 * r * p bytes.
bool within_memory(const ScryptParameters& parameters) {
  const std::uint64_t block = 128 * std::uint64_t{parameters.r};
  if (parameters.n > kMaxMemory / block) return false;
  const std::uint64_t v_size = block * parameters.n;
  if (parameters.p > kMaxMemory / block) return false;
  return v_size + block * parameters.p <= kMaxMemory;
}

}  // namespace

Result<SecretBytes> scrypt(std::string_view passphrase, ByteView salt, const ScryptParameters& parameters,
                           std::size_t length) {
  const bool power_of_two = parameters.n > 1 && (parameters.n & (parameters.n - 1)) == 0;
  if (!power_of_two || parameters.r == 0 || parameters.p == 0 || length == 0 || !within_memory(parameters)) {
    return make_error("invalid_parameters", "scrypt parameters out of range");
  }
  internal::KdfContext context(EVP_KDF_CTX_new(internal::scrypt_algorithm()));
  if (!context) throw std::bad_alloc();
  static char kEmpty = 0;
  char* password = passphrase.empty() ? &kEmpty : const_cast<char*>(passphrase.data());
  void* salt_data = salt.empty() ? static_cast<void*>(&kEmpty) : const_cast<std::uint8_t*>(salt.data());
  std::uint64_t n = parameters.n;
  std::uint32_t r = parameters.r;
  std::uint32_t p = parameters.p;
  // OpenSSL's own ceiling defaults to 1025 MiB; ours is checked above, so
  // lift OpenSSL's slightly above it to avoid a second, different limit.
  std::uint64_t max_memory = kMaxMemory + (std::uint64_t{1} << 24);
  const OSSL_PARAM openssl_parameters[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, password, passphrase.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt_data, salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &max_memory),
      OSSL_PARAM_construct_end(),
  };
  SecretBytes output(length);
  if (EVP_KDF_derive(context.get(), output.data(), output.size(), openssl_parameters) != 1) {
    return make_error("kdf_failed", "scrypt derivation failed");
  }
  return output;
}

}  // namespace casefile::crypto
