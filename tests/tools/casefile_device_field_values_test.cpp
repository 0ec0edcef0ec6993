// FIELD=VALUE typed by the schema's field types, as casefile-device gives
// values to the device library.
#include <gtest/gtest.h>

#include "tools/casefile-device/field_values.hpp"

namespace casefile::device_tool {
namespace {

device::PlainValue typed(std::string_view collection, std::string_view field, std::string_view text) {
  auto fields = typed_fields(collection, {{std::string(field), std::string(text)}}, {});
  if (!fields.ok()) {
    ADD_FAILURE() << fields.error().code;
    return {};
  }
  return fields->at(std::string(field));
}

std::string typing_error(std::string_view collection, std::string_view field, std::string_view text) {
  auto fields = typed_fields(collection, {{std::string(field), std::string(text)}}, {});
  return fields.ok() ? std::string("(typed)") : fields.error().code;
}

TEST(CasefileDeviceFieldValues, IntegersAndTimestampsAreDecimal) {
  EXPECT_EQ(typed("interviews", "duration_minutes", "90"), device::PlainValue(std::int64_t{90}));
  EXPECT_EQ(typed("interviews", "finalized_at", "1764230400000"),
            device::PlainValue(std::int64_t{1764230400000}));
  EXPECT_EQ(typed("interviews", "duration_minutes", "-5"),
            device::PlainValue(std::int64_t{-5}));  // range: the library
  EXPECT_EQ(typing_error("interviews", "duration_minutes", "90 minutes"), "wrong_type");
  EXPECT_EQ(typing_error("interviews", "duration_minutes", ""), "wrong_type");
  EXPECT_EQ(typing_error("interviews", "duration_minutes", "0x10"), "wrong_type");
  EXPECT_EQ(typing_error("interviews", "arrest_time", "99999999999999999999"), "wrong_type");  // overflows
}

TEST(CasefileDeviceFieldValues, BooleansAreTrueOrFalseOnly) {
  EXPECT_EQ(typed("cases", "juvenile", "true"), device::PlainValue(true));
  EXPECT_EQ(typed("cases", "juvenile", "false"), device::PlainValue(false));
  EXPECT_EQ(typing_error("cases", "juvenile", "yes"), "wrong_type");
  EXPECT_EQ(typing_error("cases", "juvenile", "TRUE"), "wrong_type");
}

TEST(CasefileDeviceFieldValues, EveryOtherKindIsTheTextAsGiven) {
  EXPECT_EQ(typed("cases", "stage", "trial"), device::PlainValue(std::string("trial")));  // enumeration
  EXPECT_EQ(typed("cases", "opened_on", "2026-11-27"),
            device::PlainValue(std::string("2026-11-27")));  // date
  EXPECT_EQ(typed("cases", "summary", "42"),
            device::PlainValue(std::string("42")));  // sealed text stays text
  EXPECT_EQ(typed("notes", "body", ""), device::PlainValue(std::string()));
  EXPECT_EQ(typed("amendments", "corrected_fields", R"({"notes":"x"})"),
            device::PlainValue(std::string(R"({"notes":"x"})")));  // structured
}

TEST(CasefileDeviceFieldValues, ClearedFieldsAreNull) {
  auto fields = typed_fields("interviews", {{"notes", "n"}}, {"attendees"});
  ASSERT_TRUE(fields.ok());
  EXPECT_EQ(fields->size(), 2u);
  EXPECT_EQ(fields->at("attendees"), device::PlainValue());
}

TEST(CasefileDeviceFieldValues, UnknownNamesAndRepeatsAreRefused) {
  EXPECT_EQ(typing_error("parrots", "stage", "x"), "unknown_collection");
  EXPECT_EQ(typing_error("cases", "colour", "x"), "unknown_field");
  auto twice = typed_fields("cases", {{"stage", "trial"}, {"stage", "appeal"}}, {});
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, "usage");
  auto set_and_cleared = typed_fields("cases", {{"summary", "s"}}, {"summary"});
  ASSERT_FALSE(set_and_cleared.ok());
  EXPECT_EQ(set_and_cleared.error().code, "usage");
  auto cleared_unknown = typed_fields("cases", {}, {"colour"});
  ASSERT_FALSE(cleared_unknown.ok());
  EXPECT_EQ(cleared_unknown.error().code, "unknown_field");
}

}  // namespace
}  // namespace casefile::device_tool
