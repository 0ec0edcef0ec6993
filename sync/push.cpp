#include "sync/push.hpp"

#include <map>

#include "sync/change_encoding.hpp"

namespace casefile::sync {
namespace {

constexpr int kMaxCommitAttempts = 8;

class PushAttempt {
 public:
  PushAttempt(ServerStore& store, const PushContext& context, const Batch& batch)
      : store_(store), context_(context), batch_(batch) {}

  Result<PushResponse> run() {
    PushResponse response;
    response.server_time_millis = context_.server_now_millis;
    response.verdicts.resize(batch_.changes.size());
    const Status batch_status = check_batch();
    if (!batch_status.ok() && batch_status.error().code.rfind("store_", 0) == 0) return batch_status.error();
    for (std::size_t i = 0; i < batch_.changes.size(); ++i) {
      Verdict& verdict = response.verdicts[i];
      verdict.change = batch_.changes[i].change.id;
      if (!batch_status.ok()) {
        (void)refuse(verdict, batch_status.error());
        continue;
      }
      CASEFILE_RETURN_IF_ERROR(judge(i, verdict));
    }
    if (commit_.accepted.empty()) return response;
    commit_.batch = batch_.header;
    for (auto& [key, record] : records_) {
      if (record.touched) commit_.records.push_back({std::move(record.state), record.expected_version});
    }
    auto sequences = store_.commit_push(commit_);
    if (!sequences.ok()) return std::move(sequences).error();
    for (const auto& [verdict_index, accepted_index] : pending_sequences_) {
      response.verdicts[verdict_index].sequence = (*sequences)[accepted_index];
    }
    return response;
  }

 private:
  // Errors: refusals for every change of the batch, or (as store_failure)
  // the lookup's own failure.
  Status check_batch() const {
    if (batch_.header.author == context_.device) {
      return verify_batch_signature(batch_.header, context_.device_public_key);
    }
    if (!context_.relayed_author_key) {
      return make_error("author_mismatch", "the batch is signed by another device than the one pushing it");
    }
    // A relayed batch: another device's changes, with their original
    // signature, sent by a device healing a restored server.
    auto author_key = context_.relayed_author_key(batch_.header.author);
    if (!author_key.ok()) return std::move(author_key).error();
    if (!author_key->has_value()) {
      return make_error("author_unknown", "the batch's author was never certified by this organisation");
    }
    return verify_batch_signature(batch_.header, **author_key);
  }

  // Marks the verdict refused. Returns OK: a refusal is an answer, not an error.
  static Status refuse(Verdict& verdict, Error reason) {
    verdict.kind = VerdictKind::refused;
    verdict.reason = std::move(reason);
    return ok_status();
  }

  // Fills `verdict` for change `index`. Errors are the store's.
  Status judge(std::size_t index, Verdict& verdict) {
    const SignedChange& signed_change = batch_.changes[index];
    const Change& change = signed_change.change;
    if (Status valid = validate_change(change); !valid.ok()) return refuse(verdict, valid.error());
    const MerkleHash leaf_hash = merkle_leaf_hash(encode_change(change));
    if (Status included = verify_change_inclusion(signed_change, batch_.header, leaf_hash); !included.ok()) {
      return refuse(verdict, included.error());
    }
    // A repeat: of a change earlier in this batch, or of one already logged.
    if (auto earlier = accepted_here_.find(change.id); earlier != accepted_here_.end()) {
      if (commit_.leaf_hashes[earlier->second] != leaf_hash) return refuse(verdict, id_reused());
      verdict.kind = VerdictKind::duplicate;
      pending_sequences_.emplace_back(index, earlier->second);
      return ok_status();
    }
    auto logged = store_.find_change(change.id);
    if (!logged.ok()) return std::move(logged).error();
    if (logged->has_value()) {
      if ((*logged)->leaf_hash != leaf_hash) return refuse(verdict, id_reused());
      verdict.kind = VerdictKind::duplicate;
      verdict.sequence = (*logged)->sequence;
      return ok_status();
    }
    if (context_.writable_cases.count(change.record.case_id) == 0) {
      return refuse(verdict, make_error("case_not_member", "this device may not write to the change's case"));
    }
    if (Status skew =
            check_clock_skew(change.hlc, context_.server_now_millis, context_.max_forward_skew_millis);
        !skew.ok()) {
      return refuse(verdict, skew.error());
    }
    auto record = working_record(change.record);
    if (!record.ok()) return std::move(record).error();
    if (context_.validator) {
      const bool exists = (*record)->expected_version > 0 || (*record)->touched;
      const RecordState* current = exists ? &(*record)->state : nullptr;
      if (Status valid = context_.validator->validate(change, current); !valid.ok()) {
        return refuse(verdict, valid.error());
      }
    }
    (*record)->state.apply(change);
    (*record)->touched = true;
    verdict.kind = VerdictKind::accepted;
    accepted_here_.emplace(change.id, commit_.accepted.size());
    pending_sequences_.emplace_back(index, commit_.accepted.size());
    commit_.accepted.push_back(signed_change);
    commit_.leaf_hashes.push_back(leaf_hash);
    return ok_status();
  }

  static Error id_reused() {
    return make_error("change_id_reused", "a different change was already accepted with this id");
  }

  struct Working {
    RecordState state;
    std::uint64_t expected_version = 0;
    bool touched = false;
  };

  Result<Working*> working_record(const RecordKey& key) {
    auto it = records_.find(key);
    if (it != records_.end()) return &it->second;
    auto stored = store_.load_record(key);
    if (!stored.ok()) return std::move(stored).error();
    Working working{RecordState(key), 0, false};
    if (stored->has_value()) working = Working{std::move((*stored)->state), (*stored)->version, false};
    return &records_.emplace(key, std::move(working)).first->second;
  }

  ServerStore& store_;
  const PushContext& context_;
  const Batch& batch_;
  PushCommit commit_;
  std::map<RecordKey, Working> records_;
  std::map<ChangeId, std::size_t> accepted_here_;                       // id -> index in commit_.accepted
  std::vector<std::pair<std::size_t, std::size_t>> pending_sequences_;  // verdict -> accepted index
};

}  // namespace

Result<PushResponse> handle_push(ServerStore& store, const PushContext& context, const Batch& batch) {
  for (int attempt = 1;; ++attempt) {
    auto response = PushAttempt(store, context, batch).run();
    if (response.ok() || response.error().code != "store_conflict" || attempt == kMaxCommitAttempts)
      return response;
  }
}

}  // namespace casefile::sync
