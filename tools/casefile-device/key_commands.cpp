#include "tools/casefile-device/key_commands.hpp"

#include <openssl/crypto.h>

#include <chrono>
#include <cstdlib>
#include <iostream>

#include "tools/casefile-device/output.hpp"
#include "tools/casefile-device/passphrase_input.hpp"
#include "tools/casefile-device/progress_bar.hpp"

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

int run_reencrypt(const Options& options) {
  const auto case_text = options.value("case");
  const auto case_id = case_text ? sync::parse_id<sync::CaseId>(*case_text) : std::nullopt;
  if (!case_id) return report_failure(options, make_error("usage", "--case must be a case id"));
  auto batch = integer_option(options, "batch", 500, 1, 100'000);
  if (!batch.ok()) return report_failure(options, batch.error());
  auto unlocked = unlock_device(options);
  if (!unlocked.ok()) return report_failure(options, unlocked.error());
  TerminalProgressBar bar(standard_error_is_terminal());
  const device::ReencryptProgressCallback progress = [&bar](const device::ReencryptProgress& step) {
    bar.show("reencrypt", step.records_done, step.records_total);
    return true;
  };
  const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  auto report = unlocked->device.reencrypt_case(*case_id, progress, now_ms, static_cast<std::size_t>(*batch));
  bar.finish();
  if (!report.ok()) return report_failure(options, report.error());
  if (options.json) {
    print_json({{"case", sync::to_text(*case_id)},
                {"epoch", report->epoch},
                {"records", report->records},
                {"records_rewritten", report->records_rewritten},
                {"values_rewritten", report->values_rewritten},
                {"values_current", report->values_current},
                {"fields_in_conflict", report->fields_in_conflict},
                {"values_unreadable", report->values_unreadable},
                {"records_immutable", report->records_immutable}});
  } else {
    std::cout << "re-sealed " << report->values_rewritten << " values in " << report->records_rewritten
              << " records under epoch " << report->epoch << " (" << report->values_current
              << " already there); run `sync` to send them\n";
    if (report->fields_in_conflict > 0) {
      std::cout << "skipped " << report->fields_in_conflict
                << " fields in conflict: resolve them, then run reencrypt again\n";
    }
    if (report->values_unreadable > 0) {
      std::cout << "skipped " << report->values_unreadable << " values this device cannot open\n";
    }
    if (report->records_immutable > 0) {
      std::cout << "left " << report->records_immutable
                << " finalized records under their epoch (they cannot change)\n";
    }
  }
  return kExitOk;
}

}  // namespace casefile::device_tool
