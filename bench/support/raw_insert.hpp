// The storage limit every ingest figure is compared with: rows inserted into a
// plain table of a SQLCipher file (WAL, synchronous=FULL, 4096-byte pages),
// one transaction per call, with no indexes and no logic.
#pragma once

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <span>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "schema/database.hpp"
#include "tests/support/scratch_directory.hpp"

namespace casefile::bench {

inline constexpr const char* kRawRowsTable = "CREATE TABLE rows (id INTEGER PRIMARY KEY, body BLOB NOT NULL)";

// Inserts `rows` into the table kRawRowsTable creates, in one transaction.
inline Status insert_rows_in_one_transaction(schema::Database& database,
                                             std::span<const crypto::Bytes> rows) {
  auto transaction = database.begin();
  if (!transaction.ok()) return transaction.error();
  for (const auto& row : rows) {
    auto insert = database.prepare("INSERT INTO rows (body) VALUES (?)");
    if (!insert.ok()) return insert.error();
    CASEFILE_RETURN_IF_ERROR(insert->bind_blob(1, row).run());
  }
  return transaction->commit();
}

// The storage limit's rate: `rows` inserted into a new keyed file `file`,
// `rows_per_transaction` a transaction; rows a second (wall clock).
inline Result<double> raw_insert_rate(const std::filesystem::path& file, std::span<const crypto::Bytes> rows,
                                      std::size_t rows_per_transaction = 500) {
  auto database = schema::Database::open(file, test_support::random_database_key());
  if (!database.ok()) return database.error();
  CASEFILE_RETURN_IF_ERROR(database->execute(kRawRowsTable));
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t at = 0; at < rows.size(); at += rows_per_transaction) {
    const std::size_t count = std::min(rows_per_transaction, rows.size() - at);
    CASEFILE_RETURN_IF_ERROR(insert_rows_in_one_transaction(*database, rows.subspan(at, count)));
  }
  return static_cast<double>(rows.size()) /
         std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace casefile::bench
