#include "sync/memory_store.hpp"

#include <algorithm>

namespace casefile::sync {
namespace {

Error unavailable() { return make_error("store_unavailable", "injected store failure"); }

}  // namespace

Result<std::optional<AcceptedChange>> MemoryServerStore::find_change(const ChangeId& id) {
  auto it = accepted_.find(id);
  if (it == accepted_.end()) return std::optional<AcceptedChange>{};
  return std::optional<AcceptedChange>{it->second};
}

Result<std::optional<StoredRecord>> MemoryServerStore::load_record(const RecordKey& key) {
  auto it = records_.find(key);
  if (it == records_.end()) return std::optional<StoredRecord>{};
  return std::optional<StoredRecord>{it->second};
}

Result<std::vector<BatchHeader>> MemoryServerStore::load_batches(
    const std::vector<std::pair<DeviceId, BatchId>>& ids) {
  std::vector<BatchHeader> headers;
  for (const auto& id : ids) {
    auto it = batches_.find(id);
    if (it != batches_.end()) headers.push_back(it->second);
  }
  return headers;
}

Result<std::vector<std::uint64_t>> MemoryServerStore::commit_push(const PushCommit& commit) {
  if (failing_commits_ > 0) {
    --failing_commits_;
    return unavailable();
  }
  // Check everything first, so that a refused commit changes nothing.
  for (const auto& write : commit.records) {
    auto it = records_.find(write.state.key());
    const std::uint64_t current = it == records_.end() ? 0 : it->second.version;
    if (current != write.expected_version)
      return make_error("store_conflict", "record changed since it was read");
  }
  for (const SignedChange& change : commit.accepted) {
    if (accepted_.count(change.change.id) > 0)
      return make_error("store_conflict", "change id already in the log");
  }
  if (!commit.accepted.empty()) batches_.try_emplace({commit.batch.author, commit.batch.id}, commit.batch);
  std::vector<std::uint64_t> sequences;
  sequences.reserve(commit.accepted.size());
  for (std::size_t i = 0; i < commit.accepted.size(); ++i) {
    const std::uint64_t sequence = log_.size() + 1;
    log_.push_back(LogEntry{sequence, commit.accepted[i]});
    accepted_.emplace(commit.accepted[i].change.id, AcceptedChange{sequence, commit.leaf_hashes[i]});
    sequences.push_back(sequence);
  }
  for (const auto& write : commit.records) {
    auto [it, inserted] = records_.try_emplace(write.state.key(), StoredRecord{write.state, 0});
    if (!inserted) it->second.state = write.state;
    it->second.version = write.expected_version + 1;
  }
  return sequences;
}

Result<LogSlice> MemoryServerStore::read_log(std::uint64_t after_sequence,
                                             const std::set<CaseId>& readable_cases, std::size_t limit) {
  LogSlice slice;
  slice.head = log_.size();
  slice.scanned_through = after_sequence;
  for (std::uint64_t index = after_sequence; index < log_.size(); ++index) {
    if (slice.entries.size() == limit) break;
    const LogEntry& entry = log_[index];
    slice.scanned_through = entry.sequence;
    if (readable_cases.count(entry.change.change.record.case_id) > 0) slice.entries.push_back(entry);
  }
  return slice;
}

Result<std::optional<RecordState>> MemoryReplicaStore::load_record(const RecordKey& key) {
  auto it = records_.find(key);
  if (it == records_.end()) return std::optional<RecordState>{};
  return std::optional<RecordState>{it->second};
}

Result<std::vector<Change>> MemoryReplicaStore::read_outbox(std::uint64_t after_sequence, std::size_t limit) {
  std::vector<Change> changes;
  for (auto it = outbox_.upper_bound(after_sequence); it != outbox_.end() && changes.size() < limit; ++it) {
    changes.push_back(it->second);
  }
  return changes;
}

Status MemoryReplicaStore::commit(const ReplicaCommit& commit) {
  if (failing_commits_ > 0) {
    --failing_commits_;
    return unavailable();
  }
  meta_ = commit.meta;
  for (const RecordState& state : commit.records) records_.insert_or_assign(state.key(), state);
  for (const Change& change : commit.outbox_append) outbox_.insert_or_assign(change.id.sequence, change);
  for (const ChangeId& id : commit.outbox_remove) outbox_.erase(id.sequence);
  quarantine_.insert(quarantine_.end(), commit.quarantine_append.begin(), commit.quarantine_append.end());
  return ok_status();
}

}  // namespace casefile::sync
