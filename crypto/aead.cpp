#include "crypto/aead.hpp"

#include <openssl/evp.h>

#include <climits>
#include <stdexcept>

#include "crypto/internal/aead_any_size.hpp"
#include "crypto/internal/openssl_handles.hpp"

namespace casefile::crypto {
namespace internal {
namespace {

Result<const EVP_CIPHER*> select_cipher(AeadAlgorithm algorithm, std::size_t key_size) {
  switch (algorithm) {
    case AeadAlgorithm::chacha20_poly1305:
      if (key_size == 32) return EVP_chacha20_poly1305();
      break;
    case AeadAlgorithm::aes_256_gcm:
      if (key_size == 32) return EVP_aes_256_gcm();
      if (key_size == 24) return EVP_aes_192_gcm();
      if (key_size == 16) return EVP_aes_128_gcm();
      break;
  }
  return make_error("invalid_key", "AEAD key has the wrong length");
}

Status check_sizes(AeadAlgorithm algorithm, ByteView nonce, std::size_t tag_size) {
  const bool nonce_ok = algorithm == AeadAlgorithm::chacha20_poly1305
                            ? nonce.size() == 12
                            : !nonce.empty() && nonce.size() <= INT_MAX;
  if (!nonce_ok) return make_error("invalid_nonce", "AEAD nonce has the wrong length");
  if (tag_size == 0 || tag_size > 16) return make_error("invalid_tag_size", "AEAD tag must be 1 to 16 bytes");
  return ok_status();
}

// EVP wants int lengths; we feed long inputs in pieces.
bool update_in_pieces(EVP_CIPHER_CTX* context, std::uint8_t* out, ByteView in) {
  std::size_t offset = 0;
  while (offset < in.size()) {
    const int chunk = static_cast<int>(std::min<std::size_t>(in.size() - offset, 1 << 30));
    int written = 0;
    if (EVP_CipherUpdate(context, out == nullptr ? nullptr : out + offset, &written, in.data() + offset,
                         chunk) != 1)
      return false;
    offset += static_cast<std::size_t>(chunk);
  }
  return true;
}

// Sets cipher, key, nonce length and nonce. `encrypt` is 1 or 0.
Result<CipherContext> start(AeadAlgorithm algorithm, ByteView key, ByteView nonce, int encrypt) {
  auto cipher = select_cipher(algorithm, key.size());
  if (!cipher.ok()) return std::move(cipher).error();
  CipherContext context(EVP_CIPHER_CTX_new());
  if (!context) throw std::bad_alloc();
  if (EVP_CipherInit_ex(context.get(), *cipher, nullptr, nullptr, nullptr, encrypt) != 1 ||
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_AEAD_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) !=
          1 ||
      EVP_CipherInit_ex(context.get(), nullptr, nullptr, key.data(), nonce.data(), encrypt) != 1) {
    return make_error("invalid_nonce", "the cipher refused the key or nonce");
  }
  return context;
}

}  // namespace

Result<Bytes> aead_seal_any_size(AeadAlgorithm algorithm, ByteView key, ByteView nonce,
                                 ByteView associated_data, ByteView plaintext, std::size_t tag_size) {
  CASEFILE_RETURN_IF_ERROR(check_sizes(algorithm, nonce, tag_size));
  auto context = start(algorithm, key, nonce, 1);
  if (!context.ok()) return std::move(context).error();
  Bytes output(plaintext.size() + tag_size);
  int final_size = 0;
  if (!update_in_pieces(context->get(), nullptr, associated_data) ||
      !update_in_pieces(context->get(), output.data(), plaintext) ||
      EVP_EncryptFinal_ex(context->get(), output.data() + plaintext.size(), &final_size) != 1 ||
      EVP_CIPHER_CTX_ctrl(context->get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(tag_size),
                          output.data() + plaintext.size()) != 1) {
    throw std::runtime_error("OpenSSL AEAD encryption failed");
  }
  return output;
}

Result<Bytes> aead_open_any_size(AeadAlgorithm algorithm, ByteView key, ByteView nonce,
                                 ByteView associated_data, ByteView ciphertext_and_tag,
                                 std::size_t tag_size) {
  CASEFILE_RETURN_IF_ERROR(check_sizes(algorithm, nonce, tag_size));
  if (ciphertext_and_tag.size() < tag_size)
    return make_error("decrypt_failed", "ciphertext shorter than its tag");
  auto context = start(algorithm, key, nonce, 0);
  if (!context.ok()) return std::move(context).error();
  const std::size_t ciphertext_size = ciphertext_and_tag.size() - tag_size;
  Bytes tag(ciphertext_and_tag.begin() + static_cast<std::ptrdiff_t>(ciphertext_size),
            ciphertext_and_tag.end());
  Bytes plaintext(ciphertext_size);
  int final_size = 0;
  const bool authentic =
      EVP_CIPHER_CTX_ctrl(context->get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(tag_size), tag.data()) ==
          1 &&
      update_in_pieces(context->get(), nullptr, associated_data) &&
      update_in_pieces(context->get(), plaintext.data(), ciphertext_and_tag.first(ciphertext_size)) &&
      EVP_DecryptFinal_ex(context->get(), plaintext.data() + ciphertext_size, &final_size) == 1;
  if (!authentic) {
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return make_error("decrypt_failed", "authentication failed");
  }
  return plaintext;
}

}  // namespace internal

namespace {

Status check_public_sizes(ByteView key, ByteView nonce) {
  if (key.size() != kAeadKeySize) return make_error("invalid_key", "AEAD key must be 32 bytes");
  if (nonce.size() != kAeadNonceSize) return make_error("invalid_nonce", "AEAD nonce must be 12 bytes");
  return ok_status();
}

}  // namespace

Result<Bytes> aead_seal(AeadAlgorithm algorithm, ByteView key, ByteView nonce, ByteView associated_data,
                        ByteView plaintext) {
  CASEFILE_RETURN_IF_ERROR(check_public_sizes(key, nonce));
  return internal::aead_seal_any_size(algorithm, key, nonce, associated_data, plaintext, kAeadTagSize);
}

Result<Bytes> aead_open(AeadAlgorithm algorithm, ByteView key, ByteView nonce, ByteView associated_data,
                        ByteView ciphertext_and_tag) {
  CASEFILE_RETURN_IF_ERROR(check_public_sizes(key, nonce));
  return internal::aead_open_any_size(algorithm, key, nonce, associated_data, ciphertext_and_tag,
                                      kAeadTagSize);
}

}  // namespace casefile::crypto
