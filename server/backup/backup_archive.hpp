// Online backup, verification and restore of a Casefile instance
// (docs/operations.md, "Backups"; the file format in docs/crypto.md).
//
// A backup holds a consistent snapshot of casefile.db, control.db and keys.db,
// taken while casefiled serves, and the organisation's key files (wrapped
// under the admin passphrase) and public keys. It is encrypted to the backup
// public key (server/backup/backup_key.hpp): the server makes it and cannot
// read it. Server secrets (database key, TLS key) go only into a separate
// secrets backup, made only when asked.
//
// Consistency: the databases are exported in a fixed order, casefile.db
// first, each in one read transaction (sqlcipher_export), and the manifest's
// last_sequence is read from the exported casefile.db itself. What
// control.db and keys.db hold (certificates, memberships, key wraps) is only
// ever added before a change that needs it is logged, and never removed in a
// way a logged change depends on, so later snapshots of them cover every
// change of the casefile.db snapshot.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "crypto/hash.hpp"
#include "crypto/x25519.hpp"

namespace casefile::server {

inline constexpr int kBackupFormatVersion = 1;

struct BackupPart {
  std::string name;  // a path relative to the instance: "casefile.db", "org/authority.key"
  std::uint64_t size = 0;
  crypto::Sha256Digest sha256{};
};

// Authenticated with the rest of the backup (it is inside the encrypted stream).
struct BackupManifest {
  int format_version = kBackupFormatVersion;
  std::string kind;  // "databases" or "server-secrets"
  std::uint64_t created_at_millis = 0;
  std::string instance_epoch;  // of the instance when backed up ("" for secrets)
  std::uint64_t last_sequence = 0;
  std::vector<BackupPart> parts;
  crypto::Sha256Digest content_sha256{};  // over every part's bytes, in order
};

struct BackupProgress {
  std::string part;
  std::uint64_t done = 0;   // bytes of all parts so far
  std::uint64_t total = 0;  // bytes of all parts
};
using BackupProgressCallback = std::function<void(const BackupProgress&)>;

// Backs the instance at `instance_root` up to `destination` (which must not
// exist), encrypted to the instance's backup public key. Safe while
// casefiled serves. Errors: "no_instance", "backup_key_missing",
// "io_error", the databases' ("wrong_key", "busy", ...), crypto's.
Result<BackupManifest> create_backup(const std::filesystem::path& instance_root,
                                     const std::filesystem::path& destination,
                                     const BackupProgressCallback& progress = {});

// The database key and the TLS key and certificate, to a separate file.
Result<BackupManifest> create_server_secrets_backup(const std::filesystem::path& instance_root,
                                                    const std::filesystem::path& destination);

// Reads the whole backup, checks every segment, part hash, size and the
// manifest, and writes nothing. Works for both kinds. Errors:
// "backup_malformed", "backup_truncated", "backup_wrong_key",
// "backup_corrupt", "io_error".
Result<BackupManifest> verify_backup(const std::filesystem::path& backup,
                                     const crypto::X25519PrivateKey& backup_private_key);

// Restores a databases backup into the instance at `instance_root`, which
// must be empty: made by `casefile-admin init` and never served (no
// casefile.db, control.db or keys.db). The databases are re-keyed under the
// instance's database key, the organisation files replace the new
// instance's, and the instance epoch is renewed, so devices notice the
// restore and heal it. A server-secrets backup restores the TLS key and
// certificate (the database key stays the instance's). Nothing is moved
// into the instance until the whole backup has verified.
// Errors: verify_backup's, "no_instance", "instance_not_empty", "io_error",
// the databases'.
Result<BackupManifest> restore_backup(const std::filesystem::path& backup,
                                      const crypto::X25519PrivateKey& backup_private_key,
                                      const std::filesystem::path& instance_root,
                                      const BackupProgressCallback& progress = {});

}  // namespace casefile::server
