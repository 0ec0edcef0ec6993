#include "crypto/aead.hpp"

#include <openssl/crypto.h>
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

// OpenSSL 3.0 GCM takes nonces of at most 128 bytes (GCM_IV_MAX_SIZE); SP 800-38D
// allows up to 2^64 - 1 bits. Longer nonces are composed here from AES-ECB and
// AES-GCM themselves, without field arithmetic of our own:
//   GHASH_H(A, C) = tag of GCM(IV = 0^96, AAD = A, ciphertext C) xor E_K(0^96 || 1)
// (the plaintext that yields C is C xor the keystream of IV 0^96), and
//   J0 = GHASH_H(empty, nonce), per §7.1 step 2 for nonces other than 96 bits.
constexpr std::size_t kOpenSslMaxGcmNonce = 128;
constexpr std::size_t kBlock = 16;

const EVP_CIPHER* aes_ecb(std::size_t key_size) {
  return key_size == 16 ? EVP_aes_128_ecb() : key_size == 24 ? EVP_aes_192_ecb() : EVP_aes_256_ecb();
}
const EVP_CIPHER* aes_gcm(std::size_t key_size) {
  return key_size == 16 ? EVP_aes_128_gcm() : key_size == 24 ? EVP_aes_192_gcm() : EVP_aes_256_gcm();
}

// E_K over whole blocks.
Bytes aes_encrypt_blocks(ByteView key, ByteView blocks) {
  CipherContext context(EVP_CIPHER_CTX_new());
  Bytes out(blocks.size());
  int written = 0;
  if (!context || EVP_EncryptInit_ex(context.get(), aes_ecb(key.size()), nullptr, key.data(), nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(context.get(), 0) != 1 ||
      !update_in_pieces(context.get(), out.data(), blocks) ||
      EVP_EncryptFinal_ex(context.get(), out.data() + out.size(), &written) != 1) {
    throw std::runtime_error("OpenSSL AES-ECB failed");
  }
  return out;
}

// GCM encryption under the all-zero 96-bit nonce: returns ciphertext || 16-byte tag.
Bytes gcm_zero_nonce(ByteView key, ByteView associated_data, ByteView plaintext) {
  const Bytes zero_nonce(12, 0);
  CipherContext context(EVP_CIPHER_CTX_new());
  Bytes out(plaintext.size() + kBlock);
  int written = 0;
  if (!context ||
      EVP_EncryptInit_ex(context.get(), aes_gcm(key.size()), nullptr, key.data(), zero_nonce.data()) != 1 ||
      !update_in_pieces(context.get(), nullptr, associated_data) ||
      !update_in_pieces(context.get(), out.data(), plaintext) ||
      EVP_EncryptFinal_ex(context.get(), out.data() + plaintext.size(), &written) != 1 ||
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_AEAD_GET_TAG, kBlock, out.data() + plaintext.size()) != 1) {
    throw std::runtime_error("OpenSSL AES-GCM failed");
  }
  return out;
}

// GHASH_H(A || pad || C || pad || [len A]64 || [len C]64), as explained above.
Bytes ghash(ByteView key, ByteView associated_data, ByteView ciphertext) {
  Bytes keystream = gcm_zero_nonce(key, {}, Bytes(ciphertext.size(), 0));
  for (std::size_t i = 0; i < ciphertext.size(); ++i) keystream[i] ^= ciphertext[i];
  const Bytes sealed = gcm_zero_nonce(key, associated_data, ByteView(keystream).first(ciphertext.size()));
  Bytes first_counter(kBlock, 0);
  first_counter[kBlock - 1] = 1;
  const Bytes mask = aes_encrypt_blocks(key, first_counter);
  Bytes hash(sealed.end() - kBlock, sealed.end());
  for (std::size_t i = 0; i < kBlock; ++i) hash[i] ^= mask[i];
  return hash;
}

// GCTR from inc32(J0) (SP 800-38D §6.5, §7.1 step 3), xor'ed into `data`.
void gcm_counter_mode(ByteView key, ByteView j0, std::span<std::uint8_t> data) {
  const std::size_t block_count = (data.size() + kBlock - 1) / kBlock;
  Bytes counters;
  counters.reserve(block_count * kBlock);
  std::uint32_t counter = (std::uint32_t{j0[12]} << 24) | (std::uint32_t{j0[13]} << 16) |
                          (std::uint32_t{j0[14]} << 8) | std::uint32_t{j0[15]};
  for (std::size_t i = 0; i < block_count; ++i) {
    ++counter;  // inc32: modulo 2^32, the first 96 bits untouched
    counters.insert(counters.end(), j0.begin(), j0.begin() + 12);
    for (int shift = 24; shift >= 0; shift -= 8)
      counters.push_back(static_cast<std::uint8_t>(counter >> shift));
  }
  const Bytes keystream = aes_encrypt_blocks(key, counters);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] ^= keystream[i];
}

Bytes long_nonce_tag(ByteView key, ByteView j0, ByteView associated_data, ByteView ciphertext,
                     std::size_t tag_size) {
  Bytes tag = ghash(key, associated_data, ciphertext);
  const Bytes mask = aes_encrypt_blocks(key, j0);
  for (std::size_t i = 0; i < kBlock; ++i) tag[i] ^= mask[i];
  tag.resize(tag_size);
  return tag;
}

Bytes seal_long_nonce(ByteView key, ByteView nonce, ByteView associated_data, ByteView plaintext,
                      std::size_t tag_size) {
  const Bytes j0 = ghash(key, {}, nonce);
  Bytes output(plaintext.begin(), plaintext.end());
  gcm_counter_mode(key, j0, output);
  const Bytes tag = long_nonce_tag(key, j0, associated_data, output, tag_size);
  output.insert(output.end(), tag.begin(), tag.end());
  return output;
}

Result<Bytes> open_long_nonce(ByteView key, ByteView nonce, ByteView associated_data, ByteView ciphertext,
                              ByteView tag) {
  const Bytes j0 = ghash(key, {}, nonce);
  const Bytes expected = long_nonce_tag(key, j0, associated_data, ciphertext, tag.size());
  if (CRYPTO_memcmp(expected.data(), tag.data(), tag.size()) != 0) {
    return make_error("decrypt_failed", "authentication failed");
  }
  Bytes plaintext(ciphertext.begin(), ciphertext.end());
  gcm_counter_mode(key, j0, plaintext);
  return plaintext;
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
  if (algorithm == AeadAlgorithm::aes_256_gcm && nonce.size() > kOpenSslMaxGcmNonce) {
    auto cipher = select_cipher(algorithm, key.size());
    if (!cipher.ok()) return std::move(cipher).error();
    return seal_long_nonce(key, nonce, associated_data, plaintext, tag_size);
  }
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
  if (algorithm == AeadAlgorithm::aes_256_gcm && nonce.size() > kOpenSslMaxGcmNonce) {
    auto cipher = select_cipher(algorithm, key.size());
    if (!cipher.ok()) return std::move(cipher).error();
    const std::size_t split = ciphertext_and_tag.size() - tag_size;
    return open_long_nonce(key, nonce, associated_data, ciphertext_and_tag.first(split),
                           ciphertext_and_tag.subspan(split));
  }
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
