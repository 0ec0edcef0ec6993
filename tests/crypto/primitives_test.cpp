// Behaviour of the small primitives that the Wycheproof files do not cover:
// hex, SecretBytes, random, constant-time comparison, SHA-256, scrypt, and
// the fixed sizes of the public AEAD API.
#include <gtest/gtest.h>

#include "crypto/aead.hpp"
#include "crypto/constant_time.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/hash.hpp"
#include "crypto/internal/aead_any_size.hpp"
#include "crypto/random.hpp"
#include "crypto/scrypt.hpp"
#include "crypto/secret_bytes.hpp"
#include "crypto/x25519.hpp"

namespace casefile::crypto {
namespace {

Bytes hex(std::string_view text) {
  Bytes bytes;
  if (!from_hex(text, bytes)) ADD_FAILURE() << "bad hex in test: " << text;
  return bytes;
}

Bytes copy(ByteView view) { return Bytes(view.begin(), view.end()); }

TEST(Hex, RoundTripsAndRefusesMalformedText) {
  const Bytes bytes = {0x00, 0x7f, 0x80, 0xff};
  EXPECT_EQ(to_hex(bytes), "007f80ff");
  Bytes decoded;
  EXPECT_TRUE(from_hex("007F80ff", decoded));
  EXPECT_EQ(decoded, bytes);
  EXPECT_FALSE(from_hex("abc", decoded));
  EXPECT_FALSE(from_hex("zz", decoded));
  EXPECT_EQ(decoded, bytes) << "a failed decode leaves the output untouched";
}

TEST(SecretBytes, MovesLeaveTheSourceEmptyAndCloneCopies) {
  SecretBytes secret(as_bytes("key material"));
  SecretBytes clone = secret.clone();
  SecretBytes moved = std::move(secret);
  EXPECT_TRUE(secret.empty());  // NOLINT(bugprone-use-after-move): the contract under test
  EXPECT_EQ(copy(moved.view()), copy(clone.view()));
  EXPECT_EQ(SecretBytes(4).view().size(), 4u);
}

TEST(Random, ProducesRequestedSizesAndDistinctValues) {
  auto first = random_bytes(32);
  auto second = random_bytes(32);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->size(), 32u);
  EXPECT_NE(*first, *second);
  auto secret = random_secret(32);
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ(secret->size(), 32u);
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  EXPECT_TRUE(constant_time_equal(as_bytes("abc"), as_bytes("abc")));
  EXPECT_FALSE(constant_time_equal(as_bytes("abc"), as_bytes("abd")));
  EXPECT_FALSE(constant_time_equal(as_bytes("abc"), as_bytes("abcd")));
  EXPECT_TRUE(constant_time_equal({}, {}));
}

TEST(Sha256, MatchesFips180ExamplesOneShotAndIncremental) {
  EXPECT_EQ(to_hex(sha256(as_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(to_hex(sha256({})), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 incremental;
  incremental.update(as_bytes("a"));
  incremental.update(as_bytes("bc"));
  EXPECT_EQ(incremental.finish(), sha256(as_bytes("abc")));
}

// RFC 7914 §12, the first two vectors (the others need more memory than a unit test should take).
TEST(Scrypt, MatchesRfc7914Vectors) {
  auto empty = scrypt("", {}, {.n = 16, .r = 1, .p = 1}, 64);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(to_hex(empty->view()),
            "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
            "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906");
  auto salted = scrypt("password", as_bytes("NaCl"), {.n = 1024, .r = 8, .p = 16}, 64);
  ASSERT_TRUE(salted.ok());
  EXPECT_EQ(to_hex(salted->view()),
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
            "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
}

TEST(Scrypt, RefusesMalformedOrMemoryExhaustingParameters) {
  EXPECT_EQ(scrypt("x", {}, {.n = 1000, .r = 8, .p = 1}, 32).error().code, "invalid_parameters");
  EXPECT_EQ(scrypt("x", {}, {.n = 1, .r = 8, .p = 1}, 32).error().code, "invalid_parameters");
  EXPECT_EQ(scrypt("x", {}, {.n = 1024, .r = 0, .p = 1}, 32).error().code, "invalid_parameters");
  EXPECT_EQ(scrypt("x", {}, {.n = 1024, .r = 8, .p = 0}, 32).error().code, "invalid_parameters");
  EXPECT_EQ(scrypt("x", {}, {.n = std::uint64_t{1} << 21, .r = 8, .p = 1}, 32).error().code,
            "invalid_parameters");
  EXPECT_EQ(scrypt("x", {}, {.n = std::uint64_t{1} << 62, .r = 0xffffffff, .p = 1}, 32).error().code,
            "invalid_parameters");
}

TEST(Aead, PublicApiRoundTripsAndRefusesWrongSizesAndTampering) {
  const Bytes key(kAeadKeySize, 7);
  const Bytes nonce(kAeadNonceSize, 9);
  for (AeadAlgorithm algorithm : {AeadAlgorithm::chacha20_poly1305, AeadAlgorithm::aes_256_gcm}) {
    auto sealed = aead_seal(algorithm, key, nonce, as_bytes("ad"), as_bytes("plaintext"));
    ASSERT_TRUE(sealed.ok());
    EXPECT_EQ(sealed->size(), 9 + kAeadTagSize);
    auto opened = aead_open(algorithm, key, nonce, as_bytes("ad"), *sealed);
    ASSERT_TRUE(opened.ok());
    EXPECT_EQ(*opened, copy(as_bytes("plaintext")));
    EXPECT_EQ(aead_open(algorithm, key, nonce, as_bytes("other"), *sealed).error().code, "decrypt_failed");
    EXPECT_EQ(aead_open(algorithm, key, nonce, as_bytes("ad"), ByteView(*sealed).first(5)).error().code,
              "decrypt_failed");
    EXPECT_EQ(aead_seal(algorithm, Bytes(16, 1), nonce, {}, {}).error().code, "invalid_key");
    EXPECT_EQ(aead_seal(algorithm, key, Bytes(16, 1), {}, {}).error().code, "invalid_nonce");
  }
}

// Nonces over OpenSSL's 128-byte GCM limit take a composed path (aead.cpp);
// Wycheproof checks its output, this checks that it also refuses forgeries.
TEST(Aead, GcmWithNoncesBeyondOpenSslsLimitRoundTripsAndRefusesTampering) {
  const Bytes key(32, 1);
  const Bytes nonce(200, 2);
  const Bytes plaintext(100, 3);
  auto sealed =
      internal::aead_seal_any_size(AeadAlgorithm::aes_256_gcm, key, nonce, as_bytes("ad"), plaintext, 16);
  ASSERT_TRUE(sealed.ok());
  auto opened =
      internal::aead_open_any_size(AeadAlgorithm::aes_256_gcm, key, nonce, as_bytes("ad"), *sealed, 16);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, plaintext);
  for (std::size_t byte : {std::size_t{0}, std::size_t{99}, std::size_t{100}, std::size_t{115}}) {
    Bytes tampered = *sealed;
    tampered[byte] ^= 0x80;
    EXPECT_EQ(
        internal::aead_open_any_size(AeadAlgorithm::aes_256_gcm, key, nonce, as_bytes("ad"), tampered, 16)
            .error()
            .code,
        "decrypt_failed")
        << byte;
  }
  Bytes other_nonce = nonce;
  other_nonce[150] ^= 1;
  EXPECT_FALSE(
      internal::aead_open_any_size(AeadAlgorithm::aes_256_gcm, key, other_nonce, as_bytes("ad"), *sealed, 16)
          .ok());
}

// RFC 8032 §7.1, TEST 1.
TEST(Ed25519, SignsRfc8032VectorAndVerifiesOnlyTheSignedMessage) {
  auto key =
      Ed25519PrivateKey::from_seed(hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(to_hex(key->public_key()), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  auto signature = key->sign({});
  ASSERT_TRUE(signature.ok());
  EXPECT_EQ(
      to_hex(*signature),
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd"
      "25bf5f0595bbe24655141438e7a100b");
  EXPECT_TRUE(ed25519_verify(key->public_key(), {}, *signature));
  EXPECT_FALSE(ed25519_verify(key->public_key(), as_bytes("x"), *signature));
  EXPECT_FALSE(ed25519_verify(ByteView(key->public_key()).first(31), {}, *signature));
  EXPECT_EQ(Ed25519PrivateKey::from_seed(Bytes(31, 0)).error().code, "invalid_key");
}

TEST(X25519, GeneratedKeysAgreeAndLowOrderPointsAreRefused) {
  auto alice = X25519PrivateKey::generate();
  auto bob = X25519PrivateKey::generate();
  ASSERT_TRUE(alice.ok() && bob.ok());
  auto alice_shared = alice->agree(bob->public_key());
  auto bob_shared = bob->agree(alice->public_key());
  ASSERT_TRUE(alice_shared.ok() && bob_shared.ok());
  EXPECT_EQ(copy(alice_shared->view()), copy(bob_shared->view()));
  EXPECT_EQ(alice->agree(Bytes(kX25519KeySize, 0)).error().code, "weak_key");
  EXPECT_EQ(alice->agree(Bytes(31, 9)).error().code, "invalid_key");
}

}  // namespace
}  // namespace casefile::crypto
