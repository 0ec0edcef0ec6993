// The server store's schema, as versioned migrations (PRAGMA user_version).
// docs/server-store.md describes each table. Published migrations are never
// edited; a change of schema is a new migration at the end.
#pragma once

#include <span>

#include "schema/migrations.hpp"

namespace casefile::server {

// Every migration of the server store, version 1 first.
std::span<const schema::Migration> server_schema_migrations();

}  // namespace casefile::server
