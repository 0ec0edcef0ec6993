// GET /v1/admin/stats?from=YYYY-MM-DD&to=YYYY-MM-DD&format=json|csv
// (admin role only): the impact statistics of schema/impact_statistics.hpp
// over the live cases and interviews, computed from clear fields only.
// Every request is audited ("stats_read").
#pragma once

#include <functional>

#include "base/result.hpp"
#include "server/access/device_context.hpp"
#include "server/http_message.hpp"
#include "server/sync_api/statistics_snapshot.hpp"
#include "server/sync_api/sync_endpoints.hpp"

namespace casefile::server {

// Reads the records afresh (read_statistics_snapshot in casefiled).
using StatisticsSource = std::function<Result<StatisticsSnapshot>()>;

// Parses from/to/format, as the HTTP route and `casefile-admin stats` take
// them. Errors: "invalid_query", "invalid_date_range".
struct StatisticsQuery {
  schema::DateRange range;
  bool csv = false;
};
Result<StatisticsQuery> parse_statistics_query(std::string_view from, std::string_view to,
                                               std::string_view format);

class StatisticsEndpoint {
 public:
  StatisticsEndpoint(StatisticsSource source, const RequestAuthenticator& authenticator, AuditRecorder audit,
                     WallClock clock = wall_clock_millis)
      : source_(std::move(source)),
        authenticator_(authenticator),
        audit_(std::move(audit)),
        clock_(std::move(clock)) {}

  Response get(const Request& request) const;

 private:
  StatisticsSource source_;
  const RequestAuthenticator& authenticator_;
  AuditRecorder audit_;
  WallClock clock_;
};

}  // namespace casefile::server
