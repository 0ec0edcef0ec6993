// The tus and Range header parsers against well-formed and hostile input.
#include "server/attachments/tus_headers.hpp"

#include <gtest/gtest.h>

namespace casefile::server {
namespace {

std::string text_of(const crypto::Bytes& bytes) { return std::string(bytes.begin(), bytes.end()); }

TEST(Base64Test, RoundTripsEveryLengthAndRefusesNonCanonicalText) {
  for (std::size_t length = 0; length < 8; ++length) {
    const std::string text = std::string("abcdefgh").substr(0, length);
    const auto decoded = base64_decode(base64_encode(crypto::as_bytes(text)));
    ASSERT_TRUE(decoded.has_value()) << length;
    EXPECT_EQ(text_of(*decoded), text);
  }
  EXPECT_EQ(base64_encode(crypto::as_bytes(std::string_view("hello"))), "aGVsbG8=");
  for (const char* hostile : {"aGVsbG8", "aGVsbG8==", "aGV sbG8=", "aGVsbG9=", "a===", "aGVs=G8=", "aGVsbG8_",
                              "====", "aGVsbG-="}) {
    EXPECT_FALSE(base64_decode(hostile).has_value()) << hostile;
  }
}

TEST(ByteCountTest, AcceptsPlainDecimalOnly) {
  EXPECT_EQ(parse_byte_count("0", "Upload-Offset").value(), 0u);
  EXPECT_EQ(parse_byte_count("1234", "Upload-Offset").value(), 1234u);
  for (const char* hostile : {"", "-1", "+1", "01", " 1", "1 ", "1e3", "0x10", "99999999999999999999"}) {
    const auto parsed = parse_byte_count(hostile, "Upload-Offset");
    ASSERT_FALSE(parsed.ok()) << hostile;
    EXPECT_EQ(parsed.error().code, "invalid_header");
  }
}

TEST(UploadMetadataTest, ParsesPairsAndKeysWithoutValues) {
  const auto parsed = parse_upload_metadata("case_id Y2FzZQ==,record_id cmVjb3Jk,flag");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->at("case_id"), "case");
  EXPECT_EQ(parsed->at("record_id"), "record");
  EXPECT_EQ(parsed->at("flag"), "");
  EXPECT_TRUE(parse_upload_metadata("").value().empty());
}

TEST(UploadMetadataTest, RefusesMalformedAndHostileText) {
  std::string many;
  for (int i = 0; i < 17; ++i) many += (i ? ",k" : "k") + std::to_string(i);
  for (const std::string& hostile :
       {std::string("case_id Y2FzZQ==,case_id Y2FzZQ=="), std::string("Case Y2FzZQ=="),
        std::string("case_id ***"), std::string("case_id Y2FzZQ"), std::string(",case_id Y2FzZQ=="),
        std::string("case_id Y2FzZQ==,"), std::string("case_id "), std::string("case_id  Y2FzZQ=="),
        std::string(5000, 'a'), many}) {
    const auto parsed = parse_upload_metadata(hostile);
    ASSERT_FALSE(parsed.ok()) << hostile;
    EXPECT_EQ(parsed.error().code, "invalid_upload_metadata");
  }
}

TEST(UploadChecksumTest, ParsesSha256AndRefusesOthers) {
  const auto digest = crypto::sha256(crypto::as_bytes(std::string_view("chunk")));
  const auto parsed =
      parse_upload_checksum("sha256 " + base64_encode(crypto::ByteView(digest.data(), digest.size())));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, digest);
  EXPECT_EQ(parse_upload_checksum("md5 1B2M2Y8AsgTpgAmY7PhCfg==").error().code,
            "checksum_algorithm_unsupported");
  for (const char* hostile :
       {"sha256", "sha256 ", "SHA256 AAAA", "sha256 AAAA", "sha256  ", "", " sha256 AAAA"}) {
    const auto refused = parse_upload_checksum(hostile);
    ASSERT_FALSE(refused.ok()) << hostile;
    EXPECT_EQ(refused.error().code, "invalid_upload_checksum") << hostile;
  }
}

TEST(RangeTest, ParsesOneRangeClampsTheEndAndAnswersListsWhole) {
  auto range = parse_range("bytes=0-99", 1000).value();
  EXPECT_EQ(range.kind, RangeKind::partial);
  EXPECT_EQ(range.range.first, 0u);
  EXPECT_EQ(range.range.length, 100u);
  range = parse_range("bytes=990-2000", 1000).value();
  EXPECT_EQ(range.range.first, 990u);
  EXPECT_EQ(range.range.length, 10u);
  range = parse_range("bytes=500-", 1000).value();
  EXPECT_EQ(range.range.length, 500u);
  range = parse_range("bytes=-10", 1000).value();
  EXPECT_EQ(range.range.first, 990u);
  EXPECT_EQ(range.range.length, 10u);
  range = parse_range("bytes=-5000", 1000).value();
  EXPECT_EQ(range.range.first, 0u);
  EXPECT_EQ(range.range.length, 1000u);
  EXPECT_EQ(parse_range("bytes=0-1,5-6", 1000).value().kind, RangeKind::whole);
  EXPECT_EQ(parse_range("bytes=1000-", 1000).value().kind, RangeKind::unsatisfiable);
  EXPECT_EQ(parse_range("bytes=-0", 1000).value().kind, RangeKind::unsatisfiable);
  EXPECT_EQ(parse_range("bytes=0-", 0).value().kind, RangeKind::unsatisfiable);
}

TEST(RangeTest, RefusesMalformedRanges) {
  for (const char* hostile : {"bytes=", "bytes=-", "bytes=5-1", "items=0-1", "bytes=a-b", "bytes=0-1-2",
                              "bytes= 0-1", "bytes=+1-2", "Bytes=0-1", "bytes=00-1"}) {
    const auto parsed = parse_range(hostile, 1000);
    ASSERT_FALSE(parsed.ok()) << hostile;
    EXPECT_EQ(parsed.error().code, "invalid_range");
  }
}

TEST(HttpDateTest, FormatsImfFixdate) {
  EXPECT_EQ(http_date(std::chrono::system_clock::time_point(std::chrono::seconds(784111777))),
            "Sun, 06 Nov 1994 08:49:37 GMT");
}

}  // namespace
}  // namespace casefile::server
