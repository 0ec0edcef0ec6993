// casefile-admin store migrate-to-postgres --postgres-url URL: copies an
// instance's SQLCipher stores (casefile.db, control.db, keys.db) into the
// PostgreSQL database that casefiled will use with [store] kind = "postgres"
// (docs/scale.md, "Moving an instance to PostgreSQL"). casefiled must be
// stopped. Every row is kept as it is (changes, batches, records, the
// instance epoch, key epochs and wraps, users, devices, tokens, audit log),
// so devices continue from their cursors without re-syncing.
//
// Resumable: each table is copied in pages, each page one transaction whose
// rows are inserted ON CONFLICT DO NOTHING, so a run that was interrupted
// (or a second run) copies only what is missing. Progress goes to stderr.
#pragma once

#include "tools/casefile-admin/command_line.hpp"

namespace casefile::admin {

bool is_store_command(const std::string& command);
int run_store_command(const Options& options);

}  // namespace casefile::admin
