// The instance epoch: a random 16-byte id that casefile.db holds (table
// instance_identity, server schema migration 3) and that every restore from
// a backup replaces. Devices remember the epoch they last synced with; a
// different one tells them the server may have lost changes they hold, and
// they heal it (docs/operations.md, "Devices heal a restored server").
#pragma once

#include <string>

#include "base/result.hpp"
#include "schema/database.hpp"

namespace casefile::server {

inline constexpr std::size_t kInstanceEpochSize = 16;

// The epoch as 32 lower-case hex digits. Errors: the database's, "store_corrupt".
Result<std::string> read_instance_epoch(schema::Database& database);

// Replaces the epoch with a fresh random one and returns it.
// Errors: the database's, "random_failed".
Result<std::string> renew_instance_epoch(schema::Database& database);

}  // namespace casefile::server
