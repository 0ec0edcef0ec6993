// Transaction: BEGIN IMMEDIATE on construction (through Database::begin),
// COMMIT only when commit() is called, ROLLBACK when dropped uncommitted.
//
//   auto transaction = database.begin();
//   if (!transaction.ok()) return transaction.error();
//   ... statements ...
//   CASEFILE_RETURN_IF_ERROR(transaction->commit());
//
// IMMEDIATE takes the write lock at once, so a second writer waits (busy
// timeout) at BEGIN instead of failing with "busy" halfway through its work.
#pragma once

#include "base/result.hpp"

namespace casefile::schema {

namespace internal {
class Connection;
}

class Transaction {
 public:
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&& other) noexcept;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  // Rolls back unless commit() succeeded.
  ~Transaction();

  // Errors: "busy", "full", "io_error", "constraint" (deferred foreign keys), ...
  // After a failed commit the transaction is rolled back when dropped.
  [[nodiscard]] Status commit();
  bool committed() const { return committed_; }

 private:
  friend class Database;
  explicit Transaction(internal::Connection* connection) : connection_(connection) {}
  void roll_back_if_open();

  internal::Connection* connection_ = nullptr;
  bool committed_ = false;
};

}  // namespace casefile::schema
