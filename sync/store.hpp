// The storage the sync logic runs on. The server implements ServerStore and
// the device ReplicaStore, over SQLCipher (SQLite 3.15) or PostgreSQL; the
// in-memory implementations (memory_store.hpp) serve tests and benchmarks.
//
// Each interface has one write, and that write is a transaction: it applies
// all of its argument or none of it. Reads see only committed writes. Nothing
// the sync logic needs lives outside the store, so a restarted server, or
// several stateless servers over one PostgreSQL store, behave as one.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "sync/batch.hpp"
#include "sync/change_log.hpp"
#include "sync/hlc.hpp"
#include "sync/record_state.hpp"

namespace casefile::sync {

// A record state as stored, with a version for optimistic concurrency: it
// starts at 1 and grows by one with each commit that rewrites the record.
struct StoredRecord {
  RecordState state;
  std::uint64_t version = 0;
};

// One push, as the server commits it.
struct PushCommit {
  BatchHeader batch;  // stored if not already stored
  // Appended to the log in this order, numbered head+1, head+2, ...
  std::vector<SignedChange> accepted;
  std::vector<MerkleHash> leaf_hashes;  // one per accepted change
  // New states of the records those changes touch. expected_version is the
  // version the state was computed from (0: the record did not exist).
  struct RecordWrite {
    RecordState state;
    std::uint64_t expected_version = 0;
  };
  std::vector<RecordWrite> records;
};

class ServerStore {
 public:
  virtual ~ServerStore() = default;

  virtual Result<std::optional<AcceptedChange>> find_change(const ChangeId& id) = 0;
  virtual Result<std::optional<StoredRecord>> load_record(const RecordKey& key) = 0;
  // Batch headers by (author, batch id); absent ones are left out.
  virtual Result<std::vector<BatchHeader>> load_batches(
      const std::vector<std::pair<DeviceId, BatchId>>& ids) = 0;

  // Atomically appends the changes, stores the batch header and the record
  // states, and returns the sequence numbers given to the changes.
  // Errors: "store_conflict" if a record's version is not the expected one
  // or a change id is already in the log (another push raced this one; the
  // caller re-reads and retries), "store_unavailable".
  // Contract for concurrent implementations: sequences become visible to
  // read_log in ascending order with no gaps (e.g. one lock on the log per
  // commit), or a pull could skip a change committed late with a low number.
  virtual Result<std::vector<std::uint64_t>> commit_push(const PushCommit& commit) = 0;

  // Entries after `after_sequence` in `readable_cases`, ascending, at most
  // `limit` of them.
  virtual Result<LogSlice> read_log(std::uint64_t after_sequence, const std::set<CaseId>& readable_cases,
                                    std::size_t limit) = 0;
};

// A change a device refused to keep trying: the server's reason is kept so
// that a person can see it.
struct QuarantinedChange {
  Change change;
  Error reason;
};

// What a device keeps besides its records.
struct ReplicaMeta {
  std::string pull_cursor;          // empty: from the beginning
  std::uint64_t next_sequence = 1;  // the device sequence of its next change
  Hlc clock_last;
  std::int64_t clock_offset_millis = 0;
};

// One step of a device, as it commits it.
struct ReplicaCommit {
  ReplicaMeta meta;
  std::vector<RecordState> records;     // replace or insert
  std::vector<Change> outbox_append;    // local writes still to push
  std::vector<ChangeId> outbox_remove;  // accepted or duplicate, or quarantined
  std::vector<QuarantinedChange> quarantine_append;
};

class ReplicaStore {
 public:
  virtual ~ReplicaStore() = default;

  virtual Result<ReplicaMeta> load_meta() = 0;
  virtual Result<std::optional<RecordState>> load_record(const RecordKey& key) = 0;
  // Outbox changes with a device sequence above `after_sequence`, ascending,
  // at most `limit` (a device may pipeline several batches).
  virtual Result<std::vector<Change>> read_outbox(std::uint64_t after_sequence, std::size_t limit) = 0;
  // Atomically applies every part of `commit`. Errors: "store_unavailable".
  virtual Status commit(const ReplicaCommit& commit) = 0;
};

}  // namespace casefile::sync
