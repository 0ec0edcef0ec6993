#include "server/sync_api/statistics_endpoint.hpp"

#include <boost/json/object.hpp>

#include "server/query_string.hpp"

namespace casefile::server {

Result<StatisticsQuery> parse_statistics_query(std::string_view from, std::string_view to,
                                               std::string_view format) {
  auto first = schema::parse_calendar_date(from);
  auto last = schema::parse_calendar_date(to);
  if (!first || !last) return make_error("invalid_query", "'from' and 'to' must be dates YYYY-MM-DD");
  if (*last < *first) return make_error("invalid_date_range", "'from' is after 'to'");
  if (format != "json" && format != "csv") return make_error("invalid_query", "'format' must be json or csv");
  return StatisticsQuery{schema::DateRange{*first, *last}, format == "csv"};
}

Response StatisticsEndpoint::get(const Request& request) const {
  auto caller = authenticator_.authenticate(request);
  if (!caller.ok()) return authenticator_.refusal_response(request, caller.error());
  if (caller->role != Role::admin)
    return error_response(403, "forbidden", "impact statistics are for admins");
  auto parameters = parse_query(request.query, {"from", "to", "format"});
  if (!parameters.ok()) return error_response(400, parameters.error().code, parameters.error().message);
  const auto value = [&](std::string_view name, std::string_view fallback) {
    const auto found = parameters->find(name);
    return found == parameters->end() ? std::string(fallback) : found->second;
  };
  auto query = parse_statistics_query(value("from", ""), value("to", ""), value("format", "json"));
  if (!query.ok()) return error_response(400, query.error().code, query.error().message);

  auto snapshot = source_();
  if (!snapshot.ok()) return error_response(503, snapshot.error().code, snapshot.error().message);
  auto statistics = schema::compute_impact_statistics(snapshot->records(), query->range);
  if (!statistics.ok()) return error_response(400, statistics.error().code, statistics.error().message);

  if (audit_) {
    const Status audited = audit_(AuditEvent{static_cast<std::int64_t>(clock_()),
                                             "device:" + sync::to_text(caller->device),
                                             "stats_read",
                                             "",
                                             {{"from", schema::format_calendar_date(query->range.first_day)},
                                              {"to", schema::format_calendar_date(query->range.last_day)}}});
    if (!audited.ok()) {
      return error_response(500, "audit_unavailable",
                            "the audit log could not be written (" + audited.error().code + ")");
    }
  }
  if (!query->csv) return json_response(200, schema::impact_statistics_to_json(*statistics));
  Response response;
  response.content_type = "text/csv; charset=utf-8";
  response.body = schema::impact_statistics_to_csv(*statistics);
  return response;
}

}  // namespace casefile::server
