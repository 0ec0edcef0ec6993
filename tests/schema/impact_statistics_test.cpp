// Impact figures count clear fields only: sealed bytes, real, random or
// missing, change nothing.
#include "schema/impact_statistics.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <string>
#include <vector>

#include "tests/schema/sample_envelopes.hpp"

namespace casefile::schema {
namespace {

constexpr std::string_view kCaseA = "00000000-0000-4000-8000-00000000000a";
constexpr std::string_view kCaseB = "00000000-0000-4000-8000-00000000000b";
constexpr std::string_view kCaseC = "00000000-0000-4000-8000-00000000000c";
constexpr std::string_view kCaseD = "00000000-0000-4000-8000-00000000000d";

const DateRange kFirstQuarter{CalendarDate{2026, 1, 1}, CalendarDate{2026, 3, 31}};

// Four cases and four interviews, with hand-countable attributes:
//   A: opened 2026-01-05, trial, North, duty_lawyer, juvenile, closed 2026-03-31 not_guilty
//   B: opened 2026-03-31, interrogation, South, pro_bono, adult, disability
//   C: opened 2025-12-31 (before the range), appeal, North, appointed_legal_aid,
//      closed 2026-02-10 defense_recommendation_adopted
//   D: opened 2026-04-01 (after the range), trial, "=Evil", duty_lawyer
std::vector<StatisticsRecord> sample_records() {
  std::vector<StatisticsRecord> records;
  auto add = [&](std::string_view collection, std::string_view id, FieldMap clear) {
    records.push_back(StatisticsRecord{collection, id, std::move(clear), {}});
  };
  add("cases", kCaseA,
      {{"opened_on", std::string_view("2026-01-05")},
       {"stage", std::string_view("trial")},
       {"province", std::string_view("North")},
       {"channel", std::string_view("duty_lawyer")},
       {"juvenile", true},
       {"disability", false},
       {"closed_on", std::string_view("2026-03-31")},
       {"outcome", std::string_view("not_guilty")}});
  add("cases", kCaseB,
      {{"opened_on", std::string_view("2026-03-31")},
       {"stage", std::string_view("interrogation")},
       {"province", std::string_view("South")},
       {"channel", std::string_view("pro_bono")},
       {"juvenile", false},
       {"disability", true}});
  add("cases", kCaseC,
      {{"opened_on", std::string_view("2025-12-31")},
       {"stage", std::string_view("appeal")},
       {"province", std::string_view("North")},
       {"channel", std::string_view("appointed_legal_aid")},
       {"closed_on", std::string_view("2026-02-10")},
       {"outcome", std::string_view("defense_recommendation_adopted")}});
  add("cases", kCaseD,
      {{"opened_on", std::string_view("2026-04-01")},
       {"stage", std::string_view("trial")},
       {"province", std::string_view("=Evil")},
       {"channel", std::string_view("duty_lawyer")}});
  // Interviews: two of A and one of C in range; one of B after it; one naming no known case.
  add("interviews", "10000000-0000-4000-8000-000000000001",
      {{"held_on", std::string_view("2026-01-06")}, {"case_record", kCaseA}});
  add("interviews", "10000000-0000-4000-8000-000000000002",
      {{"held_on", std::string_view("2026-02-01")}, {"case_record", kCaseA}});
  add("interviews", "10000000-0000-4000-8000-000000000003",
      {{"held_on", std::string_view("2026-01-01")}, {"case_record", kCaseC}});
  add("interviews", "10000000-0000-4000-8000-000000000004",
      {{"held_on", std::string_view("2026-04-02")}, {"case_record", kCaseB}});
  add("interviews", "10000000-0000-4000-8000-000000000005",
      {{"held_on", std::string_view("2026-03-01")}, {"case_record", std::string_view("missing")}});
  // Other collections do not count.
  add("notes", "20000000-0000-4000-8000-000000000001", {{"created_on", std::string_view("2026-01-10")}});
  return records;
}

const std::vector<std::string> kSealedCaseFields = {"charges", "summary"};
const std::vector<std::string> kSealedInterviewFields = {"notes", "custody_treatment", "coercion_allegation"};

// Holds the bytes that the records' sealed views point into.
struct SealedStorage {
  std::vector<crypto::Bytes> buffers;
};

void attach_sealed(std::vector<StatisticsRecord>& records, SealedStorage& storage, bool real) {
  storage.buffers.reserve(records.size() * 3);
  for (StatisticsRecord& record : records) {
    const auto& names = record.collection == "cases" ? kSealedCaseFields : kSealedInterviewFields;
    for (const std::string& name : names) {
      storage.buffers.push_back(real ? testing::real_envelope(record.collection, name, "Tortured on day two")
                                     : testing::random_garbage(7 + storage.buffers.size() * 13));
      record.sealed_fields[name] = crypto::ByteView(storage.buffers.back());
    }
  }
}

ImpactStatistics compute(const std::vector<StatisticsRecord>& records) {
  auto statistics = compute_impact_statistics(records, kFirstQuarter);
  EXPECT_TRUE(statistics.ok());
  return statistics.ok() ? *statistics : ImpactStatistics{};
}

TEST(ImpactStatisticsTest, CountsMatchHandComputedFigures) {
  const ImpactStatistics statistics = compute(sample_records());

  const Breakdown& cases = statistics.cases_represented;  // A and B
  EXPECT_EQ(cases.total, 2u);
  EXPECT_EQ(cases.by_stage.at("trial"), 1u);
  EXPECT_EQ(cases.by_stage.at("interrogation"), 1u);
  EXPECT_EQ(cases.by_stage.at("appeal"), 0u);
  EXPECT_EQ(cases.by_province, (std::map<std::string, std::uint64_t>{{"North", 1}, {"South", 1}}));
  EXPECT_EQ(cases.by_channel.at("duty_lawyer"), 1u);
  EXPECT_EQ(cases.by_channel.at("pro_bono"), 1u);
  EXPECT_EQ(cases.by_channel.at("appointed_legal_aid"), 0u);
  EXPECT_EQ(cases.by_outcome.at("not_guilty"), 1u);
  EXPECT_EQ(cases.by_outcome.at("unspecified"), 1u);
  EXPECT_EQ(cases.by_juvenile,
            (std::map<std::string, std::uint64_t>{{"true", 1}, {"false", 1}, {"unspecified", 0}}));
  EXPECT_EQ(cases.by_disability,
            (std::map<std::string, std::uint64_t>{{"true", 1}, {"false", 1}, {"unspecified", 0}}));

  const Breakdown& interviews = statistics.interviews_held;  // two of A, one of C, one of no case
  EXPECT_EQ(interviews.total, 4u);
  EXPECT_EQ(interviews.by_stage.at("trial"), 2u);
  EXPECT_EQ(interviews.by_stage.at("appeal"), 1u);
  EXPECT_EQ(interviews.by_stage.at("unspecified"), 1u);
  EXPECT_EQ(interviews.by_province, (std::map<std::string, std::uint64_t>{{"North", 3}, {"unspecified", 1}}));
  EXPECT_EQ(interviews.by_juvenile.at("true"), 2u);
  EXPECT_EQ(interviews.by_juvenile.at("unspecified"), 2u);

  const Breakdown& outcomes = statistics.outcomes_reached;  // A closed 03-31, C closed 02-10
  EXPECT_EQ(outcomes.total, 2u);
  EXPECT_EQ(outcomes.by_outcome.at("not_guilty"), 1u);
  EXPECT_EQ(outcomes.by_outcome.at("defense_recommendation_adopted"), 1u);
  EXPECT_EQ(outcomes.by_outcome.at("convicted"), 0u);
  EXPECT_EQ(outcomes.by_stage.at("appeal"), 1u);
}

TEST(ImpactStatisticsTest, SealedBytesDoNotChangeTheFigures) {
  std::vector<StatisticsRecord> with_real = sample_records();
  std::vector<StatisticsRecord> with_garbage = sample_records();
  const std::vector<StatisticsRecord> without_sealed = sample_records();
  SealedStorage real_storage;
  SealedStorage garbage_storage;
  attach_sealed(with_real, real_storage, true);
  attach_sealed(with_garbage, garbage_storage, false);
  ASSERT_FALSE(with_real.front().sealed_fields.empty());

  const ImpactStatistics from_real = compute(with_real);
  const ImpactStatistics from_garbage = compute(with_garbage);
  const ImpactStatistics from_none = compute(without_sealed);
  EXPECT_EQ(from_real, from_garbage);
  EXPECT_EQ(from_real, from_none);
  EXPECT_EQ(impact_statistics_to_csv(from_real), impact_statistics_to_csv(from_garbage));
  EXPECT_EQ(boost::json::serialize(impact_statistics_to_json(from_real)),
            boost::json::serialize(impact_statistics_to_json(from_none)));
}

TEST(ImpactStatisticsTest, JsonAndCsvCarryTheSameFigures) {
  const ImpactStatistics statistics = compute(sample_records());
  const boost::json::value json = impact_statistics_to_json(statistics);
  EXPECT_EQ(json.at("first_day").as_string(), "2026-01-01");
  EXPECT_EQ(json.at("last_day").as_string(), "2026-03-31");
  EXPECT_EQ(json.at("cases_represented").at("total").as_uint64(), 2u);
  EXPECT_EQ(json.at("interviews_held").at("by_province").at("North").as_uint64(), 3u);
  EXPECT_EQ(json.at("outcomes_reached").at("by_outcome").at("not_guilty").as_uint64(), 1u);

  const std::string csv = impact_statistics_to_csv(statistics);
  EXPECT_EQ(csv.rfind("measure,dimension,value,count\r\n", 0), 0u);
  EXPECT_NE(csv.find("cases_represented,total,,2\r\n"), std::string::npos);
  EXPECT_NE(csv.find("interviews_held,province,North,3\r\n"), std::string::npos);
  EXPECT_NE(csv.find("outcomes_reached,outcome,defense_recommendation_adopted,1\r\n"), std::string::npos);
}

TEST(ImpactStatisticsTest, CsvNeutralisesFormulasAndQuotesSeparators) {
  std::vector<StatisticsRecord> records = sample_records();
  records.push_back(StatisticsRecord{
      "cases",
      "00000000-0000-4000-8000-0000000000ee",
      {{"opened_on", std::string_view("2026-02-02")}, {"province", std::string_view("=HYPERLINK(\"x\")")}},
      {}});
  records.push_back(StatisticsRecord{
      "cases",
      "00000000-0000-4000-8000-0000000000ef",
      {{"opened_on", std::string_view("2026-02-03")}, {"province", std::string_view("East, Upper")}},
      {}});
  const std::string csv = impact_statistics_to_csv(compute(records));
  EXPECT_NE(csv.find("cases_represented,province,\"'=HYPERLINK(\"\"x\"\")\",1\r\n"), std::string::npos)
      << csv;
  EXPECT_NE(csv.find("cases_represented,province,\"East, Upper\",1\r\n"), std::string::npos);
}

TEST(ImpactStatisticsTest, ReversedRangeIsRefused) {
  auto statistics = compute_impact_statistics(sample_records(),
                                              DateRange{CalendarDate{2026, 2, 1}, CalendarDate{2026, 1, 1}});
  ASSERT_FALSE(statistics.ok());
  EXPECT_EQ(statistics.error().code, "invalid_date_range");
}

}  // namespace
}  // namespace casefile::schema
