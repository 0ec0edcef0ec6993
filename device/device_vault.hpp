// DeviceVault: the key files of one device directory (docs/device.md,
// "Directory layout"):
//   storage.key       the storage key, wrapped under scrypt(passphrase)
//   storage.key.next  only during a storage key rotation: the new key, same passphrase
//   duress.key        a random marker wrapped under the duress passphrase, or
//                     under a random passphrase that was thrown away
//   unlock.state      consecutive failed unlocks and the lock-out limit
//   replica.db        the SQLCipher replica (and its -wal, -shm, -journal)
//
// Unlocking always runs scrypt on both storage.key and duress.key, so a
// wrong, a right and a duress passphrase cost the same work. The failure
// counter is raised and fsync'd before the attempt (killing the app mid-try
// does not save a guess) and reset on success; the attempt that reaches the
// limit destroys storage.key. Destroying a file overwrites its contents with
// random bytes, fsyncs, unlinks it and fsyncs the directory.
//
// Not thread-safe; one vault per directory at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

#include "base/result.hpp"
#include "crypto/key_file.hpp"
#include "crypto/secret_bytes.hpp"

namespace casefile::device {

inline constexpr std::string_view kDuressKeyPurpose = "device-duress";

struct VaultFiles {
  explicit VaultFiles(const std::filesystem::path& directory);

  std::filesystem::path directory;
  std::filesystem::path storage_key;
  std::filesystem::path storage_key_next;
  std::filesystem::path duress_key;
  std::filesystem::path unlock_state;
  std::filesystem::path replica;
};

// The lock-out counter as unlock.state holds it:
//   "casefile unlock state v1\nfailures <n>\nlimit <n>\n"
// with decimal numbers (no sign, no leading zero) up to 2^32-1.
struct UnlockState {
  std::uint32_t failures = 0;
  std::uint32_t limit = 0;  // 0: no lock-out

  friend bool operator==(const UnlockState&, const UnlockState&) = default;
};
std::string encode_unlock_state(const UnlockState& state);
// Errors: "corrupt_unlock_state".
Result<UnlockState> decode_unlock_state(crypto::ByteView contents);

struct VaultCreateOptions {
  std::string_view duress_passphrase;  // empty: none
  std::uint32_t lockout_after = 0;
  crypto::ScryptParameters scrypt = crypto::kKeyFileDefaultParameters;
};

enum class UnlockedWith { passphrase, duress_passphrase };

struct VaultUnlock {
  UnlockedWith with = UnlockedWith::passphrase;
  // The key that opens replica.db (after any interrupted rotation was
  // finished or rolled back). Empty for a duress unlock.
  crypto::SecretBytes storage_key;
  // What the device was created with, so a duress unlock can make a new
  // device that looks the same from outside.
  std::uint32_t lockout_after = 0;
  crypto::ScryptParameters scrypt;
};

class DeviceVault {
 public:
  explicit DeviceVault(const std::filesystem::path& directory) : files_(directory) {}

  const VaultFiles& files() const { return files_; }
  // Whether a device lives here: storage.key exists.
  bool initialised() const;

  // First half of creating a device: writes unlock.state and duress.key and
  // returns a fresh 32-byte storage key. The caller creates the replica with
  // it, then calls save_storage_key: a directory without storage.key is no
  // device, so a crash in between leaves nothing that unlocks.
  // Errors: "invalid_argument" (empty passphrase, duress equal to it), the key file's.
  Result<crypto::SecretBytes> prepare(std::string_view passphrase, const VaultCreateOptions& options);
  Status save_storage_key(const crypto::SecretBytes& storage_key, std::string_view passphrase,
                          const crypto::ScryptParameters& scrypt);

  // Errors: "not_initialised", "locked_out", "wrong_passphrase" (with the
  // attempts left when a lock-out is set), "corrupt_unlock_state",
  // "replica_missing", "replica_unreadable" (neither key of an interrupted
  // rotation opens the replica), the key files' and the replica's errors.
  Result<VaultUnlock> unlock(std::string_view passphrase);

  // Re-wraps storage.key; duress.key is kept. Errors: "wrong_passphrase",
  // "invalid_argument" (empty), "passphrase_is_duress" (the new passphrase
  // opens duress.key).
  Status change_passphrase(std::string_view old_passphrase, std::string_view new_passphrase);

  // Storage key rotation, crash-safe (docs/device.md, "Storage key rotation"):
  //   1. begin_rotation writes storage.key.next: a new key, same passphrase
  //   2. the caller re-keys replica.db to it
  //   3. finish_rotation renames storage.key.next over storage.key
  // unlock() settles a rotation a crash interrupted, by asking which key
  // opens the replica. Errors of begin: "wrong_passphrase", the key file's.
  Result<crypto::SecretBytes> begin_rotation(std::string_view passphrase);
  Status finish_rotation();
  Status abandon_rotation();

  // Destroys storage.key and storage.key.next: the replica is unreadable for good.
  Status destroy_storage_key();
  // Destroys every file of the device: key files, unlock.state, the replica
  // and its companions, and leftover temporary files of the key files.
  Status destroy_all();

 private:
  Status write_state(const UnlockState& state);
  Result<UnlockState> read_state();
  Status settle_rotation(VaultUnlock& unlock, std::string_view passphrase);

  VaultFiles files_;
};

// Overwrites `path` with random bytes, fsyncs it, unlinks it and fsyncs its
// directory. A missing file is not an error. Errors: "io_error".
Status destroy_file(const std::filesystem::path& path);

}  // namespace casefile::device
