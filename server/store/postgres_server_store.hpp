// PostgresServerStore: the server's sync::ServerStore on PostgreSQL, for
// several stateless casefiled instances sharing one database (DESIGN §7,
// docs/scale.md). Same tables and same contract as SqlcipherServerStore
// (docs/server-store.md); the conformance suite runs both.
//
// Sequences: every commit_push locks and advances the one row of log_head
// inside its transaction, so commits that append to the log run one at a
// time, across every instance, and commit in sequence order. A commit becomes
// visible before it releases the row, so a reader that sees sequence n sees
// every sequence below n: no gap a pull could skip, whatever the number of
// writers. A refused commit rolls back its advance: no hole either.
//
// Wake-ups: a commit that appends changes sends NOTIFY casefile_changes with
// its cases inside its transaction (postgres_change_listener.hpp).
//
// Durability: an answered commit is committed by PostgreSQL, which with its
// defaults (fsync on, synchronous_commit on) means flushed to its WAL.
//
// Thread-safe: calls run on a pool of connections, one call a connection.
//
// Errors: "store_conflict" (commit_push: a stale expected_version or a change
// id already logged; nothing of that commit is written), "store_unavailable"
// (the database failed or cannot be reached; the message names PostgreSQL's
// SQLSTATE, never the connection string), "store_corrupt" (a stored row does
// not decode).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "crypto/secret_bytes.hpp"
#include "sync/record_state.hpp"
#include "sync/store.hpp"

namespace casefile::server {

namespace postgres {
class ConnectionPool;
}  // namespace postgres

struct PostgresServerStoreOptions {
  // Most connections to PostgreSQL, opened as calls need them; a call beyond
  // this many at once waits for a free one.
  std::size_t connections = 4;
};

class PostgresServerStore final : public sync::ServerStore {
 public:
  // Connects with a libpq connection string or URI (which may hold a
  // password: it is kept in wiped memory and never logged), applies the
  // PostgreSQL server migrations, and opens the pool. Errors:
  // "store_unavailable" (cannot connect), "schema_too_new", the migrations'.
  static Result<std::unique_ptr<PostgresServerStore>> open(std::string_view connection_string,
                                                           const PostgresServerStoreOptions& options = {});

  ~PostgresServerStore() override;
  PostgresServerStore(const PostgresServerStore&) = delete;
  PostgresServerStore& operator=(const PostgresServerStore&) = delete;

  Result<std::optional<sync::AcceptedChange>> find_change(const sync::ChangeId& id) override;
  Result<std::optional<sync::StoredRecord>> load_record(const sync::RecordKey& key) override;
  Result<std::vector<sync::BatchHeader>> load_batches(
      const std::vector<std::pair<sync::DeviceId, sync::BatchId>>& ids) override;
  // Returns once PostgreSQL has committed (or refused) the commit.
  Result<std::vector<std::uint64_t>> commit_push(const sync::PushCommit& commit) override;
  // One REPEATABLE READ snapshot: the head, then per readable case an index
  // range scan of (case_id, sequence) bounded by `limit`, then the entries.
  Result<sync::LogSlice> read_log(std::uint64_t after_sequence, const std::set<sync::CaseId>& readable_cases,
                                  std::size_t limit) override;

  // Every record of `collection`, in no order, each as its merged state
  // (statistics read them; the ServerStore interface has no scan). One
  // snapshot. Errors: "store_unavailable", "store_corrupt".
  Status for_each_record(std::string_view collection, const std::function<void(sync::RecordState)>& visit);

  // The instance epoch (instance_epoch.hpp) as 32 hex digits, and its renewal
  // after a restore. Errors: "store_unavailable", "store_corrupt".
  Result<std::string> instance_epoch();
  Result<std::string> renew_instance_epoch();

 private:
  explicit PostgresServerStore(std::unique_ptr<postgres::ConnectionPool> pool);

  std::unique_ptr<postgres::ConnectionPool> pool_;
};

}  // namespace casefile::server
