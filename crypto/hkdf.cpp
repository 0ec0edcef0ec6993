#include "crypto/hkdf.hpp"

#include <openssl/core_names.h>
#include <openssl/kdf.h>

#include <stdexcept>

#include "crypto/internal/openssl_handles.hpp"

namespace casefile::crypto {
namespace {

constexpr std::size_t kMaxOutput = 255 * 32;  // RFC 5869 §2.3: L <= 255 * HashLen

// One call of OpenSSL's HKDF in the given mode. OSSL_PARAM wants non-const
// pointers for inputs it only reads.
Result<SecretBytes> run_hkdf(int mode, ByteView salt, ByteView key, ByteView info, std::size_t length) {
  if (length > kMaxOutput) return make_error("invalid_length", "HKDF output longer than 255 * 32 bytes");
  SecretBytes output(length);
  if (length == 0) return output;
  internal::KdfContext context(EVP_KDF_CTX_new(internal::hkdf_algorithm()));
  if (!context) throw std::bad_alloc();
  static std::uint8_t kEmpty = 0;
  auto pointer = [](ByteView bytes) {
    return bytes.empty() ? static_cast<void*>(&kEmpty) : const_cast<std::uint8_t*>(bytes.data());
  };
  char digest_name[] = "SHA256";
  OSSL_PARAM parameters[6];
  std::size_t count = 0;
  parameters[count++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
  parameters[count++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest_name, 0);
  parameters[count++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, pointer(key), key.size());
  if (mode != EVP_KDF_HKDF_MODE_EXPAND_ONLY) {
    parameters[count++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, pointer(salt), salt.size());
  }
  if (mode != EVP_KDF_HKDF_MODE_EXTRACT_ONLY) {
    parameters[count++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, pointer(info), info.size());
  }
  parameters[count] = OSSL_PARAM_construct_end();
  if (EVP_KDF_derive(context.get(), output.data(), output.size(), parameters) != 1) {
    return make_error("kdf_failed", "HKDF derivation failed");
  }
  return output;
}

}  // namespace

SecretBytes hkdf_sha256_extract(ByteView salt, ByteView input_key_material) {
  auto result = run_hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, salt, input_key_material, {}, 32);
  if (!result.ok()) throw std::runtime_error("HKDF-Extract failed: " + result.error().message);
  return std::move(result).value();
}

Result<SecretBytes> hkdf_sha256_expand(ByteView pseudorandom_key, ByteView info, std::size_t length) {
  return run_hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, {}, pseudorandom_key, info, length);
}

Result<SecretBytes> hkdf_sha256(ByteView salt, ByteView input_key_material, ByteView info,
                                std::size_t length) {
  return run_hkdf(EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND, salt, input_key_material, info, length);
}

}  // namespace casefile::crypto
