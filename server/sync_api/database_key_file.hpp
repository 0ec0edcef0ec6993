// The instance's database key file (docs/instance.md): 64 hex digits and a
// newline, mode 0600, the raw SQLCipher key of casefile.db, control.db and
// keys.db.
#pragma once

#include <filesystem>

#include "base/result.hpp"
#include "crypto/secret_bytes.hpp"

namespace casefile::server {

// Errors: "io_error" (unreadable), "corrupt_instance" (not a 32-byte hex key).
Result<crypto::SecretBytes> read_database_key_file(const std::filesystem::path& path);

}  // namespace casefile::server
