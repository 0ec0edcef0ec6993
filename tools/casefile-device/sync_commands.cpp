#include "tools/casefile-device/sync_commands.hpp"

#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <thread>

#include "device/enrolment.hpp"
#include "device/sync_client.hpp"
#include "tools/casefile-device/key_commands.hpp"
#include "tools/casefile-device/output.hpp"
#include "tools/casefile-device/progress_bar.hpp"

namespace casefile::device_tool {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

// A payload is about 200 bytes; a file far larger is not one.
constexpr std::size_t kMaximumPayloadBytes = 64 * 1024;
// How often enrol --wait asks whether the device is certified.
constexpr auto kCertificationPollInterval = std::chrono::seconds(1);
// --watch and --wait ceilings: a day.
constexpr std::int64_t kMaximumWaitSeconds = 86400;

// PAYLOAD as given, or the contents of FILE for "@FILE".
Result<std::string> payload_text(const std::string& argument) {
  if (argument.empty() || argument[0] != '@') return argument;
  const std::string path = argument.substr(1);
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("io_error", "cannot read payload file " + path);
  std::string text;
  text.resize(kMaximumPayloadBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return make_error("io_error", "cannot read payload file " + path);
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaximumPayloadBytes) {
    return make_error("enrolment_payload_invalid",
                      "payload file " + path + " is larger than a payload can be");
  }
  return text;
}

void print_enrolment(const Options& options, const device::FieldDevice& field_device) {
  const auto& profile = field_device.profile();
  const std::string device_id = sync::to_text(profile.device_id);
  const std::string_view state = device::enrolment_state_name(profile.state);
  if (options.json) {
    print_json({{"device_id", device_id}, {"state", state}});
  } else if (profile.state == device::EnrolmentState::certified) {
    std::cout << "device " << device_id << " is certified: it can sync\n";
  } else {
    std::cout << "device " << device_id << " is enrolled and waits to be certified; an administrator runs\n"
              << "  casefile-admin certify --device " << device_id << "\n";
  }
}

// Polls until certified or `seconds` have passed. Transport failures are
// retried until then (the server may be restarting); the last one is
// reported if the time runs out without an answer.
int wait_for_certification(const Options& options, device::FieldDevice& field_device, std::int64_t seconds) {
  const auto deadline = Clock::now() + std::chrono::seconds(seconds);
  std::optional<Error> last_failure;
  while (true) {
    auto checked = device::check_certification(field_device);
    if (checked.ok()) {
      last_failure.reset();
      if (checked->wiped) {
        return report_failure(options, make_error("device_wiped",
                                                  "the device was revoked and obeyed the wipe "
                                                  "order: its keys and replica are destroyed"));
      }
      if (checked->state == device::EnrolmentState::certified) break;
    } else if (exit_code_for(checked.error().code) == kExitUnreachable) {
      last_failure = checked.error();
    } else {
      return report_failure(options, checked.error());
    }
    if (Clock::now() + kCertificationPollInterval > deadline) break;
    std::this_thread::sleep_for(kCertificationPollInterval);
  }
  if (last_failure) return report_failure(options, *last_failure);
  // Still pending prints the same object as certified, with exit 7.
  print_enrolment(options, field_device);
  return field_device.profile().state == device::EnrolmentState::certified ? kExitOk : kExitPending;
}

int run_enrol(const Options& options) {
  auto wait = integer_option(options, "wait", -1, 0, kMaximumWaitSeconds);
  if (!wait.ok()) return report_failure(options, wait.error());
  std::optional<std::string> payload;
  if (!options.positionals.empty()) {
    auto text = payload_text(options.positionals.front());
    if (!text.ok()) return report_failure(options, text.error());
    payload = std::move(*text);
  }
  auto unlocked = unlock_device(options);
  if (!unlocked.ok()) return report_failure(options, unlocked.error());
  if (payload) {
    if (auto enrolled = device::enrol(unlocked->device, *payload); !enrolled.ok()) {
      return report_failure(options, enrolled.error());
    }
  }
  if (*wait >= 0) return wait_for_certification(options, unlocked->device, *wait);
  print_enrolment(options, unlocked->device);
  return kExitOk;
}

json::object sync_report_json(const device::SyncReport& report) {
  json::array purged;
  for (const auto& case_id : report.purged_cases) purged.emplace_back(sync::to_text(case_id));
  const device::AttachmentUploadReport& attachments = report.attachments;
  return {{"pushed", report.pushed},
          {"accepted", report.accepted},
          {"duplicate", report.duplicate},
          {"quarantined", report.refused},
          {"pulled", report.pulled},
          {"purged_cases", std::move(purged)},
          {"wiped", report.wiped},
          {"healed", report.healed},
          {"relayed", report.relayed},
          {"relayed_accepted", report.relayed_accepted},
          {"relayed_refused", report.relayed_refused},
          {"attachments", json::object{{"uploaded", attachments.uploaded},
                                       {"failed", attachments.failed},
                                       {"quarantined", attachments.quarantined},
                                       {"waiting", attachments.waiting},
                                       {"bytes_sent", attachments.bytes_sent}}}};
}

void print_sync_report_text(const device::SyncReport& report) {
  if (report.wiped) {
    std::cout
        << "this device was revoked: it obeyed the signed wipe order, and its keys and replica are gone\n";
    return;
  }
  std::cout << "pushed " << report.pushed << " change(s): " << report.accepted << " accepted, "
            << report.duplicate << " already held, " << report.refused << " refused (see `quarantine`)\n"
            << "pulled " << report.pulled << " change(s)\n"
            << "attachments: " << report.attachments.uploaded << " uploaded, " << report.attachments.failed
            << " failed (retried next sync, see `attachments`), " << report.attachments.quarantined
            << " refused, " << report.attachments.waiting << " waiting for their record\n";
  if (report.healed || report.relayed > 0) {
    std::cout << "the server was restored from an older backup: re-pushed " << report.relayed
              << " archived change(s), " << report.relayed_accepted << " it lacked, "
              << report.relayed_refused << " refused\n";
  }
  for (const auto& case_id : report.purged_cases) {
    std::cout << "case " << sync::to_text(case_id) << " purged: this user is no longer a member\n";
  }
}

int run_sync(const Options& options) {
  auto watch = integer_option(options, "watch", 0, 1, kMaximumWaitSeconds);
  if (!watch.ok()) return report_failure(options, watch.error());
  auto batch = integer_option(options, "batch", 500, 1, 1000);
  if (!batch.ok()) return report_failure(options, batch.error());
  auto unlocked = unlock_device(options);
  if (!unlocked.ok()) return report_failure(options, unlocked.error());
  device::SyncOptions sync_options;
  sync_options.push_batch_size = static_cast<std::size_t>(*batch);
  TerminalProgressBar bar(standard_error_is_terminal());
  sync_options.attachment_progress = [&bar](const device::AttachmentProgress& step) {
    bar.show("upload " + sync::to_text(step.record_id).substr(0, 8), step.done, step.total);
  };
  auto client = device::SyncClient::create(unlocked->device, sync_options);
  if (!client.ok()) return report_failure(options, client.error());
  const device::SyncProgressCallback progress = [&bar](const device::SyncProgress& step) {
    bar.show(device::sync_phase_name(step.phase), step.done, step.total.value_or(0));
    return true;
  };
  auto report = options.value("watch") ? client->watch_for(std::chrono::seconds(*watch), progress)
                                       : client->sync_once(progress);
  bar.finish();
  if (!report.ok()) return report_failure(options, report.error());
  if (options.json) {
    print_json(sync_report_json(*report));
  } else {
    print_sync_report_text(*report);
  }
  return report->wiped ? kExitWiped : kExitOk;
}

int run_status(const Options& options) {
  auto unlocked = unlock_device(options);
  if (!unlocked.ok()) return report_failure(options, unlocked.error());
  auto status = unlocked->device.status();
  if (!status.ok()) return report_failure(options, status.error());
  if (options.json) {
    print_json(status_json(*status));
  } else {
    print_status_text(std::cout, *status);
  }
  return kExitOk;
}

int run_quarantine(const Options& options) {
  auto unlocked = unlock_device(options);
  if (!unlocked.ok()) return report_failure(options, unlocked.error());
  auto quarantined = unlocked->device.quarantine();
  if (!quarantined.ok()) return report_failure(options, quarantined.error());
  if (options.json) {
    json::array list;
    for (const auto& entry : *quarantined) list.emplace_back(quarantined_change_json(entry));
    print_json({{"quarantined", std::move(list)}});
  } else {
    print_quarantine_text(std::cout, *quarantined);
  }
  return kExitOk;
}

}  // namespace

int run_sync_command(const Options& options) {
  if (options.command == "enrol") return run_enrol(options);
  if (options.command == "sync") return run_sync(options);
  if (options.command == "status") return run_status(options);
  return run_quarantine(options);
}

}  // namespace casefile::device_tool
