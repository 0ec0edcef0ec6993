// casefile-device's device and key commands: init, unlock, passphrase
// change, storage-key rotate, reencrypt; and the unlock every other command
// starts with.
#pragma once

#include "base/result.hpp"
#include "crypto/secret_bytes.hpp"
#include "device/field_device.hpp"
#include "tools/casefile-device/command_line.hpp"

namespace casefile::device_tool {

struct UnlockedDevice {
  device::FieldDevice device;
  crypto::SecretBytes passphrase;  // kept for commands that re-wrap or re-key
};

// Reads the passphrase (CASEFILE_DEVICE_PASSPHRASE, --passphrase-file, the
// terminal) and unlocks the device in --dir. Errors: the passphrase sources'
// and FieldDevice::unlock's ("wrong_passphrase", "locked_out",
// "not_initialised", ...).
Result<UnlockedDevice> unlock_device(const Options& options);

int run_init(const Options& options);
int run_unlock(const Options& options);
int run_passphrase_change(const Options& options);
int run_storage_key_rotate(const Options& options);
// Re-seals a case's old values under its newest epoch (FieldDevice::reencrypt_case).
int run_reencrypt(const Options& options);

}  // namespace casefile::device_tool
