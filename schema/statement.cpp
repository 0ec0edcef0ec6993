#include "schema/statement.hpp"

#include <sqlite3.h>

#include <utility>

#include "schema/internal/connection.hpp"
#include "schema/internal/sqlite_error.hpp"

namespace casefile::schema {

Statement::Statement(internal::Connection* connection, sqlite3_stmt* statement, std::string sql)
    : connection_(connection), statement_(statement), sql_(std::move(sql)) {}

Statement::Statement(Statement&& other) noexcept
    : connection_(std::exchange(other.connection_, nullptr)),
      statement_(std::exchange(other.statement_, nullptr)),
      sql_(std::move(other.sql_)),
      bind_error_(std::move(other.bind_error_)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    give_back();
    connection_ = std::exchange(other.connection_, nullptr);
    statement_ = std::exchange(other.statement_, nullptr);
    sql_ = std::move(other.sql_);
    bind_error_ = std::move(other.bind_error_);
  }
  return *this;
}

Statement::~Statement() { give_back(); }

void Statement::give_back() {
  if (statement_ != nullptr) connection_->release(sql_, statement_);
  statement_ = nullptr;
  connection_ = nullptr;
}

void Statement::record_bind_result(int rc, int index) {
  if (rc != SQLITE_OK && !bind_error_) {
    bind_error_ = internal::sqlite_error(rc, sqlite3_db_handle(statement_),
                                         "bind of parameter " + std::to_string(index) + " failed");
  }
}

Statement& Statement::bind_int64(int index, std::int64_t value) {
  record_bind_result(sqlite3_bind_int64(statement_, index, value), index);
  return *this;
}

Statement& Statement::bind_text(int index, std::string_view value) {
  record_bind_result(
      sqlite3_bind_text64(statement_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
      index);
  return *this;
}

Statement& Statement::bind_blob(int index, crypto::ByteView value) {
  // A zero-length blob is bound as an empty blob, not as NULL.
  static constexpr std::uint8_t kEmpty = 0;
  const void* data = value.empty() ? &kEmpty : value.data();
  record_bind_result(sqlite3_bind_blob64(statement_, index, data, value.size(), SQLITE_TRANSIENT), index);
  return *this;
}

Statement& Statement::bind_null(int index) {
  record_bind_result(sqlite3_bind_null(statement_, index), index);
  return *this;
}

Result<bool> Statement::step() {
  if (bind_error_) return *bind_error_;
  const int rc = sqlite3_step(statement_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  // Reset now so that a failed statement does not hold its read transaction open.
  sqlite3_reset(statement_);
  return internal::sqlite_error(rc, sqlite3_db_handle(statement_), "statement failed");
}

Status Statement::run() {
  for (;;) {
    auto row = step();
    if (!row.ok()) return std::move(row).error();
    if (!*row) return ok_status();
  }
}

void Statement::reset() { sqlite3_reset(statement_); }

int Statement::column_count() const { return sqlite3_data_count(statement_); }

bool Statement::column_is_null(int column) const {
  return sqlite3_column_type(statement_, column) == SQLITE_NULL;
}

std::int64_t Statement::column_int64(int column) const { return sqlite3_column_int64(statement_, column); }

std::string Statement::column_text(int column) const {
  const auto* text = sqlite3_column_text(statement_, column);
  const int size = sqlite3_column_bytes(statement_, column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size));
}

crypto::Bytes Statement::column_blob(int column) const {
  const auto* blob = static_cast<const std::uint8_t*>(sqlite3_column_blob(statement_, column));
  const int size = sqlite3_column_bytes(statement_, column);
  if (blob == nullptr) return {};
  return crypto::Bytes(blob, blob + size);
}

}  // namespace casefile::schema
