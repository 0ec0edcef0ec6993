#include "tools/casefile-device/key_commands.hpp"

#include <openssl/crypto.h>

#include <cstdlib>
#include <iostream>

#include "tools/casefile-device/output.hpp"
#include "tools/casefile-device/passphrase_input.hpp"

namespace casefile::device_tool {
namespace {

constexpr std::string_view kPassphraseVariable = "CASEFILE_DEVICE_PASSPHRASE";
constexpr std::string_view kDuressPassphraseVariable = "CASEFILE_DEVICE_DURESS_PASSPHRASE";
constexpr std::string_view kNewPassphraseVariable = "CASEFILE_DEVICE_NEW_PASSPHRASE";

PassphraseSource device_passphrase(const Options& options, bool confirm) {
  return {kPassphraseVariable, options.value("passphrase-file"), "device passphrase", confirm};
}

}  // namespace

Result<UnlockedDevice> unlock_device(const Options& options) {
  auto passphrase = read_passphrase(device_passphrase(options, false));
  if (!passphrase.ok()) return std::move(passphrase).error();
  auto unlocked = device::FieldDevice::unlock(options.directory, passphrase_text(*passphrase));
  if (!unlocked.ok()) return std::move(unlocked).error();
  return UnlockedDevice{std::move(*unlocked), std::move(*passphrase)};
}

int run_init(const Options& options) {
  auto lockout = integer_option(options, "lockout-after", 0, 0, 1000);
  if (!lockout.ok()) return report_failure(options, lockout.error());
  device::CreateOptions create;
  create.lockout_after = static_cast<std::uint32_t>(*lockout);
  // The duress passphrase is optional: asked for only when a source is given.
  crypto::SecretBytes duress;
  const auto duress_file = options.value("duress-passphrase-file");
  if (duress_file || std::getenv(std::string(kDuressPassphraseVariable).c_str()) != nullptr) {
    auto read = read_passphrase({kDuressPassphraseVariable, duress_file, "duress passphrase", true});
    if (!read.ok()) return report_failure(options, read.error());
    duress = std::move(*read);
  }
  auto passphrase = read_passphrase(device_passphrase(options, true));
  if (!passphrase.ok()) return report_failure(options, passphrase.error());
  if (!duress.empty() && passphrase_text(duress) == passphrase_text(*passphrase)) {
    return report_failure(
        options, make_error("usage", "the duress passphrase must differ from the device passphrase"));
  }
  create.duress_passphrase = std::string(passphrase_text(duress));
  if (!options.json)
    std::cerr << "casefile-device: creating the device (deriving key-file keys with scrypt)...\n";
  auto created = device::FieldDevice::create(options.directory, passphrase_text(*passphrase), create);
  // CreateOptions holds the duress passphrase in a std::string: clear it now.
  OPENSSL_cleanse(create.duress_passphrase.data(), create.duress_passphrase.size());
  if (!created.ok()) return report_failure(options, created.error());
  const std::string device_id = sync::to_text(created->profile().device_id);
  if (options.json) {
    print_json({{"device_id", device_id}});
  } else {
    std::cout << "created device " << device_id << " in " << options.directory.string()
              << "\nnext: enrol it with the payload from `casefile-admin enrol --user NAME`\n";
  }
  return kExitOk;
}

int run_unlock(const Options& options) {
  auto unlocked = unlock_device(options);
  if (!unlocked.ok()) return report_failure(options, unlocked.error());
  const auto& profile = unlocked->device.profile();
  const std::string device_id = sync::to_text(profile.device_id);
  const std::string_view state = device::enrolment_state_name(profile.state);
  if (options.json) {
    print_json({{"device_id", device_id}, {"state", state}});
  } else {
    std::cout << "device " << device_id << " unlocked; enrolment: " << state << "\n";
  }
  return kExitOk;
}

int run_passphrase_change(const Options& options) {
  auto unlocked = unlock_device(options);
  if (!unlocked.ok()) return report_failure(options, unlocked.error());
  auto replacement = read_passphrase(
      {kNewPassphraseVariable, options.value("new-passphrase-file"), "new device passphrase", true});
  if (!replacement.ok()) return report_failure(options, replacement.error());
  if (auto changed = unlocked->device.change_passphrase(passphrase_text(unlocked->passphrase),
                                                        passphrase_text(*replacement));
      !changed.ok()) {
    return report_failure(options, changed.error());
  }
  if (options.json) {
    print_json({{"changed", true}});
  } else {
    std::cout << "passphrase changed; the old one no longer unlocks this device\n";
  }
  return kExitOk;
}

int run_storage_key_rotate(const Options& options) {
  auto unlocked = unlock_device(options);
  if (!unlocked.ok()) return report_failure(options, unlocked.error());
  if (!options.json) std::cerr << "casefile-device: re-keying the replica (every page is rewritten)...\n";
  if (auto rotated = unlocked->device.rotate_storage_key(passphrase_text(unlocked->passphrase));
      !rotated.ok()) {
    return report_failure(options, rotated.error());
  }
  if (options.json) {
    print_json({{"rotated", true}});
  } else {
    std::cout << "storage key rotated: the replica is encrypted under a fresh key\n";
  }
  return kExitOk;
}

}  // namespace casefile::device_tool
