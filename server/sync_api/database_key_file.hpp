// The instance's database key file (docs/instance.md): 64 hex digits and a
// newline, mode 0600, the raw SQLCipher key of casefile.db, control.db and
// keys.db. During a rotation the next key waits in database.key.next
// (docs/operations.md, "Rotating the database key").
#pragma once

#include <filesystem>

#include "base/result.hpp"
#include "crypto/secret_bytes.hpp"

namespace casefile::server {

// Errors: "io_error" (unreadable), "corrupt_instance" (not a 32-byte hex key).
Result<crypto::SecretBytes> read_database_key_file(const std::filesystem::path& path);

// `key_file` with ".next" appended: where a rotation writes the next key
// before any database is rekeyed.
std::filesystem::path next_database_key_path(const std::filesystem::path& key_file);

// Writes a new random 32-byte key to next_database_key_path(key_file), mode
// 0600, fsynced with its directory, and returns it. Errors:
// "rotation_in_progress" (the file already exists: finish that rotation
// first), "io_error".
Result<crypto::SecretBytes> write_next_database_key(const std::filesystem::path& key_file);

// Renames the next key over `key_file` (atomic) and fsyncs the directory:
// the last step of a rotation, once every database is under the next key.
// Errors: "io_error".
Status promote_next_database_key(const std::filesystem::path& key_file);

}  // namespace casefile::server
