// One open sqlite3 handle and its prepared-statement cache. Database owns one
// through a unique_ptr so that Statement and Transaction handles, which point
// at it, stay valid when the Database object moves.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace casefile::schema::internal {

class Connection {
 public:
  explicit Connection(sqlite3* handle) : handle_(handle) {}
  // REQUIRES: every Statement and Transaction of this connection is gone.
  ~Connection();

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* handle() const { return handle_; }

  // A prepared statement for exactly one SQL statement: a cached one if an
  // idle one exists, otherwise a new one. Give it back with release().
  Result<sqlite3_stmt*> acquire(std::string_view sql);
  // Resets the statement, clears its bindings and makes it idle again.
  void release(const std::string& sql, sqlite3_stmt* statement);

  // Runs one parameterless statement (through the cache) to completion.
  Status run(std::string_view sql);
  // Runs SQL text of any number of statements (sqlite3_exec); `what` names it in errors.
  Status run_script(const char* sql, std::string_view what);

  std::uint64_t statements_prepared() const { return statements_prepared_; }
  std::uint64_t statements_reused() const { return statements_reused_; }
  // Finalizes idle cached statements (e.g. before closing or after schema changes).
  void clear_cache();

 private:
  sqlite3* handle_;
  std::map<std::string, std::vector<sqlite3_stmt*>, std::less<>> idle_;
  std::uint64_t statements_prepared_ = 0;
  std::uint64_t statements_reused_ = 0;
  std::int64_t outstanding_ = 0;
};

}  // namespace casefile::schema::internal
