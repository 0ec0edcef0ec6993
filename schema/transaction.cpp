#include "schema/transaction.hpp"

#include <sqlite3.h>

#include <utility>

#include "schema/internal/connection.hpp"

namespace casefile::schema {

Transaction::Transaction(Transaction&& other) noexcept
    : connection_(std::exchange(other.connection_, nullptr)), committed_(other.committed_) {}

Transaction& Transaction::operator=(Transaction&& other) noexcept {
  if (this != &other) {
    roll_back_if_open();
    connection_ = std::exchange(other.connection_, nullptr);
    committed_ = other.committed_;
  }
  return *this;
}

Transaction::~Transaction() { roll_back_if_open(); }

Status Transaction::commit() {
  if (connection_ == nullptr || committed_) {
    return make_error("database_error", "commit of a transaction that is not open");
  }
  CASEFILE_RETURN_IF_ERROR(connection_->run("COMMIT"));
  committed_ = true;
  return ok_status();
}

void Transaction::roll_back_if_open() {
  if (connection_ == nullptr) return;
  // SQLite may already have rolled back on its own (SQLITE_FULL, SQLITE_IOERR);
  // then there is nothing left to undo.
  if (!committed_ && sqlite3_get_autocommit(connection_->handle()) == 0) {
    // A failed ROLLBACK leaves SQLite to roll back when the connection closes;
    // there is no caller to report it to from a destructor.
    (void)connection_->run("ROLLBACK");
  }
  connection_ = nullptr;
}

}  // namespace casefile::schema
