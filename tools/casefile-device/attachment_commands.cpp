#include "tools/casefile-device/attachment_commands.hpp"

#include <chrono>
#include <iostream>

#include "device/attachments.hpp"
#include "device/sync_client.hpp"
#include "tools/casefile-device/key_commands.hpp"
#include "tools/casefile-device/output.hpp"
#include "tools/casefile-device/progress_bar.hpp"

namespace casefile::device_tool {
namespace {

namespace json = boost::json;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

template <typename Id>
Result<Id> id_value(const Options& options, std::string_view name) {
  const auto text = options.value(name);
  auto id = text ? sync::parse_id<Id>(*text) : std::nullopt;
  if (!id) return make_error("usage", "--" + std::string(name) + " must be an id (8-4-4-4-12 hex)");
  return *id;
}

json::object attachment_json(const device::AttachmentStatus& attachment) {
  json::object object{{"case", sync::to_text(attachment.record.case_id)},
                      {"record", sync::to_text(attachment.record.record_id)},
                      {"state", device::attachment_state_name(attachment.state)},
                      {"uploaded_bytes", attachment.uploaded_bytes},
                      {"size_bytes", attachment.size_bytes},
                      {"attempts", attachment.attempts}};
  if (!attachment.last_error_code.empty()) {
    object["last_error"] =
        json::object{{"code", attachment.last_error_code}, {"message", attachment.last_error_message}};
  }
  return object;
}

int run_attach(const Options& options) {
  auto case_id = id_value<sync::CaseId>(options, "case");
  if (!case_id.ok()) return report_failure(options, case_id.error());
  auto duration = integer_option(options, "duration", -1, 0, 86400);
  if (!duration.ok()) return report_failure(options, duration.error());
  auto unlocked = unlock_device(options);
  if (!unlocked.ok()) return report_failure(options, unlocked.error());
  device::AttachmentInput input{*case_id,
                                *options.value("file"),
                                *options.value("category"),
                                options.value("name"),
                                options.value("description"),
                                std::nullopt};
  if (*duration >= 0) input.duration_seconds = *duration;
  auto added = device::add_attachment(unlocked->device, input, now_ms());
  if (!added.ok()) return report_failure(options, added.error());
  auto listed = device::list_attachments(unlocked->device, *case_id);
  if (!listed.ok()) return report_failure(options, listed.error());
  for (const device::AttachmentStatus& attachment : *listed) {
    if (attachment.record != *added) continue;
    if (options.json) {
      print_json(attachment_json(attachment));
    } else {
      std::cout << "attachment " << sync::to_text(added->record_id) << " added (" << attachment.size_bytes
                << " bytes encrypted); `sync` uploads it\n";
    }
  }
  return kExitOk;
}

int run_attachments(const Options& options) {
  std::optional<sync::CaseId> case_id;
  if (options.value("case")) {
    auto parsed = id_value<sync::CaseId>(options, "case");
    if (!parsed.ok()) return report_failure(options, parsed.error());
    case_id = *parsed;
  }
  auto unlocked = unlock_device(options);
  if (!unlocked.ok()) return report_failure(options, unlocked.error());
  auto listed = device::list_attachments(unlocked->device, case_id);
  if (!listed.ok()) return report_failure(options, listed.error());
  if (options.json) {
    json::array list;
    for (const auto& attachment : *listed) list.emplace_back(attachment_json(attachment));
    print_json({{"attachments", std::move(list)}});
    return kExitOk;
  }
  for (const auto& attachment : *listed) {
    std::cout << sync::to_text(attachment.record.record_id) << "  case "
              << sync::to_text(attachment.record.case_id) << "  "
              << device::attachment_state_name(attachment.state) << "  " << attachment.uploaded_bytes << "/"
              << attachment.size_bytes << " bytes";
    if (!attachment.last_error_code.empty()) {
      std::cout << "  after " << attachment.attempts << " failed attempt(s): " << attachment.last_error_code
                << " (" << attachment.last_error_message << ")";
    }
    std::cout << "\n";
  }
  return kExitOk;
}

// The attachments record R, in whichever case holds it.
Result<sync::RecordKey> find_attachment_record(device::FieldDevice& device, const sync::RecordId& record_id) {
  auto keys = device.list_records();
  if (!keys.ok()) return std::move(keys).error();
  for (const sync::RecordKey& key : *keys) {
    if (key.record_id == record_id && key.collection == device::kAttachmentsCollection) return key;
  }
  return make_error("record_unknown",
                    "no attachments record " + sync::to_text(record_id) + " on this device");
}

int run_fetch(const Options& options) {
  auto record_id = id_value<sync::RecordId>(options, "record");
  if (!record_id.ok()) return report_failure(options, record_id.error());
  auto unlocked = unlock_device(options);
  if (!unlocked.ok()) return report_failure(options, unlocked.error());
  auto record = find_attachment_record(unlocked->device, *record_id);
  if (!record.ok()) return report_failure(options, record.error());
  auto client = device::SyncClient::create(unlocked->device);
  if (!client.ok()) return report_failure(options, client.error());
  TerminalProgressBar bar(standard_error_is_terminal());
  const std::string output = *options.value("out");
  auto fetched = device::fetch_attachment(
      unlocked->device, [&client](const device::HttpsRequest& request) { return client->send(request); },
      *record, output,
      [&bar](const device::AttachmentProgress& step) { bar.show("fetch", step.done, step.total); });
  bar.finish();
  if (!fetched.ok()) return report_failure(options, fetched.error());
  if (options.json) {
    print_json({{"record", sync::to_text(*record_id)}, {"out", output}});
  } else {
    std::cout << "attachment " << sync::to_text(*record_id) << " decrypted to " << output << "\n";
  }
  return kExitOk;
}

}  // namespace

bool is_attachment_command(std::string_view command) {
  return command == "attach" || command == "attachments" || command == "fetch";
}

int run_attachment_command(const Options& options) {
  if (options.command == "attach") return run_attach(options);
  if (options.command == "attachments") return run_attachments(options);
  return run_fetch(options);
}

}  // namespace casefile::device_tool
