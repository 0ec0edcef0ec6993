// The backup key (docs/operations.md, "Backups"): an X25519 key pair. Its
// public key lives in the instance (org/backup.pub) so the server can make
// backups; its private key lives in a key file under its own passphrase
// (crypto/key_file.hpp, purpose "backup-key"), kept by the admin off the
// server, so the server that makes backups cannot read them.
#pragma once

#include <filesystem>
#include <string_view>

#include "base/result.hpp"
#include "crypto/x25519.hpp"

namespace casefile::server {

inline constexpr std::string_view kKeyFilePurposeBackup = "backup-key";

std::filesystem::path backup_public_key_path(const std::filesystem::path& instance_root);

// Generates a key pair, writes the private key file at `private_key_file`
// (which must not exist) and the public key to the instance's org/backup.pub
// (replacing an earlier one: later backups are made to the new key).
// Errors: "no_instance", "backup_key_exists" (the private key file exists),
// "invalid_argument" (passphrase under 12 characters), "io_error", crypto's.
Result<crypto::X25519PublicKey> create_backup_key(const std::filesystem::path& instance_root,
                                                  const std::filesystem::path& private_key_file,
                                                  std::string_view passphrase);

// Errors: "backup_key_missing" (no org/backup.pub: run backup-key init),
// "corrupt_instance", "io_error".
Result<crypto::X25519PublicKey> read_backup_public_key(const std::filesystem::path& instance_root);

// Errors: key_file's ("wrong_passphrase", "wrong_purpose", "corrupt_key_file",
// "io_error"), "invalid_key".
Result<crypto::X25519PrivateKey> load_backup_private_key(const std::filesystem::path& private_key_file,
                                                         std::string_view passphrase);

}  // namespace casefile::server
