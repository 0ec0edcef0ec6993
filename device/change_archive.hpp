// ChangeArchive: the signed form of every change a device holds, kept so that
// it can heal a server restored from an old backup (docs/operations.md,
// "Devices heal a restored server"; docs/device-sync.md, "Healing").
//
// Its tables live in the replica file (migration 5). Each batch header
// (author, batch id, tree size, Merkle root, signature) is stored once; each
// change with its canonical encoding, leaf index and inclusion path, and a
// position: the order in which the device came to hold it, which is the
// order it relays changes in. The device's own changes enter once the server
// answered them accepted or duplicate, pulled ones with the page that brought
// them; a change id already archived keeps its first form. Rows of a case go
// with the case (SqlcipherReplicaStore::purge_case).
//
// The archive also keeps the server's instance epoch the device last synced
// with, and, while a heal is under way, the epoch being healed and the
// position the heal got through, so that a heal cut short resumes.
//
// Borrows the replica's connection, used by one thread at a time. add() writes
// without a transaction of its own: call it inside the caller's (FieldDevice::
// commit_together), so that the archive moves with the replica commit.
//
// Errors: "store_unavailable" (message starts with the storage layer's code;
// "corrupt: ..." for a row that does not decode).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "schema/database.hpp"
#include "sync/batch.hpp"

namespace casefile::device {

// The instance epoch as the archive knows it.
struct InstanceEpochState {
  std::optional<std::string> epoch;          // last synced with; none before the first contact
  std::optional<std::string> healing_epoch;  // set while healing a restored server
  std::uint64_t healed_through = 0;          // archive position relayed so far

  friend bool operator==(const InstanceEpochState&, const InstanceEpochState&) = default;
};

// A run of archived changes of one batch, ready to relay.
struct ArchivedRun {
  std::optional<sync::Batch> batch;  // none when the archive holds nothing more to relay
  std::uint64_t last_position = 0;   // the position read through (skipped rows included)
};

class ChangeArchive {
 public:
  // `database` must outlive the archive.
  explicit ChangeArchive(schema::Database& database) : database_(&database) {}

  // Archives `changes`, each with the header of its batch (in `headers`,
  // matched by author and batch id; a change whose header is missing is an
  // "invalid_argument" error). REQUIRES: a transaction is open.
  Status add(const std::vector<sync::BatchHeader>& headers, const std::vector<sync::SignedChange>& changes);

  // The changes after `after_position` that `relay` admits (by case), as one
  // batch of consecutive positions and one header, at most `max_changes`.
  Result<ArchivedRun> read_run(std::uint64_t after_position, std::size_t max_changes,
                               const std::function<bool(const sync::CaseId&)>& relay);
  // Changes archived after `after_position`.
  Result<std::uint64_t> count_after(std::uint64_t after_position);

  // Deletes the changes of `case_id` and the headers no change names any more.
  // REQUIRES: a transaction is open.
  Status purge_case(const sync::CaseId& case_id);

  Result<InstanceEpochState> epoch_state();
  Status save_epoch_state(const InstanceEpochState& state);

 private:
  schema::Database* database_;
};

}  // namespace casefile::device
