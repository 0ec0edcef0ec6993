#include "server/sync_api/notifying_server_store.hpp"

namespace casefile::server {

Result<std::vector<std::uint64_t>> NotifyingServerStore::commit_push(const sync::PushCommit& commit) {
  auto sequences = store_.commit_push(commit);
  if (sequences.ok() && !commit.accepted.empty()) {
    std::set<sync::CaseId> cases;
    for (const auto& change : commit.accepted) cases.insert(change.change.record.case_id);
    notifier_.notify(cases);
  }
  return sequences;
}

}  // namespace casefile::server
