// The records impact statistics are computed over (schema/impact_statistics.hpp):
// the live cases and interviews of the sync store, read straight from its
// database file with a read-only connection. Each record's fields are its
// merged winners; sealed values ride along as opaque bytes and are never read.
//
// This reads the sync store's `records` table (docs/server-store.md) outside
// the ServerStore interface, which has no scan; a PostgreSQL store will need
// the same scan (ServerStore::scan_records(collections), say) or this query.
#pragma once

#include <deque>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "crypto/secret_bytes.hpp"
#include "schema/database.hpp"
#include "schema/impact_statistics.hpp"
#include "sync/record_state.hpp"

namespace casefile::server {

class StatisticsSnapshot {
 public:
  StatisticsSnapshot() = default;
  StatisticsSnapshot(StatisticsSnapshot&&) = default;
  StatisticsSnapshot& operator=(StatisticsSnapshot&&) = default;

  // Adds a record unless it is deleted.
  void add(sync::RecordState state);

  // Views into this snapshot: valid while it lives and is not added to.
  std::span<const schema::StatisticsRecord> records() const { return records_; }

 private:
  // Node containers: adding never moves what the views point at.
  std::deque<sync::RecordState> states_;
  std::deque<std::string> record_ids_;
  std::vector<schema::StatisticsRecord> records_;
};

// The collections statistics read.
inline constexpr const char* kStatisticsCollections[] = {"cases", "interviews"};

// Every live record of kStatisticsCollections in an open sync store database.
// Errors: "store_unavailable", "store_corrupt".
Result<StatisticsSnapshot> read_statistics_snapshot(schema::Database& database);

// The same from the file, opened read-only; a file that does not exist yet
// holds no records. Errors: those above, and schema::Database's ("wrong_key").
Result<StatisticsSnapshot> read_statistics_snapshot(const std::filesystem::path& database_file,
                                                    const crypto::SecretBytes& database_key);

}  // namespace casefile::server
