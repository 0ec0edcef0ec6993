// NotifyingServerStore: a sync::ServerStore that signals a ChangeNotifier
// after each commit that appended changes, with the cases they belong to, so
// that long-polling pulls wake within moments of a commit. Every call is
// forwarded to the store it wraps; the signal follows the durable commit.
#pragma once

#include "server/sync_api/change_notifier.hpp"
#include "sync/store.hpp"

namespace casefile::server {

class NotifyingServerStore final : public sync::ServerStore {
 public:
  // REQUIRES: `store` and `notifier` outlive this object.
  NotifyingServerStore(sync::ServerStore& store, ChangeNotifier& notifier)
      : store_(store), notifier_(notifier) {}

  Result<std::optional<sync::AcceptedChange>> find_change(const sync::ChangeId& id) override {
    return store_.find_change(id);
  }
  Result<std::optional<sync::StoredRecord>> load_record(const sync::RecordKey& key) override {
    return store_.load_record(key);
  }
  Result<std::vector<sync::BatchHeader>> load_batches(
      const std::vector<std::pair<sync::DeviceId, sync::BatchId>>& ids) override {
    return store_.load_batches(ids);
  }
  Result<std::vector<std::uint64_t>> commit_push(const sync::PushCommit& commit) override;
  Result<sync::LogSlice> read_log(std::uint64_t after_sequence, const std::set<sync::CaseId>& readable_cases,
                                  std::size_t limit) override {
    return store_.read_log(after_sequence, readable_cases, limit);
  }

 private:
  sync::ServerStore& store_;
  ChangeNotifier& notifier_;
};

}  // namespace casefile::server
