#include "schema/impact_statistics.hpp"

#include <boost/json/object.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "schema/intake_schema.hpp"

namespace casefile::schema {
namespace {

constexpr std::string_view kUnspecified = "unspecified";

// A case's attributes, read from its clear fields.
struct CaseAttributes {
  std::string stage{kUnspecified};
  std::string province{kUnspecified};
  std::string outcome{kUnspecified};
  std::string channel{kUnspecified};
  std::string juvenile{kUnspecified};
  std::string disability{kUnspecified};
};

std::optional<std::string_view> clear_text(const FieldMap& fields, std::string_view name) {
  const ValueView* value = find_value(fields, name);
  if (value == nullptr) return std::nullopt;
  const auto* text = std::get_if<std::string_view>(value);
  if (text == nullptr) return std::nullopt;
  return *text;
}

std::string text_or_unspecified(const FieldMap& fields, std::string_view name) {
  auto text = clear_text(fields, name);
  return text && !text->empty() ? std::string(*text) : std::string(kUnspecified);
}

std::string flag_or_unspecified(const FieldMap& fields, std::string_view name) {
  const ValueView* value = find_value(fields, name);
  const bool* flag = value != nullptr ? std::get_if<bool>(value) : nullptr;
  if (flag == nullptr) return std::string(kUnspecified);
  return *flag ? "true" : "false";
}

std::optional<CalendarDate> clear_date(const FieldMap& fields, std::string_view name) {
  auto text = clear_text(fields, name);
  return text ? parse_calendar_date(*text) : std::nullopt;
}

CaseAttributes read_case(const FieldMap& fields) {
  return CaseAttributes{
      .stage = text_or_unspecified(fields, "stage"),
      .province = text_or_unspecified(fields, "province"),
      .outcome = text_or_unspecified(fields, "outcome"),
      .channel = text_or_unspecified(fields, "channel"),
      .juvenile = flag_or_unspecified(fields, "juvenile"),
      .disability = flag_or_unspecified(fields, "disability"),
  };
}

std::map<std::string, std::uint64_t> zeroes_for(const CollectionDeclaration& cases, std::string_view field) {
  std::map<std::string, std::uint64_t> counts{{std::string(kUnspecified), 0}};
  for (const std::string& value : cases.find_field(field)->type.values) counts[value] = 0;
  return counts;
}

Breakdown empty_breakdown() {
  const CollectionDeclaration& cases = *current_declaration().find_collection("cases");
  const std::map<std::string, std::uint64_t> flags{{"true", 0}, {"false", 0}, {std::string(kUnspecified), 0}};
  return Breakdown{
      .total = 0,
      .by_stage = zeroes_for(cases, "stage"),
      .by_province = {},
      .by_outcome = zeroes_for(cases, "outcome"),
      .by_channel = zeroes_for(cases, "channel"),
      .by_juvenile = flags,
      .by_disability = flags,
  };
}

void count(Breakdown& breakdown, const CaseAttributes& attributes) {
  ++breakdown.total;
  ++breakdown.by_stage[attributes.stage];
  ++breakdown.by_province[attributes.province];
  ++breakdown.by_outcome[attributes.outcome];
  ++breakdown.by_channel[attributes.channel];
  ++breakdown.by_juvenile[attributes.juvenile];
  ++breakdown.by_disability[attributes.disability];
}

bool in_range(const std::optional<CalendarDate>& date, const DateRange& range) {
  return date && range.first_day <= *date && *date <= range.last_day;
}

// The dimensions in the order JSON and CSV write them.
std::vector<std::pair<std::string_view, const std::map<std::string, std::uint64_t>*>> dimensions(
    const Breakdown& breakdown) {
  return {{"stage", &breakdown.by_stage},       {"province", &breakdown.by_province},
          {"outcome", &breakdown.by_outcome},   {"channel", &breakdown.by_channel},
          {"juvenile", &breakdown.by_juvenile}, {"disability", &breakdown.by_disability}};
}

std::vector<std::pair<std::string_view, const Breakdown*>> measures(const ImpactStatistics& statistics) {
  return {{"cases_represented", &statistics.cases_represented},
          {"interviews_held", &statistics.interviews_held},
          {"outcomes_reached", &statistics.outcomes_reached}};
}

boost::json::object breakdown_to_json(const Breakdown& breakdown) {
  boost::json::object object;
  object["total"] = breakdown.total;
  for (const auto& [dimension, counts] : dimensions(breakdown)) {
    boost::json::object by_value;
    for (const auto& [value, number] : *counts) by_value[value] = number;
    object["by_" + std::string(dimension)] = std::move(by_value);
  }
  return object;
}

std::string csv_cell(std::string_view value) {
  std::string cell;
  if (!value.empty() && (value.front() == '=' || value.front() == '+' || value.front() == '-' ||
                         value.front() == '@' || value.front() == '\t' || value.front() == '\r')) {
    cell.push_back('\'');
  }
  cell.append(value);
  if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
  std::string quoted = "\"";
  for (char c : cell) {
    if (c == '"') quoted.push_back('"');
    quoted.push_back(c);
  }
  quoted.push_back('"');
  return quoted;
}

}  // namespace

Result<ImpactStatistics> compute_impact_statistics(std::span<const StatisticsRecord> records,
                                                   const DateRange& range) {
  if (range.last_day < range.first_day) {
    return make_error("invalid_date_range", "the first day of the range comes after its last day");
  }
  ImpactStatistics statistics{.range = range,
                              .cases_represented = empty_breakdown(),
                              .interviews_held = empty_breakdown(),
                              .outcomes_reached = empty_breakdown()};
  std::map<std::string_view, CaseAttributes> cases_by_id;
  for (const StatisticsRecord& record : records) {
    if (record.collection != "cases") continue;
    const CaseAttributes attributes = read_case(record.clear_fields);
    cases_by_id.emplace(record.record_id, attributes);
    if (in_range(clear_date(record.clear_fields, "opened_on"), range)) {
      count(statistics.cases_represented, attributes);
    }
    if (attributes.outcome != kUnspecified && in_range(clear_date(record.clear_fields, "closed_on"), range)) {
      count(statistics.outcomes_reached, attributes);
    }
  }
  for (const StatisticsRecord& record : records) {
    if (record.collection != "interviews") continue;
    if (!in_range(clear_date(record.clear_fields, "held_on"), range)) continue;
    auto case_id = clear_text(record.clear_fields, "case_record");
    auto found = case_id ? cases_by_id.find(*case_id) : cases_by_id.end();
    count(statistics.interviews_held, found != cases_by_id.end() ? found->second : CaseAttributes{});
  }
  return statistics;
}

boost::json::value impact_statistics_to_json(const ImpactStatistics& statistics) {
  boost::json::object object;
  object["first_day"] = format_calendar_date(statistics.range.first_day);
  object["last_day"] = format_calendar_date(statistics.range.last_day);
  for (const auto& [measure, breakdown] : measures(statistics)) {
    object[measure] = breakdown_to_json(*breakdown);
  }
  return object;
}

std::string impact_statistics_to_csv(const ImpactStatistics& statistics) {
  std::string csv = "measure,dimension,value,count\r\n";
  for (const auto& [measure, breakdown] : measures(statistics)) {
    csv += std::string(measure) + ",total,," + std::to_string(breakdown->total) + "\r\n";
    for (const auto& [dimension, counts] : dimensions(*breakdown)) {
      for (const auto& [value, number] : *counts) {
        csv += std::string(measure) + "," + std::string(dimension) + "," + csv_cell(value) + "," +
               std::to_string(number) + "\r\n";
      }
    }
  }
  return csv;
}

}  // namespace casefile::schema
