#include "tools/casefile-device/output.hpp"

#include <ctime>
#include <iomanip>
#include <iostream>

namespace casefile::device_tool {
namespace {

namespace json = boost::json;

json::object sibling_json(const device::ValueRead& sibling) {
  return {{"value", plain_value_json(sibling.value)},
          {"author", sync::to_text(sibling.author)},
          {"sequence", sibling.author_sequence},
          {"time_ms", sibling.hlc_wall_millis}};
}

json::array siblings_json(const device::FieldRead& field) {
  json::array siblings;
  for (const auto& sibling : field.siblings) siblings.emplace_back(sibling_json(sibling));
  return siblings;
}

std::string value_read_text(const device::ValueRead& value) {
  if (!value.unreadable.empty()) return "(unreadable: " + value.unreadable + ")";
  return plain_value_text(value.value);
}

std::string sibling_text(const device::ValueRead& sibling) {
  return value_read_text(sibling) + " by " + sync::to_text(sibling.author) + " #" +
         std::to_string(sibling.author_sequence) + " at " +
         utc_time_text(static_cast<std::int64_t>(sibling.hlc_wall_millis));
}

}  // namespace

json::object record_key_json(const sync::RecordKey& key) {
  return {{"case", sync::to_text(key.case_id)},
          {"collection", key.collection},
          {"record_id", sync::to_text(key.record_id)}};
}

json::value plain_value_json(const device::PlainValue& value) {
  return std::visit(
      [](const auto& held) -> json::value {
        using Held = std::decay_t<decltype(held)>;
        if constexpr (std::is_same_v<Held, std::monostate>) {
          return nullptr;
        } else {
          return json::value(held);
        }
      },
      value);
}

json::object record_read_json(const device::RecordRead& record) {
  json::object object = record_key_json(record.key);
  object["deleted"] = record.deleted;
  object["edit_delete_conflict"] = record.edit_delete_conflict;
  json::object fields;
  for (const device::FieldRead& field : record.fields) {
    json::object entry{{"value", plain_value_json(field.winner.value)}, {"sealed", field.winner.sealed}};
    if (!field.winner.unreadable.empty()) entry["unreadable"] = field.winner.unreadable;
    if (field.winner.epoch != 0) entry["epoch"] = field.winner.epoch;
    entry["conflict"] = field.in_conflict();
    if (field.in_conflict()) entry["siblings"] = siblings_json(field);
    fields[field.name] = std::move(entry);
  }
  object["fields"] = std::move(fields);
  return object;
}

json::array conflicts_json(const std::vector<device::RecordRead>& records) {
  json::array conflicts;
  for (const device::RecordRead& record : records) {
    for (const device::FieldRead& field : record.fields) {
      if (!field.in_conflict()) continue;
      json::object entry = record_key_json(record.key);
      entry["field"] = field.name;
      entry["siblings"] = siblings_json(field);
      conflicts.emplace_back(std::move(entry));
    }
  }
  return conflicts;
}

json::object status_json(const device::DeviceStatus& status) {
  return {{"device_id", sync::to_text(status.device_id)},
          {"state", device::enrolment_state_name(status.state)},
          {"outbox_depth", status.outbox_depth},
          {"quarantined", status.quarantined},
          {"records", status.records},
          {"fields_in_conflict", status.fields_in_conflict},
          {"last_sync_ms", status.last_sync_ms ? json::value(*status.last_sync_ms) : json::value(nullptr)}};
}

json::object quarantined_change_json(const sync::QuarantinedChange& quarantined) {
  json::object object = record_key_json(quarantined.change.record);
  object["id"] = json::object{{"device", sync::to_text(quarantined.change.id.device)},
                              {"sequence", quarantined.change.id.sequence}};
  object["code"] = quarantined.reason.code;
  object["message"] = quarantined.reason.message;
  return object;
}

std::string plain_value_text(const device::PlainValue& value) {
  return std::visit(
      [](const auto& held) -> std::string {
        using Held = std::decay_t<decltype(held)>;
        if constexpr (std::is_same_v<Held, std::monostate>) {
          return "(null)";
        } else if constexpr (std::is_same_v<Held, bool>) {
          return held ? "true" : "false";
        } else if constexpr (std::is_same_v<Held, std::int64_t>) {
          return std::to_string(held);
        } else {
          return held;
        }
      },
      value);
}

std::string record_key_text(const sync::RecordKey& key) {
  return key.collection + " " + sync::to_text(key.record_id) + " (case " + sync::to_text(key.case_id) + ")";
}

void print_record_text(std::ostream& out, const device::RecordRead& record) {
  out << record_key_text(record.key);
  if (record.deleted) out << " [deleted]";
  if (record.edit_delete_conflict) out << " [edited and deleted concurrently: needs a decision]";
  out << "\n";
  for (const device::FieldRead& field : record.fields) {
    out << "  " << std::left << std::setw(24) << field.name << value_read_text(field.winner);
    if (field.winner.sealed) out << "  (sealed)";
    out << "\n";
    if (!field.in_conflict()) continue;
    out << "  " << std::setw(24) << ""
        << "CONFLICT, " << field.siblings.size() << " values:\n";
    for (const auto& sibling : field.siblings)
      out << "  " << std::setw(26) << "" << sibling_text(sibling) << "\n";
  }
}

void print_conflicts_text(std::ostream& out, const std::vector<device::RecordRead>& records) {
  std::size_t count = 0;
  for (const device::RecordRead& record : records) {
    for (const device::FieldRead& field : record.fields) {
      if (!field.in_conflict()) continue;
      ++count;
      out << record_key_text(record.key) << " field " << field.name << ":\n";
      for (const auto& sibling : field.siblings) out << "    " << sibling_text(sibling) << "\n";
    }
  }
  if (count == 0) out << "no fields in conflict\n";
}

void print_status_text(std::ostream& out, const device::DeviceStatus& status) {
  out << "device:      " << sync::to_text(status.device_id) << "\n"
      << "enrolment:   " << device::enrolment_state_name(status.state) << "\n"
      << "outbox:      " << status.outbox_depth << " change(s) waiting to be pushed\n"
      << "quarantine:  " << status.quarantined << " change(s) refused by the server\n"
      << "records:     " << status.records << "\n"
      << "conflicts:   " << status.fields_in_conflict << " field(s)\n"
      << "last sync:   " << (status.last_sync_ms ? utc_time_text(*status.last_sync_ms) : std::string("never"))
      << "\n";
}

void print_quarantine_text(std::ostream& out, const std::vector<sync::QuarantinedChange>& quarantined) {
  if (quarantined.empty()) out << "no refused changes\n";
  for (const auto& entry : quarantined) {
    out << "change " << sync::to_text(entry.change.id.device) << " #" << entry.change.id.sequence << " to "
        << record_key_text(entry.change.record) << "\n    refused: " << entry.reason.message << " ("
        << entry.reason.code << ")\n";
  }
}

std::string utc_time_text(std::int64_t milliseconds) {
  const auto seconds = static_cast<std::time_t>(milliseconds / 1000);
  std::tm parts{};
  ::gmtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

void print_json(const json::object& object) { std::cout << json::serialize(object) << "\n" << std::flush; }

int report_failure(const Options& options, const Error& error) {
  if (options.json) {
    print_json({{"error", error.code}, {"message", error.message}});
  } else if (error.code == "usage") {
    usage_error(error.message);
  } else {
    std::cerr << "casefile-device: " << error.message << " (" << error.code << ")\n";
  }
  return exit_code_for(error.code);
}

}  // namespace casefile::device_tool
