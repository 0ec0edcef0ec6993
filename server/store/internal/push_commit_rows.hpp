// A PushCommit as the rows it writes: encoded once on the caller's thread, so
// the writer thread spends its time on SQL only, then written inside the
// writer's transaction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "schema/database.hpp"
#include "sync/store.hpp"

namespace casefile::server::internal {

struct PushCommitRows {
  const sync::PushCommit* commit = nullptr;  // outlives the rows: its caller waits for the answer
  std::vector<crypto::Bytes> change_bytes;   // canonical encoding, one per accepted change
  std::vector<crypto::Bytes> proof_paths;    // one per accepted change
  // One per record write: the encoded state, or empty when the write is
  // created_by a change of the commit (record_created_by holds its index).
  std::vector<crypto::Bytes> record_states;
  // One per record write: the index in commit->accepted of the one change
  // that created the record, when its state is exactly that change applied
  // to an empty record; the row then keeps the change's sequence instead of
  // the state (server_schema_migrations.cpp, migration 2).
  std::vector<std::optional<std::size_t>> record_created_by;
};

// Errors: "invalid_argument" when the commit's parts disagree (a leaf hash
// missing for a change). REQUIRES: every accepted change is valid.
Result<PushCommitRows> encode_push_commit(const sync::PushCommit& commit);

// Writes the rows, numbering the changes first_sequence, first_sequence+1, ...
// REQUIRES: inside a write transaction on `database`. Errors: "store_conflict"
// (a record's version is not the expected one, or a change id is already in
// the log); any other error is the database's. On error the caller must roll
// back whatever this wrote (the writer uses a savepoint per commit).
Result<std::vector<std::uint64_t>> write_push_commit(schema::Database& database, const PushCommitRows& rows,
                                                     std::uint64_t first_sequence);

}  // namespace casefile::server::internal
