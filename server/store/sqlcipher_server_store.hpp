// SqlcipherServerStore: the server's sync::ServerStore in one SQLCipher file,
// for the single-machine casefiled (DESIGN §7). docs/server-store.md explains
// the tables, group commit and the reader pool.
//
// Writes: one writer thread owns the writer connection. commit_push enqueues
// its commit and waits; the writer takes every commit queued, applies them in
// one transaction (if one is refused with store_conflict, the group is
// written again with a SAVEPOINT a commit, so that it alone is rolled back
// and answered with its error), then COMMITs the group once, with one fsync
// (synchronous=FULL), and only then answers every caller of the group. So an
// answered commit is durable, and many pushers share one fsync.
//
// Reads run on a pool of read-only connections; WAL lets them read while the
// writer writes. Sequences become visible in ascending order with no gaps,
// because one writer commits them in order.
//
// Thread-safe: any number of threads may call any method at once. Nothing is
// cached between calls, so two processes over one file stay correct (the
// second writer waits on SQLite's write lock).
//
// Errors: "store_conflict" (commit_push: a stale expected_version or a change
// id already logged; nothing of that commit is written), "store_unavailable"
// (the database failed: busy beyond the timeout, full, I/O; the message names
// SQLite's error), "store_corrupt" (a stored row does not decode).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>

#include "base/result.hpp"
#include "crypto/secret_bytes.hpp"
#include "sync/store.hpp"

namespace casefile::server {

namespace internal {
class GroupCommitWriter;
class ReaderPool;
class StoreGate;
}  // namespace internal

struct SqlcipherServerStoreOptions {
  // Read-only connections for find_change, load_record, load_batches and
  // read_log; a reader beyond this many waits for one to be free.
  std::size_t reader_connections = 4;
  // Most commits in one group transaction; more wait for the next group.
  std::size_t max_group_commits = 256;
  // How long a connection waits for another process's lock before failing.
  std::chrono::milliseconds busy_timeout{5000};
};

// What group commit has done since open, for metrics and benchmarks.
struct GroupCommitCounters {
  std::uint64_t groups = 0;   // transactions committed (one fsync each)
  std::uint64_t commits = 0;  // commit_push calls answered from them, conflicts included
};

class SqlcipherServerStore final : public sync::ServerStore {
 public:
  // Opens or creates the store at `path` under the instance's 32-byte database
  // key, applies the server schema migrations, and starts the writer thread.
  // Errors: schema::Database::open's ("wrong_key", "invalid_key", "corrupt",
  // "io_error", ...), "schema_too_new" and the migrations' errors.
  static Result<std::unique_ptr<SqlcipherServerStore>> open(const std::filesystem::path& path,
                                                            const crypto::SecretBytes& database_key,
                                                            const SqlcipherServerStoreOptions& options = {});

  // Answers every commit already queued, then stops the writer and closes
  // every connection. REQUIRES: no call is in progress or will start.
  ~SqlcipherServerStore() override;
  SqlcipherServerStore(const SqlcipherServerStore&) = delete;
  SqlcipherServerStore& operator=(const SqlcipherServerStore&) = delete;

  Result<std::optional<sync::AcceptedChange>> find_change(const sync::ChangeId& id) override;
  Result<std::optional<sync::StoredRecord>> load_record(const sync::RecordKey& key) override;
  Result<std::vector<sync::BatchHeader>> load_batches(
      const std::vector<std::pair<sync::DeviceId, sync::BatchId>>& ids) override;
  // Returns once the commit is durable (or refused). See the file comment.
  Result<std::vector<std::uint64_t>> commit_push(const sync::PushCommit& commit) override;
  // Uses the (case_id, sequence) index: per readable case, an index-only
  // range scan bounded by `limit`; then one lookup per entry returned.
  Result<sync::LogSlice> read_log(std::uint64_t after_sequence, const std::set<sync::CaseId>& readable_cases,
                                  std::size_t limit) override;

  GroupCommitCounters group_commit_counters() const;
  // Commits waiting for the writer, and commits of the group it is writing.
  std::size_t queued_commits() const;
  std::size_t writing_commits() const;

  // Re-encrypts the file under `new_key` while the store stays in use: new
  // calls wait at a gate (they do not fail), calls in progress finish, every
  // connection closes, schema::Database::rekey rewrites the file, and the
  // connections reopen under the new key (or under `current_key` again if
  // the rekey failed; the file then holds exactly one of the two, see
  // docs/storage.md "Rekey"). Errors: the rekey's ("wrong_key" when
  // `current_key` does not open the file, "busy", ...); "store_unavailable"
  // if no key reopens it, and every later call then fails with it.
  [[nodiscard]] Status rekey(const crypto::SecretBytes& current_key, const crypto::SecretBytes& new_key);

 private:
  SqlcipherServerStore(std::filesystem::path path, SqlcipherServerStoreOptions options);
  // Opens the writer (with the migrations) and the readers under `key`.
  Status open_connections(const crypto::SecretBytes& key);

  const std::filesystem::path path_;
  const SqlcipherServerStoreOptions options_;
  std::unique_ptr<internal::StoreGate> gate_;
  // Null only after a rekey that could not reopen the file.
  std::unique_ptr<internal::GroupCommitWriter> writer_;
  std::unique_ptr<internal::ReaderPool> readers_;
  // What earlier writers (before a rekey reopened it) counted.
  GroupCommitCounters earlier_counters_;
};

}  // namespace casefile::server
