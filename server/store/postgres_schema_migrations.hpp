// The PostgreSQL server store's schema, as versioned migrations recorded in a
// one-row version table (casefile_schema_version), with the same discipline as
// the SQLCipher store's PRAGMA user_version (docs/storage.md): migration N
// takes the database from N-1 to N in one transaction with the version bump;
// published migrations are never edited; a database newer than the code is
// refused. docs/scale.md describes the tables.
#pragma once

#include <functional>
#include <span>
#include <string>

#include "base/result.hpp"
#include "server/store/postgres_connection.hpp"

namespace casefile::server {

struct PostgresMigration {
  int version;              // the schema version after this step; 1, 2, 3, ... in order
  std::string description;  // named in errors
  std::string sql;          // run first (several statements allowed)
  // Run after `sql`, in the same transaction, when SQL alone cannot do it.
  std::function<Status(postgres::Connection&)> apply;
};

// Every migration of the PostgreSQL server store, version 1 first.
std::span<const PostgresMigration> postgres_server_migrations();

// The database's schema version (0: never migrated). Errors: the connection's.
[[nodiscard]] Result<int> postgres_schema_version(postgres::Connection& connection);

// Applies every migration above the database's version. Several casefiled
// instances may start at once: each step runs under a transaction-scoped
// advisory lock, so one applies it and the others find it applied.
// REQUIRES: migrations[i].version == i + 1 (std::invalid_argument otherwise).
// Errors: "schema_too_new" (the database is newer than the code; the message
// names both versions); the failing step's error, prefixed with its version.
[[nodiscard]] Status migrate_postgres(postgres::Connection& connection,
                                      std::span<const PostgresMigration> migrations);

}  // namespace casefile::server
