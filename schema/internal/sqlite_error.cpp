#include "schema/internal/sqlite_error.hpp"

#include <sqlite3.h>

#include <cerrno>
#include <string>

namespace casefile::schema::internal {

std::string_view error_code_for(int sqlite_result) {
  switch (sqlite_result & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return "corrupt";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "busy";
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
      return "io_error";
    case SQLITE_FULL:
      return "full";
    case SQLITE_CONSTRAINT:
      return "constraint";
    default:
      return "database_error";
  }
}

Error sqlite_error(int sqlite_result, sqlite3* connection, std::string_view what) {
  // A write that failed for want of space is SQLITE_FULL only when the file
  // system says ENOSPC mid-write; EFBIG (RLIMIT_FSIZE) and EDQUOT (a quota)
  // come back as SQLITE_IOERR_WRITE and friends, with the errno kept.
  if ((sqlite_result & 0xff) == SQLITE_IOERR && connection != nullptr) {
    const int system_error = sqlite3_system_errno(connection);
    if (system_error == ENOSPC || system_error == EFBIG || system_error == EDQUOT)
      sqlite_result = SQLITE_FULL;
  }
  std::string message(what);
  message += ": ";
  // sqlite3_errmsg describes the most recent failure on the connection; when
  // there is none (or no connection) use the generic text for the code.
  const char* detail = connection != nullptr ? sqlite3_errmsg(connection) : sqlite3_errstr(sqlite_result);
  message += detail != nullptr ? detail : "unknown error";
  message += " (sqlite " + std::to_string(sqlite_result) + ")";
  return make_error(std::string(error_code_for(sqlite_result)), std::move(message));
}

}  // namespace casefile::schema::internal
