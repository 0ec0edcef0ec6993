// Interviews and consents are finalized once and then frozen; amendments point
// at finalized records only; purge respects legal hold and retention.
#include "schema/record_lifecycle.hpp"

#include <gtest/gtest.h>

#include <string>

#include "schema/intake_schema.hpp"
#include "schema/record_write_validation.hpp"
#include "tests/schema/sample_envelopes.hpp"

namespace casefile::schema {
namespace {

constexpr std::string_view kCaseRecord = "0f8fad5b-d9cb-469f-a165-70867728950e";
constexpr std::string_view kInterviewRecord = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";
constexpr std::int64_t kFinalizedAt = 1772236800000;  // 2026-02-28T00:00:00Z

FieldMap draft_interview() {
  return FieldMap{{"held_on", std::string_view("2026-02-27")},
                  {"place_type", std::string_view("detention_centre")},
                  {"status", std::string_view("draft")},
                  {"case_record", kCaseRecord}};
}

FieldMap finalized_interview() {
  FieldMap interview = draft_interview();
  interview["status"] = std::string_view("finalized");
  interview["finalized_at"] = kFinalizedAt;
  return interview;
}

std::string code_of(const Status& status) { return status.ok() ? "ok" : status.error().code; }

std::string write_code(std::string_view collection, const FieldMap* current, const FieldMap& written,
                       const FieldMap* amendment_target = nullptr) {
  const RecordWrite write{.schema_version = current_version(),
                          .collection = collection,
                          .current = current,
                          .written = &written,
                          .amendment_target = amendment_target};
  return code_of(validate_record_write(write, ValidationLevel::server));
}

TEST(RecordLifecycleTest, DraftInterviewAcceptsEditsAndFinalization) {
  const FieldMap draft = draft_interview();
  EXPECT_EQ(write_code("interviews", nullptr, draft), "ok");
  EXPECT_EQ(write_code("interviews", &draft, {{"duration_minutes", std::int64_t{50}}}), "ok");
  EXPECT_EQ(write_code("interviews", &draft, {{"status", std::string_view("draft")}}), "ok");
  EXPECT_EQ(write_code("interviews", &draft,
                       {{"status", std::string_view("finalized")}, {"finalized_at", kFinalizedAt}}),
            "ok");
}

TEST(RecordLifecycleTest, FinalizationRequiresFinalizedAt) {
  const FieldMap draft = draft_interview();
  EXPECT_EQ(write_code("interviews", &draft, {{"status", std::string_view("finalized")}}),
            "finalized_at_required");
  EXPECT_EQ(write_code("interviews", &draft,
                       {{"status", std::string_view("finalized")}, {"finalized_at", NullView{}}}),
            "finalized_at_required");
  // A record may be created finalized, with its timestamp, or not at all.
  FieldMap created_finalized = finalized_interview();
  EXPECT_EQ(write_code("interviews", nullptr, created_finalized), "ok");
  created_finalized.erase("finalized_at");
  EXPECT_EQ(write_code("interviews", nullptr, created_finalized), "finalized_at_required");
  // finalized_at written earlier, while still a draft, counts.
  FieldMap draft_with_time = draft_interview();
  draft_with_time["finalized_at"] = kFinalizedAt;
  EXPECT_EQ(write_code("consents", &draft_with_time, {{"status", std::string_view("finalized")}}), "ok");
}

TEST(RecordLifecycleTest, FinalizedRecordRefusesEveryLaterWrite) {
  const FieldMap finalized = finalized_interview();
  EXPECT_EQ(write_code("interviews", &finalized, {{"duration_minutes", std::int64_t{10}}}),
            "record_finalized");
  EXPECT_EQ(write_code("interviews", &finalized, {{"status", std::string_view("draft")}}),
            "record_finalized");
  EXPECT_EQ(write_code("interviews", &finalized, {{"status", std::string_view("finalized")}}),
            "record_finalized");
  EXPECT_EQ(write_code("interviews", &finalized, {{"finalized_at", std::int64_t{kFinalizedAt + 1}}}),
            "record_finalized");
  EXPECT_EQ(write_code("consents", &finalized, {{"method", std::string_view("signed")}}), "record_finalized");
  EXPECT_EQ(code_of(validate_record_deletion(current_version(), "interviews", finalized)),
            "record_finalized");
  EXPECT_EQ(code_of(validate_record_deletion(current_version(), "interviews", draft_interview())), "ok");
  // Cases have no lifecycle: a closed case still accepts writes.
  const FieldMap closed_case = {{"stage", std::string_view("closed")},
                                {"status", std::string_view("finalized")}};
  EXPECT_EQ(code_of(check_lifecycle_write(*current_declaration().find_collection("cases"), &closed_case,
                                          {{"stage", std::string_view("appeal")}})),
            "ok");
}

TEST(RecordLifecycleTest, AmendmentMustPointAtAFinalizedRecord) {
  const crypto::Bytes corrected =
      testing::real_envelope("amendments", "corrected_fields", R"({"notes":"x"})");
  const crypto::Bytes reason = testing::real_envelope("amendments", "reason", "misheard date");
  const FieldMap amendment = {{"amends_collection", std::string_view("interviews")},
                              {"amends_record", kInterviewRecord},
                              {"amended_at", kFinalizedAt + 60000},
                              {"corrected_fields", SealedView{corrected}},
                              {"reason", SealedView{reason}}};
  const FieldMap draft = draft_interview();
  const FieldMap finalized = finalized_interview();
  EXPECT_EQ(write_code("amendments", nullptr, amendment, &finalized), "ok");
  EXPECT_EQ(write_code("amendments", nullptr, amendment, &draft), "amendment_target_not_finalized");
  EXPECT_EQ(write_code("amendments", nullptr, amendment, nullptr), "amendment_target_not_found");
}

TEST(RecordLifecycleTest, AmendmentIsFinalFromCreation) {
  const FieldMap amendment = {{"amends_collection", std::string_view("interviews")},
                              {"amends_record", kInterviewRecord}};
  EXPECT_EQ(write_code("amendments", &amendment, {{"amended_at", std::int64_t{1}}}), "record_finalized");
  EXPECT_EQ(code_of(validate_record_deletion(current_version(), "amendments", amendment)),
            "record_finalized");
}

TEST(RecordLifecycleTest, PurgeIsRefusedUnderLegalHoldAndBeforeRetentionEnds) {
  const CalendarDate today{2030, 6, 1};
  EXPECT_EQ(code_of(check_purge({{"legal_hold", true}, {"retention_until", std::string_view("2020-01-01")}},
                                today)),
            "legal_hold");
  EXPECT_EQ(code_of(check_purge({{"legal_hold", false}}, today)), "retention_not_set");
  EXPECT_EQ(code_of(check_purge({{"retention_until", std::string_view("2030-06-01")}}, today)),
            "retention_not_expired");
  EXPECT_EQ(code_of(check_purge({{"retention_until", std::string_view("2031-01-01")}}, today)),
            "retention_not_expired");
  EXPECT_EQ(code_of(check_purge({{"retention_until", std::string_view("2030-05-31")}}, today)), "ok");
  EXPECT_EQ(code_of(check_purge({{"legal_hold", false}, {"retention_until", std::string_view("2030-05-31")}},
                                today)),
            "ok");
}

}  // namespace
}  // namespace casefile::schema
