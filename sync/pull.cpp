#include "sync/pull.hpp"

#include <algorithm>

#include "sync/cursor.hpp"
#include "sync/internal/assign_or_return.hpp"

namespace casefile::sync {

Result<PullPage> handle_pull(ServerStore& store, const std::set<CaseId>& readable_cases,
                             std::string_view cursor, std::size_t limit, std::uint64_t server_now_millis,
                             const std::optional<DeviceId>& reader) {
  CASEFILE_ASSIGN_OR_RETURN(after, decode_cursor(cursor));
  CASEFILE_ASSIGN_OR_RETURN(
      slice, store.read_log(after, readable_cases, std::clamp<std::size_t>(limit, 1, kMaxPullLimit)));
  if (after > slice.head) {
    return make_error("invalid_cursor",
                      "the cursor is ahead of the change log; pull again from the beginning");
  }
  if (reader) {
    std::erase_if(slice.entries,
                  [&](const LogEntry& entry) { return entry.change.change.author() == *reader; });
  }
  std::vector<std::pair<DeviceId, BatchId>> batch_ids;
  for (const LogEntry& entry : slice.entries) {
    batch_ids.emplace_back(entry.change.change.author(), entry.change.proof.batch);
  }
  std::sort(batch_ids.begin(), batch_ids.end());
  batch_ids.erase(std::unique(batch_ids.begin(), batch_ids.end()), batch_ids.end());
  CASEFILE_ASSIGN_OR_RETURN(batches, store.load_batches(batch_ids));
  if (batches.size() != batch_ids.size()) {
    return make_error("store_corrupt", "a logged change's batch header is missing from the store");
  }
  PullPage page;
  page.server_time_millis = server_now_millis;
  page.batches = std::move(batches);
  page.entries = std::move(slice.entries);
  page.next_cursor = encode_cursor(std::max(after, slice.scanned_through));
  page.has_more = slice.scanned_through < slice.head;
  return page;
}

}  // namespace casefile::sync
