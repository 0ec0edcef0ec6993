// Calendar dates as the schema writes them: "YYYY-MM-DD".
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>

namespace casefile::schema {

struct CalendarDate {
  int year = 1;   // 1..9999
  int month = 1;  // 1..12
  int day = 1;    // 1..days in that month (proleptic Gregorian)

  friend auto operator<=>(const CalendarDate&, const CalendarDate&) = default;
  friend bool operator==(const CalendarDate&, const CalendarDate&) = default;
};

// Exactly ten characters "YYYY-MM-DD", ASCII digits, a real date from
// 0001-01-01 to 9999-12-31. Nothing else parses (no time, no zone, no spaces).
std::optional<CalendarDate> parse_calendar_date(std::string_view text);

// "YYYY-MM-DD".
std::string format_calendar_date(const CalendarDate& date);

}  // namespace casefile::schema
