// HMAC-SHA256 and HKDF-SHA256 against Wycheproof.
#include <gtest/gtest.h>

#include "crypto/constant_time.hpp"
#include "crypto/hash.hpp"
#include "crypto/hkdf.hpp"
#include "tests/crypto/wycheproof_vectors.hpp"

namespace casefile::crypto {
namespace {

using testing::describe;
using testing::hex_field;
using testing::string_field;

TEST(WycheproofHmacSha256, TruncatedTagsAgreeWithEveryVector) {
  const auto file = testing::load_wycheproof("hmac_sha256_test.json");
  const std::size_t count = testing::for_each_wycheproof_test(file, [](const auto& group, const auto& test) {
    const std::size_t tag_size = testing::size_field(group, "tagSize") / 8;
    const Sha256Digest mac = hmac_sha256(hex_field(test, "key"), hex_field(test, "msg"));
    const bool matches = constant_time_equal(ByteView(mac).first(tag_size), hex_field(test, "tag"));
    const std::string result = string_field(test, "result");
    if (result == "valid") {
      EXPECT_TRUE(matches) << describe(test);
    }
    if (result == "invalid") {
      EXPECT_FALSE(matches) << describe(test);
    }
  });
  EXPECT_GT(count, 0u);
  EXPECT_EQ(count, testing::declared_test_count(file));
}

TEST(WycheproofHkdfSha256, OutputAgreesWithEveryVectorAndOversizeIsRefused) {
  const auto file = testing::load_wycheproof("hkdf_sha256_test.json");
  std::size_t invalid = 0;
  const std::size_t count = testing::for_each_wycheproof_test(file, [&](const auto&, const auto& test) {
    auto output = hkdf_sha256(hex_field(test, "salt"), hex_field(test, "ikm"), hex_field(test, "info"),
                              testing::size_field(test, "size"));
    const std::string result = string_field(test, "result");
    if (result == "valid") {
      ASSERT_TRUE(output.ok()) << describe(test) << ": " << output.error().message;
      EXPECT_EQ(Bytes(output->view().begin(), output->view().end()), hex_field(test, "okm"))
          << describe(test);
    } else if (result == "invalid") {
      ++invalid;
      ASSERT_FALSE(output.ok()) << describe(test);
      EXPECT_EQ(output.error().code, "invalid_length") << describe(test);
    }
  });
  EXPECT_GT(count, 0u);
  EXPECT_GT(invalid, 0u);
  EXPECT_EQ(count, testing::declared_test_count(file));
}

}  // namespace
}  // namespace casefile::crypto
