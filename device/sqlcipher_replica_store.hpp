// SqlcipherReplicaStore: a device's sync replica (sync::ReplicaStore) in one
// SQLCipher file, encrypted under the device storage key.
//
//   auto store = device::SqlcipherReplicaStore::open(path, storage_key);
//   if (!store.ok()) return store.error();
//   auto replica = sync::Replica::open(device_id, *store);
//
// The file holds the replica's meta (pull cursor, next device sequence,
// clock), every record's merged state, the outbox of local changes not yet
// accepted by the server, the quarantine of changes the server refused, and
// the change archive (device/change_archive.hpp; docs/device.md describes
// each table). Every commit is one SQLite
// transaction with synchronous=FULL: when commit() returns, all of it is on
// disk; after a crash or power loss the file holds exactly the commits that
// returned, and perhaps the one in progress, never part of one.
//
// One store per file and per process; used by one thread at a time. Any
// sync::Replica built on a store must be dropped before the store is (and
// the store must not be moved while one is live).
//
// Errors of open(): those of schema::Database::open ("invalid_key",
// "wrong_key", "corrupt", "io_error", "busy", "database_error") and of
// migration ("schema_too_new": the file was written by a newer Casefile).
// Errors of the ReplicaStore methods: "store_unavailable", whose message
// starts with the storage layer's code ("full: ...", "corrupt: ...", ...);
// commit() also refuses, before writing anything, a change that
// sync::validate_change refuses ("change_invalid") or whose device sequence
// is above 2^63-1 ("sequence_out_of_range").
#pragma once

#include <filesystem>
#include <optional>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "crypto/secret_bytes.hpp"
#include "schema/database.hpp"
#include "sync/store.hpp"

namespace casefile::device {

class SqlcipherReplicaStore final : public sync::ReplicaStore {
 public:
  // Opens the replica at `path`, creating it if absent, with the 32-byte raw
  // device storage key, and brings its schema up to date.
  static Result<SqlcipherReplicaStore> open(const std::filesystem::path& path,
                                            const crypto::SecretBytes& storage_key);

  SqlcipherReplicaStore(SqlcipherReplicaStore&&) noexcept = default;
  SqlcipherReplicaStore& operator=(SqlcipherReplicaStore&&) noexcept = default;

  Result<sync::ReplicaMeta> load_meta() override;
  Result<std::optional<sync::RecordState>> load_record(const sync::RecordKey& key) override;
  Result<std::vector<sync::Change>> read_outbox(std::uint64_t after_sequence, std::size_t limit) override;
  Status commit(const sync::ReplicaCommit& commit) override;

  // Every record's key, ascending (by case, collection, record id).
  Result<std::vector<sync::RecordKey>> list_record_keys();
  // Quarantined changes in the order they were quarantined, so an app can
  // show each with the server's reason.
  Result<std::vector<sync::QuarantinedChange>> read_quarantine();

  // Number of changes waiting in the outbox.
  Result<std::uint64_t> outbox_depth();
  // The cases the outbox holds changes of, ascending, read from its case
  // index without decoding a change.
  Result<std::vector<sync::CaseId>> outbox_cases();

  // Deletes, in one transaction, every record, outbox change, quarantined
  // change, archived change (change_archive.hpp) and attachment outbox row of `case_id` (the device may no
  // longer read the case). Deleting a case the replica does not hold succeeds.
  Status purge_case(const sync::CaseId& case_id);

  // Groups every commit() until finish_commit_group() into one transaction,
  // so a long pass of local changes (re-encryption) commits in batches: a
  // crash loses the batch in progress, whole. Groups do not nest, and other
  // methods that open their own transaction fail inside one.
  // abandon_commit_group() rolls the batch back: the caller must then reopen
  // any sync::Replica on this store, whose meta ran ahead of the file.
  Status begin_commit_group();
  Status finish_commit_group();
  void abandon_commit_group();

  // Re-encrypts the file under `new_key` (schema::Database::rekey).
  // REQUIRES: no other connection to the file.
  Status rekey(const crypto::SecretBytes& new_key);

  // The connection, for the device's own tables in the same file
  // (device_profile_store.hpp). Do not touch the replica's tables through it.
  schema::Database& database() { return database_; }

  const std::filesystem::path& path() const { return database_.path(); }

 private:
  explicit SqlcipherReplicaStore(schema::Database database) : database_(std::move(database)) {}

  Status write_commit(const sync::ReplicaCommit& commit);

  schema::Database database_;
  // Declared after database_, so a group still open is rolled back first.
  std::optional<schema::Transaction> commit_group_;
};

}  // namespace casefile::device
