// The replica file's schema, as schema::Migration steps (docs/device.md,
// "Tables"). Published steps are never edited: fix forward with a new one.
#pragma once

#include <span>

#include "schema/migrations.hpp"

namespace casefile::device::internal {

// Every step, in order; the last one's version is the newest this program knows.
std::span<const schema::Migration> replica_migrations();

}  // namespace casefile::device::internal
