// Ed25519 verification and X25519 agreement against Wycheproof.
#include <gtest/gtest.h>

#include "crypto/ed25519.hpp"
#include "crypto/x25519.hpp"
#include "tests/crypto/wycheproof_vectors.hpp"

namespace casefile::crypto {
namespace {

using testing::describe;
using testing::hex_field;
using testing::string_field;

TEST(WycheproofEd25519, VerificationAgreesWithEveryVector) {
  const auto file = testing::load_wycheproof("ed25519_test.json");
  const std::size_t count = testing::for_each_wycheproof_test(file, [](const auto& group, const auto& test) {
    const Bytes public_key = hex_field(group.at("publicKey").as_object(), "pk");
    const bool verified = ed25519_verify(public_key, hex_field(test, "msg"), hex_field(test, "sig"));
    const std::string result = string_field(test, "result");
    if (result == "valid") {
      EXPECT_TRUE(verified) << describe(test);
    }
    if (result == "invalid") {
      EXPECT_FALSE(verified) << describe(test);
    }
  });
  EXPECT_GT(count, 0u);
  EXPECT_EQ(count, testing::declared_test_count(file));
}

TEST(WycheproofX25519, AgreementMatchesEveryValidVectorAndRefusesOnlyZeroSecrets) {
  const auto file = testing::load_wycheproof("x25519_test.json");
  std::size_t valid = 0;
  const std::size_t count = testing::for_each_wycheproof_test(file, [&](const auto&, const auto& test) {
    auto private_key = X25519PrivateKey::from_bytes(hex_field(test, "private"));
    ASSERT_TRUE(private_key.ok()) << describe(test);
    const Bytes expected = hex_field(test, "shared");
    auto shared = private_key->agree(hex_field(test, "public"));
    const std::string result = string_field(test, "result");
    if (result == "valid") {
      ++valid;
      ASSERT_TRUE(shared.ok()) << describe(test) << ": " << shared.error().message;
      EXPECT_EQ(Bytes(shared->view().begin(), shared->view().end()), expected) << describe(test);
    } else if (shared.ok()) {
      // "acceptable": either refused or right.
      EXPECT_EQ(Bytes(shared->view().begin(), shared->view().end()), expected) << describe(test);
    } else {
      // We refuse only the all-zero secret of a low-order point (RFC 7748 §6.1).
      EXPECT_EQ(shared.error().code, "weak_key") << describe(test);
      EXPECT_EQ(expected, Bytes(kX25519KeySize, 0)) << describe(test);
    }
  });
  EXPECT_GT(count, 0u);
  EXPECT_GT(valid, 0u);
  EXPECT_EQ(count, testing::declared_test_count(file));
}

}  // namespace
}  // namespace casefile::crypto
