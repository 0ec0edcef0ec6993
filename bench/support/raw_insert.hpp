// The storage limit every ingest figure is compared with: rows inserted into a
// plain table of a SQLCipher file (WAL, synchronous=FULL, 4096-byte pages),
// one transaction per call, with no indexes and no logic.
#pragma once

#include <span>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "schema/database.hpp"

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

}  // namespace casefile::bench
