// In-memory ServerStore and ReplicaStore for tests and benchmarks. Each
// commit is atomic (it is checked in full before anything changes), and each
// can be made to fail on demand, to test what a failed commit leaves behind.
#pragma once

#include <map>
#include <utility>

#include "sync/store.hpp"

namespace casefile::sync {

class MemoryServerStore final : public ServerStore {
 public:
  Result<std::optional<AcceptedChange>> find_change(const ChangeId& id) override;
  Result<std::optional<StoredRecord>> load_record(const RecordKey& key) override;
  Result<std::vector<BatchHeader>> load_batches(
      const std::vector<std::pair<DeviceId, BatchId>>& ids) override;
  Result<std::vector<std::uint64_t>> commit_push(const PushCommit& commit) override;
  Result<LogSlice> read_log(std::uint64_t after_sequence, const std::set<CaseId>& readable_cases,
                            std::size_t limit) override;

  // The next `count` commits fail with "store_unavailable" and change nothing.
  void fail_next_commits(int count) { failing_commits_ = count; }

  const std::map<RecordKey, StoredRecord>& records() const { return records_; }
  std::uint64_t head() const { return log_.size(); }

 private:
  std::vector<LogEntry> log_;  // log_[i].sequence == i + 1
  std::map<ChangeId, AcceptedChange> accepted_;
  std::map<RecordKey, StoredRecord> records_;
  std::map<std::pair<DeviceId, BatchId>, BatchHeader> batches_;
  int failing_commits_ = 0;
};

class MemoryReplicaStore final : public ReplicaStore {
 public:
  Result<ReplicaMeta> load_meta() override { return meta_; }
  Result<std::optional<RecordState>> load_record(const RecordKey& key) override;
  Result<std::vector<Change>> read_outbox(std::uint64_t after_sequence, std::size_t limit) override;
  Status commit(const ReplicaCommit& commit) override;

  void fail_next_commits(int count) { failing_commits_ = count; }

  const std::map<RecordKey, RecordState>& records() const { return records_; }
  const std::map<std::uint64_t, Change>& outbox() const { return outbox_; }
  const std::vector<QuarantinedChange>& quarantine() const { return quarantine_; }

 private:
  ReplicaMeta meta_;
  std::map<RecordKey, RecordState> records_;
  std::map<std::uint64_t, Change> outbox_;  // by device sequence
  std::vector<QuarantinedChange> quarantine_;
  int failing_commits_ = 0;
};

}  // namespace casefile::sync
