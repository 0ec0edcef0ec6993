#include "schema/database.hpp"

#include <sqlite3.h>

#include <string>
#include <system_error>
#include <utility>

#include "schema/internal/connection.hpp"
#include "schema/internal/key_pragma.hpp"
#include "schema/internal/sqlite_error.hpp"

namespace casefile::schema {
namespace {

enum class Role { writer, reader };

struct StatementFinalizer {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using OwnedStatement = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

// Prepares one statement outside the cache: for statements whose text or
// bindings hold key material, which must not stay in the cache.
Result<OwnedStatement> prepare_uncached(sqlite3* handle, const char* sql, std::string_view what) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v2(handle, sql, -1, &raw, nullptr);
  OwnedStatement statement(raw);
  if (rc != SQLITE_OK) return internal::sqlite_error(rc, handle, what);
  return statement;
}

// Steps a one-row query and returns its first column as text ("" if no row).
Result<std::string> query_text(sqlite3* handle, const char* sql) {
  auto statement = prepare_uncached(handle, sql, sql);
  if (!statement.ok()) return std::move(statement).error();
  const int rc = sqlite3_step(statement->get());
  if (rc == SQLITE_DONE) return std::string();
  if (rc != SQLITE_ROW) return internal::sqlite_error(rc, handle, sql);
  const auto* text = sqlite3_column_text(statement->get(), 0);
  return std::string(text != nullptr ? reinterpret_cast<const char*>(text) : "");
}

const char* synchronous_pragma(Synchronous synchronous) {
  switch (synchronous) {
    case Synchronous::off:
      return "PRAGMA synchronous = OFF";
    case Synchronous::normal:
      return "PRAGMA synchronous = NORMAL";
    case Synchronous::full:
      break;
  }
  return "PRAGMA synchronous = FULL";
}

// A keyed open that silently lands on plain SQLite would write plaintext:
// PRAGMA key is an unknown pragma there, and unknown pragmas do nothing.
Status require_sqlcipher(sqlite3* handle) {
  auto version = query_text(handle, "PRAGMA cipher_version");
  if (!version.ok()) return std::move(version).error();
  if (version->empty()) {
    return make_error("database_error",
                      "the linked SQLite is not SQLCipher; refusing to store data unencrypted");
  }
  return ok_status();
}

Status apply_key(internal::Connection& connection, const crypto::SecretBytes& key, int cipher_page_size) {
  CASEFILE_RETURN_IF_ERROR(require_sqlcipher(connection.handle()));
  {
    auto pragma = internal::raw_key_statement("PRAGMA key = ", key, ";");
    if (!pragma.ok()) return std::move(pragma).error();
    // sqlite3_exec does not keep the text; `pragma` wipes itself at scope end.
    CASEFILE_RETURN_IF_ERROR(connection.run_script(internal::as_c_string(*pragma), "PRAGMA key"));
  }
  const std::string page_size = "PRAGMA cipher_page_size = " + std::to_string(cipher_page_size);
  return connection.run_script(page_size.c_str(), "PRAGMA cipher_page_size");
}

// The first read of page 1: with a wrong key (or a file that is not a
// database at all) SQLCipher's HMAC check fails here with SQLITE_NOTADB.
Status prove_key(sqlite3* handle, bool encrypted) {
  const int rc = sqlite3_exec(handle, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) return ok_status();
  if ((rc & 0xff) == SQLITE_NOTADB) {
    if (encrypted) {
      return make_error("wrong_key", "the key does not open this database (or the file is not a database)");
    }
    return make_error("corrupt", "the file is not a database (or it is encrypted)");
  }
  return internal::sqlite_error(rc, handle, "first read of the database");
}

Status configure_writer(internal::Connection& connection, const DatabaseOptions& options) {
  auto mode = query_text(connection.handle(), "PRAGMA journal_mode = WAL");
  if (!mode.ok()) return std::move(mode).error();
  if (*mode != "wal") {
    return make_error("database_error", "the database refused WAL journal mode (got '" + *mode + "')");
  }
  CASEFILE_RETURN_IF_ERROR(
      connection.run_script(synchronous_pragma(options.synchronous), "PRAGMA synchronous"));
  return connection.run_script("PRAGMA foreign_keys = ON", "PRAGMA foreign_keys");
}

Status configure_reader(internal::Connection& connection) {
  CASEFILE_RETURN_IF_ERROR(connection.run_script("PRAGMA query_only = ON", "PRAGMA query_only"));
  return connection.run_script("PRAGMA foreign_keys = ON", "PRAGMA foreign_keys");
}

Result<std::unique_ptr<internal::Connection>> open_connection(const std::filesystem::path& path,
                                                              const crypto::SecretBytes* key,
                                                              const DatabaseOptions& options, Role role) {
  if (key != nullptr && key->size() != internal::kDatabaseKeySize) {
    return make_error("invalid_key", "a database key is 32 bytes, got " + std::to_string(key->size()));
  }
  const int flags = SQLITE_OPEN_NOMUTEX | (role == Role::writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                                                                : SQLITE_OPEN_READONLY);
  sqlite3* handle = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &handle, flags, nullptr);
  // The connection owns the handle even when the open failed (SQLite allocates one anyway).
  auto connection = std::make_unique<internal::Connection>(handle);
  if (rc != SQLITE_OK) return internal::sqlite_error(rc, handle, "open of " + path.string());
  sqlite3_extended_result_codes(handle, 1);
  sqlite3_busy_timeout(handle, static_cast<int>(options.busy_timeout.count()));

  if (key != nullptr) CASEFILE_RETURN_IF_ERROR(apply_key(*connection, *key, options.cipher_page_size));
  CASEFILE_RETURN_IF_ERROR(prove_key(handle, key != nullptr));
  if (role == Role::writer) {
    CASEFILE_RETURN_IF_ERROR(configure_writer(*connection, options));
  } else {
    CASEFILE_RETURN_IF_ERROR(configure_reader(*connection));
  }
  return connection;
}

}  // namespace

Database::Database(std::unique_ptr<internal::Connection> connection, std::filesystem::path path,
                   bool encrypted, DatabaseOptions options)
    : connection_(std::move(connection)), path_(std::move(path)), encrypted_(encrypted), options_(options) {}

Database::Database(Database&&) noexcept = default;
Database& Database::operator=(Database&&) noexcept = default;
Database::~Database() = default;

Result<Database> Database::open(const std::filesystem::path& path, const crypto::SecretBytes& key,
                                const DatabaseOptions& options) {
  auto connection = open_connection(path, &key, options, Role::writer);
  if (!connection.ok()) return std::move(connection).error();
  return Database(std::move(*connection), path, true, options);
}

Result<Database> Database::open_reader(const std::filesystem::path& path, const crypto::SecretBytes& key,
                                       const DatabaseOptions& options) {
  auto connection = open_connection(path, &key, options, Role::reader);
  if (!connection.ok()) return std::move(connection).error();
  return Database(std::move(*connection), path, true, options);
}

Result<Database> Database::open_unencrypted_for_benchmark_only(const std::filesystem::path& path,
                                                               const DatabaseOptions& options) {
  auto connection = open_connection(path, nullptr, options, Role::writer);
  if (!connection.ok()) return std::move(connection).error();
  return Database(std::move(*connection), path, false, options);
}

Result<Statement> Database::prepare(std::string_view sql) {
  auto statement = connection_->acquire(sql);
  if (!statement.ok()) return std::move(statement).error();
  return Statement(connection_.get(), *statement, std::string(sql));
}

Status Database::execute(std::string_view sql) {
  const std::string text(sql);  // sqlite3_exec wants NUL-terminated text
  return connection_->run_script(text.c_str(), "execute");
}

Result<Transaction> Database::begin() {
  CASEFILE_RETURN_IF_ERROR(connection_->run("BEGIN IMMEDIATE"));
  return Transaction(connection_.get());
}

std::int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(connection_->handle()); }

std::int64_t Database::changes() const { return sqlite3_changes(connection_->handle()); }

std::uint64_t Database::statements_prepared() const { return connection_->statements_prepared(); }

std::uint64_t Database::statements_reused() const { return connection_->statements_reused(); }

Status Database::checkpoint() {
  auto statement = prepare_uncached(connection_->handle(), "PRAGMA wal_checkpoint(TRUNCATE)", "checkpoint");
  if (!statement.ok()) return std::move(statement).error();
  const int rc = sqlite3_step(statement->get());
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return internal::sqlite_error(rc, connection_->handle(), "checkpoint");
  if (rc == SQLITE_ROW && sqlite3_column_int(statement->get(), 0) != 0) {
    return make_error("busy", "checkpoint could not finish: another connection holds an older snapshot");
  }
  return ok_status();
}

Status Database::rekey(const crypto::SecretBytes& new_key) {
  if (!encrypted_) {
    return make_error("database_error", "rekey needs an encrypted database; use export_to to encrypt one");
  }
  if (new_key.size() != internal::kDatabaseKeySize) {
    return make_error("invalid_key", "a database key is 32 bytes, got " + std::to_string(new_key.size()));
  }
  if (sqlite3_get_autocommit(connection_->handle()) == 0) {
    return make_error("database_error", "rekey inside a transaction");
  }
  // An empty WAL first: every page the rekey transaction reads then comes
  // from the main file, and a failed checkpoint (a reader still open) stops
  // us before anything changes.
  CASEFILE_RETURN_IF_ERROR(checkpoint());
  {
    auto pragma = internal::raw_key_statement("PRAGMA rekey = ", new_key, ";");
    if (!pragma.ok()) return std::move(pragma).error();
    CASEFILE_RETURN_IF_ERROR(connection_->run_script(internal::as_c_string(*pragma), "PRAGMA rekey"));
  }
  // PRAGMA rekey reports no failure of its own (SQLCipher 3.4 rolls back and
  // returns OK), so prove the new key from a fresh connection.
  {
    auto probe = open_connection(path_, &new_key, options_, Role::reader);
    if (!probe.ok()) {
      return make_error("database_error",
                        "rekey did not take effect; the database is still under its previous "
                        "key (" +
                            probe.error().code + ")");
    }
  }
  // Move the re-encrypted pages from the WAL into the main file.
  return checkpoint();
}

Status Database::export_to(const std::filesystem::path& destination,
                           const crypto::SecretBytes& destination_key) {
  std::error_code ignored;
  if (std::filesystem::exists(destination, ignored)) {
    return make_error("database_error", "export destination already exists: " + destination.string());
  }
  if (sqlite3_get_autocommit(connection_->handle()) == 0) {
    return make_error("database_error", "export inside a transaction");
  }
  sqlite3* handle = connection_->handle();
  auto version = query_text(handle, "PRAGMA main.user_version");
  if (!version.ok()) return std::move(version).error();
  {
    auto key_text = internal::raw_key_text(destination_key);
    if (!key_text.ok()) return std::move(key_text).error();
    auto attach =
        prepare_uncached(handle, "ATTACH DATABASE ?1 AS casefile_export KEY ?2", "attach for export");
    if (!attach.ok()) return std::move(attach).error();
    const std::string destination_text = destination.string();
    sqlite3_bind_text(attach->get(), 1, destination_text.c_str(), -1, SQLITE_STATIC);
    // STATIC: SQLite reads our wiped buffer instead of copying the key text.
    sqlite3_bind_text(attach->get(), 2, internal::as_c_string(*key_text), -1, SQLITE_STATIC);
    const int rc = sqlite3_step(attach->get());
    if (rc != SQLITE_DONE) return internal::sqlite_error(rc, handle, "attach for export");
  }
  const std::string page_size =
      "PRAGMA casefile_export.cipher_page_size = " + std::to_string(options_.cipher_page_size);
  const std::string copy_version = "PRAGMA casefile_export.user_version = " + *version;
  // One transaction around the copy: a single consistent snapshot of the
  // source, whatever other connections write meanwhile.
  const char* const steps[] = {page_size.c_str(), "BEGIN", "SELECT sqlcipher_export('casefile_export')",
                               copy_version.c_str(), "COMMIT"};
  Status status;
  for (const char* step : steps) {
    status = connection_->run_script(step, "export");
    if (!status.ok()) break;
  }
  if (!status.ok() && sqlite3_get_autocommit(handle) == 0) {
    (void)connection_->run_script("ROLLBACK", "rollback of export");
  }
  Status detached = connection_->run_script("DETACH DATABASE casefile_export", "detach after export");
  if (!status.ok()) {
    std::filesystem::remove(destination, ignored);
    return status;
  }
  return detached;
}

}  // namespace casefile::schema
