// A device's side of sync: local edits, the outbox, and applying push answers
// and pull pages, each step one transaction on the device's ReplicaStore.
// The device library binds this to its SQLCipher replica and HTTPS client.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "crypto/ed25519.hpp"
#include "sync/batch.hpp"
#include "sync/hlc.hpp"
#include "sync/pull.hpp"
#include "sync/push.hpp"
#include "sync/store.hpp"

namespace casefile::sync {

struct FieldWrite {
  std::string field;
  FieldValue value;
};

// The Ed25519 key of an author device, from its certificate (certificate
// checking is the caller's); nullopt for an unknown device.
using AuthorKeyLookup = std::function<std::optional<crypto::Ed25519PublicKey>(const DeviceId&)>;

class Replica {
 public:
  static Result<Replica> open(DeviceId device, ReplicaStore& store);

  // Each local edit makes one change, supersedes what this replica shows at
  // that moment, applies it locally and queues it for push.
  // write_fields: each field supersedes its own live values.
  Result<Change> write_fields(const RecordKey& record, std::vector<FieldWrite> writes,
                              std::uint64_t now_millis);
  // resolve_field: supersedes every sibling of the field and every live
  // tombstone (a person decided to keep the record with this value).
  Result<Change> resolve_field(const RecordKey& record, std::string field, FieldValue value,
                               std::uint64_t now_millis);
  // delete_record: supersedes every live value and tombstone of the record.
  Result<Change> delete_record(const RecordKey& record, std::uint64_t now_millis);

  // Seals the outbox changes with device sequence above `after_sequence` (at
  // most `max_changes`) into a batch; nullopt when there are none. Pushing is
  // idempotent, so a batch may be resent or re-sealed freely.
  Result<std::optional<Batch>> prepare_push(const BatchId& id, const crypto::Ed25519PrivateKey& key,
                                            std::uint64_t after_sequence, std::size_t max_changes);

  // Applies the server's answer to `pushed`. Accepted and duplicate changes
  // leave the outbox. On clock_skew the device adopts the server's time and
  // re-issues every outbox change stamped in the future as a new change that
  // supersedes the old one. Other refusals are quarantined.
  // Errors: "push_response_mismatch", the store's.
  Status apply_push_response(const Batch& pushed, const PushResponse& response, std::uint64_t now_millis);

  // Verifies every change of `page` (batch signature under the author's key,
  // inclusion proof, change rules), merges them and stores the page's cursor,
  // all in one commit. Errors: "pull_change_unverified", "change_invalid",
  // the store's; nothing is applied then.
  Status apply_pull_page(const PullPage& page, const AuthorKeyLookup& author_keys, std::uint64_t now_millis);

  // Starts pulling again from the beginning of the log (one commit; records
  // stay, re-applying what comes again is harmless): after the server
  // answered invalid_cursor, or when the user was added to a case whose
  // earlier changes the cursor had already passed.
  Status reset_pull_cursor();

  const DeviceId& device() const { return device_; }
  const std::string& pull_cursor() const { return meta_.pull_cursor; }
  DeviceClock clock() const { return DeviceClock(meta_.clock_last, meta_.clock_offset_millis); }

 private:
  Replica(DeviceId device, ReplicaStore& store, ReplicaMeta meta)
      : device_(device), store_(&store), meta_(std::move(meta)) {}

  // `current` is the record as loaded by the caller (nullopt: new record).
  Result<Change> record_local_change(std::optional<RecordState> current, const RecordKey& record,
                                     std::vector<Operation> operations, std::uint64_t now_millis);
  Status reissue_future_changes(ReplicaCommit& commit, std::uint64_t server_now_millis,
                                std::uint64_t now_millis);

  DeviceId device_;
  ReplicaStore* store_;
  ReplicaMeta meta_;  // as last committed
  VerifiedBatchCache verified_batches_;
};

}  // namespace casefile::sync
