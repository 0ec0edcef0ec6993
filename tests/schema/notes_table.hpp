// A small table the schema tests write to and read back.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "schema/database.hpp"

namespace casefile::schema::testing {

inline void create_notes_table(Database& database) {
  ASSERT_TRUE(database
                  .execute("CREATE TABLE IF NOT EXISTS notes("
                           "id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, body BLOB NOT NULL)")
                  .ok());
}

inline Status insert_note(Database& database, std::int64_t batch, crypto::ByteView body) {
  auto insert = database.prepare("INSERT INTO notes(batch, body) VALUES (?, ?)");
  if (!insert.ok()) return insert.error();
  insert->bind_int64(1, batch).bind_blob(2, body);
  return insert->run();
}

// Runs a one-row, one-column integer query; fails the test on error.
inline std::int64_t query_int64(Database& database, std::string_view sql) {
  auto query = database.prepare(sql);
  EXPECT_TRUE(query.ok()) << (query.ok() ? "" : query.error().message);
  if (!query.ok()) return -1;
  auto row = query->step();
  EXPECT_TRUE(row.ok() && *row) << (row.ok() ? "no row" : row.error().message);
  if (!row.ok() || !*row) return -1;
  return query->column_int64(0);
}

inline std::int64_t count_notes(Database& database) {
  return query_int64(database, "SELECT count(*) FROM notes");
}

}  // namespace casefile::schema::testing
