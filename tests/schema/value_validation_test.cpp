// Writes are checked against the declaration: every refusal has its own
// stable code, and the device checks sealed plaintext the server cannot see.
#include "schema/value_validation.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "schema/intake_schema.hpp"
#include "schema/record_write_validation.hpp"
#include "tests/schema/sample_envelopes.hpp"

namespace casefile::schema {
namespace {

constexpr std::string_view kCaseId = "0f8fad5b-d9cb-469f-a165-70867728950e";

const crypto::Bytes& envelope() {
  static const crypto::Bytes bytes = testing::real_envelope("cases", "charges", "theft");
  return bytes;
}

SealedView sealed() { return SealedView{envelope()}; }

FieldMap valid_case() {
  return FieldMap{{"stage", std::string_view("trial")},
                  {"province", std::string_view("Northern")},
                  {"channel", std::string_view("duty_lawyer")},
                  {"opened_on", std::string_view("2026-02-28")},
                  {"charges", sealed()}};
}

FieldMap valid_client() {
  return FieldMap{{"age_band", std::string_view("16_17")}, {"juvenile", true}, {"names", sealed()}};
}

struct InvalidWrite {
  std::string name;  // what is wrong, for the failure message
  std::string collection;
  FieldMap current;  // the record before the write
  bool creates;      // current is ignored: the write creates the record
  FieldMap written;
  std::string expected_code;
};

// One row per refusal code a single write can earn at the server.
std::vector<InvalidWrite> invalid_writes() {
  const std::string too_long(65, 'x');
  const char invalid_utf8[] = {'\xc3', '\x28', '\0'};
  FieldMap case_without_channel = valid_case();
  case_without_channel.erase("channel");
  FieldMap client_without_names = valid_client();
  client_without_names.erase("names");
  return {
      {"collection nobody declared",
       "verdicts",
       {},
       false,
       {{"stage", std::string_view("trial")}},
       "unknown_collection"},
      {"field nobody declared",
       "cases",
       valid_case(),
       false,
       {{"judge", std::string_view("x")}},
       "unknown_field"},
      {"text given as an integer",
       "cases",
       valid_case(),
       false,
       {{"province", std::int64_t{3}}},
       "wrong_type"},
      {"boolean given as text",
       "cases",
       valid_case(),
       false,
       {{"juvenile", std::string_view("yes")}},
       "wrong_type"},
      {"integer given as a boolean", "interviews", {}, false, {{"duration_minutes", true}}, "wrong_type"},
      {"date given as an integer",
       "cases",
       valid_case(),
       false,
       {{"opened_on", std::int64_t{20260101}}},
       "wrong_type"},
      {"minutes above a day",
       "interviews",
       {},
       false,
       {{"duration_minutes", std::int64_t{1441}}},
       "value_out_of_range"},
      {"negative size", "attachments", {}, false, {{"size_bytes", std::int64_t{-1}}}, "value_out_of_range"},
      {"timestamp before 1970",
       "interviews",
       {},
       false,
       {{"finalized_at", std::int64_t{-1}}},
       "value_out_of_range"},
      {"province over 64 bytes",
       "cases",
       valid_case(),
       false,
       {{"province", std::string_view(too_long)}},
       "value_too_long"},
      {"province that is not UTF-8",
       "cases",
       valid_case(),
       false,
       {{"province", std::string_view(invalid_utf8)}},
       "invalid_text"},
      {"province with a control character",
       "cases",
       valid_case(),
       false,
       {{"province", std::string_view("North\x1b[2J")}},
       "invalid_text"},
      {"stage not declared",
       "cases",
       valid_case(),
       false,
       {{"stage", std::string_view("sentencing")}},
       "not_in_enumeration"},
      {"enumeration differs in case",
       "cases",
       valid_case(),
       false,
       {{"channel", std::string_view("Pro_Bono")}},
       "not_in_enumeration"},
      {"February 30th",
       "cases",
       valid_case(),
       false,
       {{"opened_on", std::string_view("2026-02-30")}},
       "invalid_date"},
      {"29 February of a common year",
       "cases",
       valid_case(),
       false,
       {{"closed_on", std::string_view("2025-02-29")}},
       "invalid_date"},
      {"date with a time",
       "cases",
       valid_case(),
       false,
       {{"opened_on", std::string_view("2026-01-01T00:00")}},
       "invalid_date"},
      {"reference in upper case",
       "interviews",
       {},
       false,
       {{"case_record", std::string_view("0F8FAD5B-D9CB-469F-A165-70867728950E")}},
       "invalid_reference"},
      {"reference without hyphens",
       "amendments",
       {},
       false,
       {{"amends_record", std::string_view("0f8fad5bd9cb469fa16570867728950e")}},
       "invalid_reference"},
      {"digest too short",
       "attachments",
       {},
       false,
       {{"ciphertext_sha256", std::string_view("abcd")}},
       "invalid_digest"},
      {"sealed charges written in clear",
       "cases",
       valid_case(),
       false,
       {{"charges", std::string_view("theft")}},
       "sealed_field_in_clear"},
      {"sealed names written as a boolean",
       "clients",
       valid_client(),
       false,
       {{"names", true}},
       "sealed_field_in_clear"},
      {"clear stage sealed", "cases", valid_case(), false, {{"stage", sealed()}}, "clear_field_sealed"},
      {"sealed field holding bytes that are not an envelope",
       "cases",
       valid_case(),
       false,
       {{"summary", SealedView{crypto::as_bytes("not an envelope")}}},
       "invalid_envelope"},
      {"case created without channel", "cases", {}, true, case_without_channel, "required_field_missing"},
      {"client created without sealed names",
       "clients",
       {},
       true,
       client_without_names,
       "required_field_missing"},
      {"required stage cleared",
       "cases",
       valid_case(),
       false,
       {{"stage", NullView{}}},
       "required_field_missing"},
      {"adult marked juvenile",
       "clients",
       {},
       true,
       {{"age_band", std::string_view("18_plus")}, {"juvenile", true}, {"names", sealed()}},
       "inconsistent_fields"},
      {"juvenile band with juvenile cleared to false later",
       "clients",
       valid_client(),
       false,
       {{"juvenile", false}},
       "inconsistent_fields"},
      {"age band moved to adult while juvenile",
       "clients",
       valid_client(),
       false,
       {{"age_band", std::string_view("18_plus")}},
       "inconsistent_fields"},
      {"closed before opened",
       "cases",
       valid_case(),
       false,
       {{"closed_on", std::string_view("2026-02-27")}},
       "inconsistent_fields"},
  };
}

TEST(ValueValidationTest, EveryInvalidWriteIsRefusedWithItsOwnCode) {
  const SchemaDeclaration& schema = current_declaration();
  for (const InvalidWrite& write : invalid_writes()) {
    const FieldMap* current = write.creates || write.current.empty() ? nullptr : &write.current;
    // Rows that only test one field pass it alone, not as a whole new record.
    Status status = current == nullptr && !write.creates
                        ? validate_field_write(schema, write.collection, write.written.begin()->first,
                                               write.written.begin()->second, ValidationLevel::server)
                        : validate_record_fields(schema, write.collection, current, write.written,
                                                 ValidationLevel::server);
    ASSERT_FALSE(status.ok()) << write.name;
    EXPECT_EQ(status.error().code, write.expected_code) << write.name << ": " << status.error().message;
    EXPECT_FALSE(status.error().message.empty()) << write.name;
  }
}

TEST(ValueValidationTest, ValidWritesAreAccepted) {
  const SchemaDeclaration& schema = current_declaration();
  const std::string province(64, 'p');
  const FieldMap case_record = valid_case();
  EXPECT_TRUE(validate_record_fields(schema, "cases", nullptr, case_record, ValidationLevel::server).ok());
  EXPECT_TRUE(
      validate_record_fields(schema, "clients", nullptr, valid_client(), ValidationLevel::server).ok());
  const FieldMap edits = {{"province", std::string_view(province)},
                          {"closed_on", std::string_view("2026-02-28")},
                          {"outcome", std::string_view("not_guilty")},
                          {"summary", sealed()},
                          {"charges", NullView{}},
                          {"juvenile", false},
                          {"retention_until", std::string_view("2032-02-29")}};
  EXPECT_TRUE(validate_record_fields(schema, "cases", &case_record, edits, ValidationLevel::server).ok());
  EXPECT_TRUE(validate_field_write(schema, "interviews", "case_record", std::string_view(kCaseId),
                                   ValidationLevel::server)
                  .ok());
  EXPECT_TRUE(validate_field_write(
                  schema, "attachments", "ciphertext_sha256",
                  std::string_view("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
                  ValidationLevel::server)
                  .ok());
  EXPECT_TRUE(validate_field_write(schema, "cases", "province", std::string_view("Région Nord"),
                                   ValidationLevel::server)
                  .ok());
  // An unknown age band leaves the juvenile flag free either way.
  const FieldMap unknown_age = {
      {"age_band", std::string_view("unknown")}, {"juvenile", true}, {"names", sealed()}};
  EXPECT_TRUE(validate_record_fields(schema, "clients", nullptr, unknown_age, ValidationLevel::server).ok());
}

TEST(ValueValidationTest, DeviceChecksSealedPlaintextTheServerCannotSee) {
  const SchemaDeclaration& schema = current_declaration();
  // The server only sees an envelope, so it accepts one for a date field...
  EXPECT_TRUE(
      validate_field_write(schema, "clients", "date_of_birth", sealed(), ValidationLevel::server).ok());
  // ...while the device checks the plaintext before sealing it.
  EXPECT_TRUE(validate_field_write(schema, "clients", "date_of_birth", std::string_view("2010-06-30"),
                                   ValidationLevel::device)
                  .ok());
  struct Case {
    std::string collection, field;
    ValueView plaintext;
    std::string code;
  };
  const std::string long_language(65, 'l');
  const std::vector<Case> refused = {
      {"clients", "date_of_birth", std::string_view("30/06/2010"), "invalid_date"},
      {"clients", "language", std::string_view(long_language), "value_too_long"},
      {"interviews", "rights_read", std::string_view("maybe"), "not_in_enumeration"},
      {"interviews", "arrest_time", std::string_view("yesterday"), "wrong_type"},
      {"consents", "signature_attachment", std::string_view("attachment-1"), "invalid_reference"},
      {"amendments", "corrected_fields", std::string_view("[1, 2]"), "invalid_structured_value"},
      {"amendments", "corrected_fields", std::string_view("{\"notes\": "), "invalid_structured_value"},
      {"clients", "names", SealedView{envelope()},
       "wrong_type"},  // the device validates plaintext, not envelopes
      {"cases", "stage", sealed(), "clear_field_sealed"},
  };
  for (const Case& row : refused) {
    Status status =
        validate_field_write(schema, row.collection, row.field, row.plaintext, ValidationLevel::device);
    ASSERT_FALSE(status.ok()) << row.collection << "." << row.field;
    EXPECT_EQ(status.error().code, row.code) << row.collection << "." << row.field;
  }
  EXPECT_TRUE(validate_field_write(schema, "amendments", "corrected_fields",
                                   std::string_view(R"({"notes": "corrected", "duration_minutes": 45})"),
                                   ValidationLevel::device)
                  .ok());
}

TEST(ValueValidationTest, MessagesNeverRepeatTheRefusedValue) {
  const std::string secret = "Amina Yusuf, born 2009";
  Status status = validate_field_write(current_declaration(), "clients", "names", std::string_view(secret),
                                       ValidationLevel::server);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message.find("Amina"), std::string::npos);
}

TEST(ValueValidationTest, DeviceOnAnOlderVersionIsValidatedAgainstThatVersion) {
  const FieldMap current = valid_case();
  const FieldMap written = {{"in_pretrial_detention", true}};
  RecordWrite write{.schema_version = 1, .collection = "cases", .current = &current, .written = &written};
  Status on_version_1 = validate_record_write(write, ValidationLevel::server);
  ASSERT_FALSE(on_version_1.ok());
  EXPECT_EQ(on_version_1.error().code, "unknown_field");
  // Every version from 2 (which added the field) to the current one knows it.
  for (std::uint32_t version = 2; version <= current_version(); ++version) {
    write.schema_version = version;
    EXPECT_TRUE(validate_record_write(write, ValidationLevel::server).ok()) << "version " << version;
  }
  write.schema_version = current_version() + 1;
  Status on_a_future_version = validate_record_write(write, ValidationLevel::server);
  ASSERT_FALSE(on_a_future_version.ok());
  EXPECT_EQ(on_a_future_version.error().code, "unsupported_schema_version");
}

}  // namespace
}  // namespace casefile::schema
