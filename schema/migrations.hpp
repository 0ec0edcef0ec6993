// Schema migrations, versioned by PRAGMA user_version (0 = empty database).
//
// Migration N takes a database from version N-1 to N. Each runs in its own
// BEGIN IMMEDIATE transaction together with the user_version bump, so a
// failure leaves the database at N-1 exactly, and a crash at worst repeats
// nothing. Published migrations are never edited: fix forward with a new one.
// SQL must suit SQLite 3.15 (no UPSERT, RETURNING, window functions, JSON1).
#pragma once

#include <functional>
#include <span>
#include <string>

#include "base/result.hpp"
#include "schema/database.hpp"

namespace casefile::schema {

struct Migration {
  int version;              // the user_version after this step; 1, 2, 3, ... in order
  std::string description;  // named in errors: "add interviews.finalized_at"
  std::string sql;          // run first, if not empty (may hold several statements)
  // Run after `sql`, if set, inside the same transaction: for data rewrites
  // that SQL alone cannot express.
  std::function<Status(Database&)> apply;
};

// The database's PRAGMA user_version.
[[nodiscard]] Result<int> schema_version(Database& database);

// Applies, in order, every migration above the database's version.
// REQUIRES: migrations[i].version == i + 1 (a programming error otherwise:
// throws std::invalid_argument). Errors: "schema_too_new" when the database
// is newer than the last migration (the message names both versions); the
// failing step's own error, prefixed with its version and description.
[[nodiscard]] Status migrate(Database& database, std::span<const Migration> migrations);

}  // namespace casefile::schema
