#include "schema/internal/connection.hpp"

#include <sqlite3.h>

#include <cassert>
#include <cctype>

#include "schema/internal/sqlite_error.hpp"

namespace casefile::schema::internal {

Connection::~Connection() {
  assert(outstanding_ == 0 && "a Statement or Transaction outlived its Database");
  clear_cache();
  // close_v2 defers the close, instead of failing, if a statement leaked.
  sqlite3_close_v2(handle_);
}

void Connection::clear_cache() {
  for (auto& [sql, statements] : idle_) {
    for (sqlite3_stmt* statement : statements) sqlite3_finalize(statement);
  }
  idle_.clear();
}

Result<sqlite3_stmt*> Connection::acquire(std::string_view sql) {
  if (auto found = idle_.find(sql); found != idle_.end() && !found->second.empty()) {
    sqlite3_stmt* statement = found->second.back();
    found->second.pop_back();
    ++statements_reused_;
    ++outstanding_;
    return statement;
  }
  sqlite3_stmt* statement = nullptr;
  const char* tail = nullptr;
  const int rc = sqlite3_prepare_v2(handle_, sql.data(), static_cast<int>(sql.size()), &statement, &tail);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(statement);
    return sqlite_error(rc, handle_, "prepare failed");
  }
  const char* end = sql.data() + sql.size();
  for (const char* rest = tail; rest != nullptr && rest < end; ++rest) {
    if (!std::isspace(static_cast<unsigned char>(*rest)) && *rest != ';') {
      sqlite3_finalize(statement);
      return make_error("database_error", "prepare takes exactly one SQL statement");
    }
  }
  if (statement == nullptr) {
    return make_error("database_error", "prepare was given no SQL statement");
  }
  ++statements_prepared_;
  ++outstanding_;
  return statement;
}

void Connection::release(const std::string& sql, sqlite3_stmt* statement) {
  --outstanding_;
  sqlite3_reset(statement);
  sqlite3_clear_bindings(statement);
  if (auto found = idle_.find(sql); found != idle_.end()) {
    found->second.push_back(statement);
  } else {
    idle_.emplace(sql, std::vector<sqlite3_stmt*>{statement});
  }
}

Status Connection::run(std::string_view sql) {
  auto statement = acquire(sql);
  if (!statement.ok()) return std::move(statement).error();
  int rc;
  do {
    rc = sqlite3_step(*statement);
  } while (rc == SQLITE_ROW);
  Status status;
  if (rc != SQLITE_DONE) status = sqlite_error(rc, handle_, std::string(sql));
  release(std::string(sql), *statement);
  return status;
}

Status Connection::run_script(const char* sql, std::string_view what) {
  char* message = nullptr;
  const int rc = sqlite3_exec(handle_, sql, nullptr, nullptr, &message);
  sqlite3_free(message);  // sqlite3_errmsg still holds the same text
  if (rc != SQLITE_OK) return sqlite_error(rc, handle_, what);
  return ok_status();
}

}  // namespace casefile::schema::internal
