// Database: one SQLCipher connection, keyed with a raw 256-bit key.
//
// Opening (docs/storage.md explains each step):
//   PRAGMA key = "x'<64 hex>'"      raw key: no passphrase KDF inside SQLCipher
//   PRAGMA cipher_page_size = 4096  on every open; it is not stored in the file
//   SELECT count(*) FROM sqlite_master   proves the key (pragmas fail silently)
//   journal_mode=WAL, synchronous=FULL, foreign_keys=ON, busy timeout
//
// A Database is used by one thread at a time. A server holds one writer
// (open) and any number of readers (open_reader), each on its own thread.
// Statements and Transactions borrowed from a Database must be dropped before it.
//
// Stable error codes: "wrong_key", "corrupt", "busy", "io_error", "full",
// "constraint", "database_error", "invalid_key" (key not 32 bytes), and
// "schema_too_new" from migrate().
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>

#include "base/result.hpp"
#include "crypto/secret_bytes.hpp"
#include "schema/statement.hpp"
#include "schema/transaction.hpp"

namespace casefile::schema {

namespace internal {
class Connection;
}

enum class Synchronous { off, normal, full };

struct DatabaseOptions {
  // FULL: a commit is on disk when commit() returns (DESIGN §4, "acknowledged
  // means durable"). Lower it only for data that can be rebuilt.
  Synchronous synchronous = Synchronous::full;
  // How long a connection waits for another's lock before failing with "busy".
  std::chrono::milliseconds busy_timeout{5000};
  // 4096 everywhere in Casefile; other values exist for the page-size benchmark.
  int cipher_page_size = 4096;
};

class Database {
 public:
  // Opens or creates the database at `path` as the writer: read-write, WAL.
  // Errors: "invalid_key", "wrong_key" (wrong key, or not a database at all),
  // "corrupt", "io_error", "busy", "database_error".
  static Result<Database> open(const std::filesystem::path& path, const crypto::SecretBytes& key,
                               const DatabaseOptions& options = {});

  // Opens an existing database read-only, for concurrent readers beside one
  // writer. The writer must have created the file (and put it in WAL mode).
  static Result<Database> open_reader(const std::filesystem::path& path, const crypto::SecretBytes& key,
                                      const DatabaseOptions& options = {});

  // NO ENCRYPTION. Exists only as the benchmark baseline and as the control
  // case of the plaintext-scan test; never use it for Casefile data.
  static Result<Database> open_unencrypted_for_benchmark_only(const std::filesystem::path& path,
                                                              const DatabaseOptions& options = {});

  Database(Database&&) noexcept;
  Database& operator=(Database&&) noexcept;
  ~Database();

  // A cached prepared statement for one SQL statement.
  [[nodiscard]] Result<Statement> prepare(std::string_view sql);
  // Runs SQL text of one or more statements without parameters (DDL, scripts).
  [[nodiscard]] Status execute(std::string_view sql);
  // BEGIN IMMEDIATE. Transactions do not nest.
  [[nodiscard]] Result<Transaction> begin();

  std::int64_t last_insert_rowid() const;
  // Rows changed by the last INSERT, UPDATE or DELETE.
  std::int64_t changes() const;

  // Copies every WAL frame into the main file and truncates the WAL.
  // Errors: "busy" if a reader holds an old snapshot.
  [[nodiscard]] Status checkpoint();

  // Re-encrypts every page under `new_key` (PRAGMA rekey) and proves the new
  // key from a fresh connection. REQUIRES: no other connection (reader or
  // writer) is open on this file, and no transaction or Statement is open on
  // this one. Crash safety: the rewrite is one WAL transaction, so after a
  // crash the file opens with exactly one of the two keys, with all data
  // (docs/storage.md, "Rekey"; tests/schema/rekey_test.cpp proves it).
  [[nodiscard]] Status rekey(const crypto::SecretBytes& new_key);

  // Online copy: writes a new database at `destination` (which must not
  // exist) holding the same schema, data and user_version, encrypted under
  // `destination_key`. This database stays open and usable.
  [[nodiscard]] Status export_to(const std::filesystem::path& destination,
                                 const crypto::SecretBytes& destination_key);

  // Statement-cache counters: new prepares, and prepares served from the cache.
  std::uint64_t statements_prepared() const;
  std::uint64_t statements_reused() const;

  const std::filesystem::path& path() const { return path_; }
  bool encrypted() const { return encrypted_; }

 private:
  Database(std::unique_ptr<internal::Connection> connection, std::filesystem::path path, bool encrypted,
           DatabaseOptions options);

  std::unique_ptr<internal::Connection> connection_;
  std::filesystem::path path_;
  bool encrypted_ = true;
  DatabaseOptions options_;
};

}  // namespace casefile::schema
