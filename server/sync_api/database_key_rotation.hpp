// Rotating the instance's database key (docs/operations.md, "Rotating the
// database key"). The order makes every moment crash-safe:
//   1. the next key is written to database.key.next (write_next_database_key);
//   2. each database is rekeyed to it, one at a time (schema::Database::rekey
//      is itself atomic: a file opens under exactly one of the two keys);
//   3. database.key.next is renamed over database.key.
// Until step 3, database.key still opens every database not yet rekeyed, and
// database.key.next every one that is; a rotation found unfinished (step 1
// done, step 3 not) is finished by trying both keys on each database.
//
// Progress goes to a status file beside the key, database-key-rotation.json,
// which `casefile-admin database-key rotate` polls:
//   {"state": "running" | "done" | "failed", "databases": [{"name": "control.db",
//    "state": "pending" | "rekeying" | "rekeyed" | "failed"}, ...],
//    "error": code, "message": text}       (error and message when failed)
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "crypto/secret_bytes.hpp"

namespace casefile::server {

// One database to move from the current key to the next. `rekey` must leave
// the file under `next` (and succeed if it already is), or fail with it
// under `current`.
struct RotatingDatabase {
  std::string name;  // the file name, for progress
  std::function<Status(const crypto::SecretBytes& current, const crypto::SecretBytes& next)> rekey;
};

// The instance's three database files, beside `sync_database` (casefile.db).
std::vector<std::filesystem::path> instance_database_files(const std::filesystem::path& sync_database);

// A RotatingDatabase for a database file no process holds open: opens it with
// `current` and rekeys it, or proves `next` already opens it. A file that
// does not exist (never created yet) is skipped.
RotatingDatabase closed_database(const std::filesystem::path& file);

// database-key-rotation.json beside `key_file`.
std::filesystem::path rotation_status_path(const std::filesystem::path& key_file);

// Steps 2 and 3 above, with the status file written after each step.
// REQUIRES: database.key.next exists (step 1). Returns the first database
// error (the status file says "failed" and names it); the rotation can then
// be run again, and resumes. `on_promoted` runs after step 3, before the
// status says "done" (casefiled audits there, so that a waiting admin sees
// the entry). Errors: "no_rotation" (no database.key.next), the key files'
// errors, the databases' errors.
Status finish_database_key_rotation(const std::filesystem::path& key_file,
                                    const std::vector<RotatingDatabase>& databases,
                                    const std::function<void()>& on_promoted = {});

// Writes a "failed" status without touching any database (the caller could
// not start the rotation).
Status record_rotation_failure(const std::filesystem::path& key_file, const Error& error);

}  // namespace casefile::server
