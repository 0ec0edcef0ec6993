// The AEAD engine agrees with every valid and invalid Wycheproof vector for
// AES-GCM and ChaCha20-Poly1305. The vectors exercise nonce and key sizes the
// public API does not offer, so they run against the engine's any-size entry
// point; the public wrapper is checked on the vectors it accepts.
#include <gtest/gtest.h>

#include "crypto/aead.hpp"
#include "crypto/internal/aead_any_size.hpp"
#include "tests/crypto/wycheproof_vectors.hpp"

namespace casefile::crypto {
namespace {

using testing::describe;
using testing::hex_field;
using testing::string_field;

void check_aead_file(std::string_view file_name, AeadAlgorithm algorithm) {
  const auto file = testing::load_wycheproof(file_name);
  std::size_t valid = 0;
  std::size_t invalid = 0;
  const std::size_t count = testing::for_each_wycheproof_test(file, [&](const auto& group, const auto& test) {
    const std::size_t tag_size = testing::size_field(group, "tagSize") / 8;
    const Bytes key = hex_field(test, "key");
    const Bytes nonce = hex_field(test, "iv");
    const Bytes associated_data = hex_field(test, "aad");
    const Bytes message = hex_field(test, "msg");
    Bytes expected = hex_field(test, "ct");
    const Bytes tag = hex_field(test, "tag");
    expected.insert(expected.end(), tag.begin(), tag.end());
    const std::string result = string_field(test, "result");

    auto sealed = internal::aead_seal_any_size(algorithm, key, nonce, associated_data, message, tag_size);
    auto opened = internal::aead_open_any_size(algorithm, key, nonce, associated_data, expected, tag_size);
    if (result == "valid") {
      ++valid;
      ASSERT_TRUE(sealed.ok()) << describe(test) << ": " << sealed.error().message;
      EXPECT_EQ(*sealed, expected) << describe(test);
      ASSERT_TRUE(opened.ok()) << describe(test) << ": " << opened.error().message;
      EXPECT_EQ(*opened, message) << describe(test);
      const bool public_sizes =
          key.size() == kAeadKeySize && nonce.size() == kAeadNonceSize && tag_size == 16;
      if (public_sizes) {
        auto public_opened = aead_open(algorithm, key, nonce, associated_data, expected);
        ASSERT_TRUE(public_opened.ok()) << describe(test);
        EXPECT_EQ(*public_opened, message) << describe(test);
      }
    } else if (result == "invalid") {
      ++invalid;
      EXPECT_FALSE(opened.ok()) << describe(test) << " opened but is invalid";
      // Sealing the same inputs must not reproduce the invalid ciphertext.
      if (sealed.ok()) {
        EXPECT_NE(*sealed, expected) << describe(test);
      }
      EXPECT_FALSE(aead_open(algorithm, key, nonce, associated_data, expected).ok()) << describe(test);
    }
  });
  EXPECT_GT(count, 0u);
  EXPECT_EQ(count, testing::declared_test_count(file));
  EXPECT_GT(valid, 0u);
  EXPECT_GT(invalid, 0u);
}

TEST(WycheproofAead, AesGcmAgreesWithEveryValidAndInvalidVector) {
  check_aead_file("aes_gcm_test.json", AeadAlgorithm::aes_256_gcm);
}

TEST(WycheproofAead, ChaCha20Poly1305AgreesWithEveryValidAndInvalidVector) {
  check_aead_file("chacha20_poly1305_test.json", AeadAlgorithm::chacha20_poly1305);
}

}  // namespace
}  // namespace casefile::crypto
