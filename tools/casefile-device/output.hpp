// What casefile-device prints: the JSON objects of docs/casefile-device.md
// (exactly one on stdout with --json) and the human text otherwise.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "device/field_device.hpp"
#include "sync/store.hpp"
#include "tools/casefile-device/command_line.hpp"

namespace casefile::device_tool {

// {"case", "collection", "record_id"}
boost::json::object record_key_json(const sync::RecordKey& key);
// A JSON scalar, or null.
boost::json::value plain_value_json(const device::PlainValue& value);
// {"case", "collection", "record_id", "deleted", "edit_delete_conflict", "fields": {name: {"value",
// "sealed", "unreadable" (only when unreadable), "conflict", "siblings" (only when in conflict)}}}
boost::json::object record_read_json(const device::RecordRead& record);
// One entry a field in conflict: {"case", "collection", "record_id", "field", "siblings"}.
boost::json::array conflicts_json(const std::vector<device::RecordRead>& records);
// {"device_id", "state", "outbox_depth", "quarantined", "records", "fields_in_conflict", "last_sync_ms"}
boost::json::object status_json(const device::DeviceStatus& status);
// {"id": {"device", "sequence"}, "code", "message", "case", "collection", "record_id"}
boost::json::object quarantined_change_json(const sync::QuarantinedChange& quarantined);

// Human text of the same.
std::string plain_value_text(const device::PlainValue& value);
std::string record_key_text(const sync::RecordKey& key);
void print_record_text(std::ostream& out, const device::RecordRead& record);
void print_conflicts_text(std::ostream& out, const std::vector<device::RecordRead>& records);
void print_status_text(std::ostream& out, const device::DeviceStatus& status);
void print_quarantine_text(std::ostream& out, const std::vector<sync::QuarantinedChange>& quarantined);
// "2026-11-27T08:30:00Z"
std::string utc_time_text(std::int64_t milliseconds);

// The single line of stdout in --json mode.
void print_json(const boost::json::object& object);

// Reports a failure: {"error": code, "message": text} on stdout with --json,
// "casefile-device: message (code)" on stderr otherwise (with the usage text
// for "usage"). Returns exit_code_for(error.code).
int report_failure(const Options& options, const Error& error);

}  // namespace casefile::device_tool
