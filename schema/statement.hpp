// Statement: a prepared SQLite statement borrowed from a Database's cache.
//
//   auto insert = database.prepare("INSERT INTO notes(id, body) VALUES (?, ?)");
//   if (!insert.ok()) return insert.error();
//   insert->bind_blob(1, id).bind_text(2, body);
//   CASEFILE_RETURN_IF_ERROR(insert->run());
//
// Parameters are numbered from 1, columns from 0 (SQLite's convention).
// Destroying the handle resets the statement, clears its bindings and returns
// it to the cache, so the next prepare() of the same text does not re-parse.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "crypto/bytes.hpp"

struct sqlite3_stmt;

namespace casefile::schema {

namespace internal {
class Connection;
}

class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binding never fails on its own: a bad index or out-of-memory is kept
  // and returned by the next step() or run().
  Statement& bind_int64(int index, std::int64_t value);
  Statement& bind_text(int index, std::string_view value);
  Statement& bind_blob(int index, crypto::ByteView value);
  Statement& bind_null(int index);

  // Advances one row: true when a row is ready to read, false when done.
  [[nodiscard]] Result<bool> step();
  // Steps to the end, discarding rows; for INSERT, UPDATE, DELETE and DDL.
  [[nodiscard]] Status run();
  // Rewinds to run again; bindings stay.
  void reset();

  // REQUIRES: the last step() returned true.
  int column_count() const;
  bool column_is_null(int column) const;
  std::int64_t column_int64(int column) const;
  std::string column_text(int column) const;
  crypto::Bytes column_blob(int column) const;

 private:
  friend class Database;
  Statement(internal::Connection* connection, sqlite3_stmt* statement, std::string sql);
  void record_bind_result(int rc, int index);
  void give_back();

  internal::Connection* connection_ = nullptr;
  sqlite3_stmt* statement_ = nullptr;
  std::string sql_;
  std::optional<Error> bind_error_;
};

}  // namespace casefile::schema
