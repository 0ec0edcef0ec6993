#include "sync/replica.hpp"

#include <algorithm>
#include <map>

#include "sync/internal/assign_or_return.hpp"

namespace casefile::sync {
namespace {

std::vector<Dot> sorted_union(std::vector<Dot> a, const std::vector<Dot>& b) {
  a.insert(a.end(), b.begin(), b.end());
  std::sort(a.begin(), a.end());
  a.erase(std::unique(a.begin(), a.end()), a.end());
  return a;
}

// Loads records on first use and collects the ones a step changed.
class RecordCache {
 public:
  explicit RecordCache(ReplicaStore& store) : store_(store) {}

  Result<RecordState*> get(const RecordKey& key) {
    auto it = records_.find(key);
    if (it != records_.end()) return &it->second;
    auto stored = store_.load_record(key);
    if (!stored.ok()) return std::move(stored).error();
    RecordState state = stored->has_value() ? std::move(**stored) : RecordState(key);
    return &records_.emplace(key, std::move(state)).first->second;
  }

  std::vector<RecordState> take() {
    std::vector<RecordState> states;
    for (auto& [key, state] : records_) states.push_back(std::move(state));
    return states;
  }

 private:
  ReplicaStore& store_;
  std::map<RecordKey, RecordState> records_;
};

}  // namespace

Result<Replica> Replica::open(DeviceId device, ReplicaStore& store) {
  CASEFILE_ASSIGN_OR_RETURN(meta, store.load_meta());
  return Replica(device, store, std::move(meta));
}

Result<Change> Replica::record_local_change(std::optional<RecordState> current, const RecordKey& record,
                                            std::vector<Operation> operations, std::uint64_t now_millis) {
  ReplicaCommit commit;
  commit.meta = meta_;
  DeviceClock clock(meta_.clock_last, meta_.clock_offset_millis);
  Change change;
  change.id = ChangeId{device_, commit.meta.next_sequence++};
  change.record = record;
  change.hlc = clock.stamp_local_write(now_millis);
  change.operations = std::move(operations);
  canonicalize_change(change);
  CASEFILE_RETURN_IF_ERROR(validate_change(change));
  commit.meta.clock_last = clock.last();
  RecordState state = current ? std::move(*current) : RecordState(record);
  state.apply(change);
  commit.records.push_back(std::move(state));
  commit.outbox_append.push_back(change);
  CASEFILE_RETURN_IF_ERROR(store_->commit(commit));
  meta_ = std::move(commit.meta);
  return change;
}

Result<Change> Replica::write_fields(const RecordKey& record, std::vector<FieldWrite> writes,
                                     std::uint64_t now_millis) {
  CASEFILE_ASSIGN_OR_RETURN(current, store_->load_record(record));
  std::vector<Operation> operations;
  for (FieldWrite& write : writes) {
    Operation operation;
    operation.kind = OperationKind::set_field;
    if (current) operation.supersedes = current->live_dots(write.field);
    operation.field = std::move(write.field);
    operation.value = std::move(write.value);
    operations.push_back(std::move(operation));
  }
  return record_local_change(std::move(current), record, std::move(operations), now_millis);
}

Result<Change> Replica::resolve_field(const RecordKey& record, std::string field, FieldValue value,
                                      std::uint64_t now_millis) {
  CASEFILE_ASSIGN_OR_RETURN(current, store_->load_record(record));
  Operation operation;
  operation.kind = OperationKind::resolve_conflict;
  if (current) {
    std::vector<Dot> tombstones;
    for (const RegisterEntry& entry : current->tombstones().entries()) tombstones.push_back(entry.dot);
    operation.supersedes = sorted_union(current->live_dots(field), tombstones);
  }
  operation.field = std::move(field);
  operation.value = std::move(value);
  return record_local_change(std::move(current), record, {std::move(operation)}, now_millis);
}

Result<Change> Replica::delete_record(const RecordKey& record, std::uint64_t now_millis) {
  CASEFILE_ASSIGN_OR_RETURN(current, store_->load_record(record));
  Operation operation;
  operation.kind = OperationKind::delete_record;
  if (current) operation.supersedes = current->all_live_dots();
  return record_local_change(std::move(current), record, {std::move(operation)}, now_millis);
}

Result<std::optional<Batch>> Replica::prepare_push(const BatchId& id, const crypto::Ed25519PrivateKey& key,
                                                   std::uint64_t after_sequence, std::size_t max_changes) {
  CASEFILE_ASSIGN_OR_RETURN(changes,
                            store_->read_outbox(after_sequence, std::min(max_changes, kMaxBatchChanges)));
  if (changes.empty()) return std::optional<Batch>{};
  CASEFILE_ASSIGN_OR_RETURN(batch, seal_batch(id, key, device_, std::move(changes)));
  return std::optional<Batch>{std::move(batch)};
}

Status Replica::reissue_future_changes(ReplicaCommit& commit, std::uint64_t server_now_millis,
                                       std::uint64_t now_millis) {
  DeviceClock clock(commit.meta.clock_last, commit.meta.clock_offset_millis);
  clock.rewind_to_server(server_now_millis, now_millis);
  CASEFILE_ASSIGN_OR_RETURN(outbox, store_->read_outbox(0, SIZE_MAX));
  RecordCache records(*store_);
  // A later change that superseded a re-issued one must supersede its
  // replacement too, or the two would become siblings.
  std::map<Dot, Dot> replacement;
  for (const Change& old_change : outbox) {
    if (old_change.hlc.wall_millis() <= server_now_millis) continue;
    if (std::find(commit.outbox_remove.begin(), commit.outbox_remove.end(), old_change.id) !=
        commit.outbox_remove.end()) {
      continue;
    }
    Change change = old_change;
    change.id = ChangeId{device_, commit.meta.next_sequence++};
    change.hlc = clock.stamp_local_write(now_millis);
    for (Operation& operation : change.operations) {
      std::vector<Dot> extra{old_change.id};
      for (const Dot& dot : operation.supersedes) {
        if (auto it = replacement.find(dot); it != replacement.end()) extra.push_back(it->second);
      }
      operation.supersedes = sorted_union(std::move(operation.supersedes), extra);
    }
    replacement.emplace(old_change.id, change.id);
    CASEFILE_RETURN_IF_ERROR(validate_change(change));
    CASEFILE_ASSIGN_OR_RETURN(state, records.get(change.record));
    state->apply(change);
    commit.outbox_remove.push_back(old_change.id);
    commit.outbox_append.push_back(std::move(change));
  }
  commit.records = records.take();
  commit.meta.clock_last = clock.last();
  commit.meta.clock_offset_millis = clock.offset_millis();
  return ok_status();
}

Status Replica::apply_push_response(const Batch& pushed, const PushResponse& response,
                                    std::uint64_t now_millis) {
  if (response.verdicts.size() != pushed.changes.size()) {
    return make_error("push_response_mismatch", "the response does not answer every change of the batch");
  }
  ReplicaCommit commit;
  commit.meta = meta_;
  bool clock_refused = false;
  for (std::size_t i = 0; i < pushed.changes.size(); ++i) {
    const Verdict& verdict = response.verdicts[i];
    const Change& change = pushed.changes[i].change;
    if (verdict.change != change.id) {
      return make_error("push_response_mismatch", "verdicts are not in the batch's order");
    }
    if (verdict.kind != VerdictKind::refused) {
      commit.outbox_remove.push_back(change.id);
    } else if (verdict.reason.code == "clock_skew") {
      clock_refused = true;
    } else {
      commit.outbox_remove.push_back(change.id);
      commit.quarantine_append.push_back(QuarantinedChange{change, verdict.reason});
    }
  }
  DeviceClock clock(commit.meta.clock_last, commit.meta.clock_offset_millis);
  clock.observe_server_time(response.server_time_millis, now_millis);
  commit.meta.clock_offset_millis = clock.offset_millis();
  if (clock_refused)
    CASEFILE_RETURN_IF_ERROR(reissue_future_changes(commit, response.server_time_millis, now_millis));
  CASEFILE_RETURN_IF_ERROR(store_->commit(commit));
  meta_ = std::move(commit.meta);
  return ok_status();
}

Status Replica::reset_pull_cursor() {
  ReplicaCommit commit;
  commit.meta = meta_;
  commit.meta.pull_cursor.clear();
  CASEFILE_RETURN_IF_ERROR(store_->commit(commit));
  meta_ = std::move(commit.meta);
  return ok_status();
}

Status Replica::apply_pull_page(const PullPage& page, const AuthorKeyLookup& author_keys,
                                std::uint64_t now_millis) {
  const auto unverified = [](const std::string& why) { return make_error("pull_change_unverified", why); };
  std::map<std::pair<DeviceId, BatchId>, const BatchHeader*> headers;
  for (const BatchHeader& header : page.batches)
    headers.emplace(std::make_pair(header.author, header.id), &header);
  ReplicaCommit commit;
  commit.meta = meta_;
  DeviceClock clock(commit.meta.clock_last, commit.meta.clock_offset_millis);
  clock.observe_server_time(page.server_time_millis, now_millis);
  RecordCache records(*store_);
  for (const LogEntry& entry : page.entries) {
    const SignedChange& signed_change = entry.change;
    CASEFILE_RETURN_IF_ERROR(validate_change(signed_change.change));
    auto header = headers.find({signed_change.change.author(), signed_change.proof.batch});
    if (header == headers.end()) return unverified("the page lacks the header of a change's batch");
    const auto key = author_keys(header->second->author);
    if (!key) return unverified("unknown author device " + to_text(header->second->author));
    if (!verified_batches_.verify(*header->second, *key).ok())
      return unverified("batch signature does not verify");
    if (!verify_change_inclusion(signed_change, *header->second).ok()) {
      return unverified("change is not in its signed batch");
    }
    CASEFILE_ASSIGN_OR_RETURN(state, records.get(signed_change.change.record));
    state->apply(signed_change.change);
    clock.observe(signed_change.change.hlc, now_millis);
  }
  commit.records = records.take();
  commit.meta.clock_last = clock.last();
  commit.meta.clock_offset_millis = clock.offset_millis();
  commit.meta.pull_cursor = page.next_cursor;
  CASEFILE_RETURN_IF_ERROR(store_->commit(commit));
  meta_ = std::move(commit.meta);
  return ok_status();
}

}  // namespace casefile::sync
