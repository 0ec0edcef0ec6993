// The control database's schema, one migration a version (never edit a
// published one: fix forward).
#pragma once

#include <span>

#include "schema/migrations.hpp"

namespace casefile::server::internal {

std::span<const schema::Migration> control_store_migrations();

}  // namespace casefile::server::internal
