// Aggregate impact figures for a date range, as admins report them: cases
// represented, interviews held and outcomes reached, each by stage, province,
// outcome, channel, juvenile and disability.
//
// The computation reads clear fields only. Records carry their sealed fields
// so that callers can pass what they store unchanged, and tests can prove the
// figures do not depend on them. Definitions: docs/schema.md.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "schema/calendar_date.hpp"
#include "schema/value_view.hpp"

namespace casefile::schema {

// One live (not deleted) record, as stored.
struct StatisticsRecord {
  std::string_view collection;
  std::string_view record_id;  // lower-case RFC 4122 text; interviews name their case by it
  FieldMap clear_fields;
  std::map<std::string, crypto::ByteView, std::less<>> sealed_fields;  // never read
};

// Both days included.
struct DateRange {
  CalendarDate first_day;
  CalendarDate last_day;

  friend bool operator==(const DateRange&, const DateRange&) = default;
};

// Counts by the attributes of a case. Every declared value of stage, outcome
// and channel, "true" and "false" for juvenile and disability, and
// "unspecified" appear, with zero when nothing matched, so that reports keep
// their columns; provinces appear as written, when counted.
struct Breakdown {
  std::uint64_t total = 0;
  std::map<std::string, std::uint64_t> by_stage;
  std::map<std::string, std::uint64_t> by_province;
  std::map<std::string, std::uint64_t> by_outcome;
  std::map<std::string, std::uint64_t> by_channel;
  std::map<std::string, std::uint64_t> by_juvenile;
  std::map<std::string, std::uint64_t> by_disability;

  friend bool operator==(const Breakdown&, const Breakdown&) = default;
};

struct ImpactStatistics {
  DateRange range;
  Breakdown cases_represented;  // cases whose opened_on lies in the range
  Breakdown interviews_held;    // interviews whose held_on lies in the range, by their case
  Breakdown outcomes_reached;   // cases whose closed_on lies in the range and that have an outcome

  friend bool operator==(const ImpactStatistics&, const ImpactStatistics&) = default;
};

// Error: "invalid_date_range" (first_day after last_day).
Result<ImpactStatistics> compute_impact_statistics(std::span<const StatisticsRecord> records,
                                                   const DateRange& range);

// {"first_day": "YYYY-MM-DD", "last_day": ..., "cases_represented": {"total": n,
//  "by_stage": {...}, "by_province": {...}, "by_outcome": {...}, "by_channel": {...},
//  "by_juvenile": {...}, "by_disability": {...}}, "interviews_held": {...},
//  "outcomes_reached": {...}}
boost::json::value impact_statistics_to_json(const ImpactStatistics& statistics);

// RFC 4180 CSV with CRLF line ends and the header "measure,dimension,value,count":
// one "total" row per measure, then one row per dimension value. Values that a
// spreadsheet would run as a formula (leading = + - @ tab or CR) get a leading
// apostrophe.
std::string impact_statistics_to_csv(const ImpactStatistics& statistics);

}  // namespace casefile::schema
