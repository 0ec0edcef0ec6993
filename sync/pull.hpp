// The server's pull path: a page of the change log after a cursor, filtered
// to the cases the device may read, with the headers of the batches the
// changes were signed in.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "sync/batch.hpp"
#include "sync/change_log.hpp"
#include "sync/store.hpp"

namespace casefile::sync {

inline constexpr std::size_t kMaxPullLimit = 1000;

struct PullPage {
  std::uint64_t server_time_millis = 0;
  std::vector<BatchHeader> batches;  // each batch an entry names, once
  std::vector<LogEntry> entries;     // ascending sequence
  // Where the next pull starts. Never behind the cursor the page was asked
  // with; store it only once the page is durably applied.
  std::string next_cursor;
  bool has_more = false;  // the log holds more after next_cursor right now

  friend bool operator==(const PullPage&, const PullPage&) = default;
};

// `limit` is clamped to [1, kMaxPullLimit]. Changes written by `reader`
// (the pulling device) are left out of the page, as it holds them already;
// the cursor moves past them all the same. Errors: "invalid_cursor"
// (malformed, or ahead of the log: the server was restored from an older
// backup and the device must start again from an empty cursor), and the
// store's.
Result<PullPage> handle_pull(ServerStore& store, const std::set<CaseId>& readable_cases,
                             std::string_view cursor, std::size_t limit, std::uint64_t server_now_millis,
                             const std::optional<DeviceId>& reader = std::nullopt);

}  // namespace casefile::sync
