// Maps SQLite result codes to the stable error codes of docs/storage.md.
#pragma once

#include <string_view>

#include "base/result.hpp"

struct sqlite3;

namespace casefile::schema::internal {

// The stable code for a SQLite primary or extended result code:
// "corrupt", "busy", "io_error", "full", "constraint" or "database_error".
// SQLITE_NOTADB maps to "corrupt" here; only the key-proving read turns it into "wrong_key".
// sqlite_error() also reports as "full" an I/O error whose errno is ENOSPC,
// EFBIG (a file size limit) or EDQUOT.
std::string_view error_code_for(int sqlite_result);

// An Error for `sqlite_result` whose message names `what` (never SQL
// parameters or keys) and SQLite's own message from `connection` (may be null).
Error sqlite_error(int sqlite_result, sqlite3* connection, std::string_view what);

}  // namespace casefile::schema::internal
