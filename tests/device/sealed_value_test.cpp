// The plaintext encoding of sealed values: canonical JSON scalars, decoded
// strictly by the field's declared type.
#include "device/sealed_value.hpp"

#include <gtest/gtest.h>

#include <string>

namespace casefile::device {
namespace {

std::string encoded(const PlainValue& value) {
  const crypto::SecretBytes bytes = encode_sealed_plaintext(value);
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

Result<PlainValue> decoded(const schema::FieldType& type, std::string_view text) {
  return decode_sealed_plaintext(type, crypto::as_bytes(text));
}

TEST(SealedValue, EncodesCanonicalJsonScalars) {
  EXPECT_EQ(encoded(std::string("plain")), "\"plain\"");
  EXPECT_EQ(encoded(std::string("quote \" slash \\ newline \n tab \t bell \x07")),
            "\"quote \\\" slash \\\\ newline \\n tab \\t bell \\u0007\"");
  EXPECT_EQ(encoded(std::string("P\xc3\xa9rez")), "\"P\xc3\xa9rez\"");  // UTF-8 kept as is
  EXPECT_EQ(encoded(std::int64_t{-12}), "-12");
  EXPECT_EQ(encoded(std::int64_t{0}), "0");
  EXPECT_EQ(encoded(true), "true");
  EXPECT_EQ(encoded(false), "false");
}

TEST(SealedValue, RoundTripsEveryKind) {
  const std::vector<std::pair<schema::FieldType, PlainValue>> cases = {
      {schema::text_type(100), std::string("line one\nline \"two\"")},
      {schema::date_type(), std::string("2026-11-27")},
      {schema::enumeration_type({"yes", "no"}), std::string("yes")},
      {schema::integer_type(-100, 100), std::int64_t{-100}},
      {schema::timestamp_type(), std::int64_t{1'795'000'000'000}},
      {schema::boolean_type(), true},
  };
  for (const auto& [type, value] : cases) {
    const crypto::SecretBytes bytes = encode_sealed_plaintext(value);
    auto back = decode_sealed_plaintext(type, bytes.view());
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(*back, value);
  }
}

TEST(SealedValue, DecodingIsStrictAndTyped) {
  const struct {
    schema::FieldType type;
    std::string text;
  } refused[] = {
      {schema::text_type(10), "bare words"},   // not JSON
      {schema::text_type(10), "\"a\" "},       // trailing whitespace
      {schema::text_type(10), " \"a\""},       // leading whitespace
      {schema::text_type(10), "\"\\u0061\""},  // an escape canonical form does not use
      {schema::text_type(10), "\"a\\/b\""},    // the same
      {schema::text_type(10), "12"},           // integer where text is declared
      {schema::integer_type(0, 9), "\"12\""},  // text where an integer is declared
      {schema::integer_type(0, 9), "012"},     // leading zero
      {schema::integer_type(0, 9), "1.0"},     // fraction
      {schema::integer_type(0, 9), "1e2"},     // exponent
      {schema::integer_type(0, 9), "99999999999999999999"},
      {schema::boolean_type(), "1"},
      {schema::boolean_type(), "True"},
      {schema::text_type(10), "null"},
      {schema::text_type(10), "[\"a\"]"},
      {schema::text_type(10), ""},
      {schema::text_type(10), std::string("\"\xff\"")},  // invalid UTF-8
  };
  for (const auto& [type, text] : refused) {
    auto result = decoded(type, text);
    ASSERT_FALSE(result.ok()) << text;
    EXPECT_EQ(result.error().code, "sealed_value_invalid") << text;
    EXPECT_EQ(result.error().message.find(text.empty() ? "\x01" : text), std::string::npos)
        << "the message quotes the plaintext " << text << ": " << result.error().message;
  }
}

TEST(SealedValue, PlainValuesMapToSchemaViewsAndClearFieldValues) {
  const PlainValue text = std::string("abc");
  EXPECT_EQ(std::get<std::string_view>(plain_value_view(text)), "abc");
  EXPECT_TRUE(std::holds_alternative<schema::NullView>(plain_value_view(std::monostate{})));
  EXPECT_EQ(std::get<std::int64_t>(plain_value_view(std::int64_t{5})), 5);
  EXPECT_EQ(plain_to_field_value(std::monostate{}), sync::FieldValue(sync::NullValue{}));
  EXPECT_EQ(plain_to_field_value(true), sync::FieldValue(true));
  EXPECT_EQ(plain_to_field_value(text), sync::FieldValue(std::string("abc")));
}

}  // namespace
}  // namespace casefile::device
