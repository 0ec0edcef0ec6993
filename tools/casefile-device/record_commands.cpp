#include "tools/casefile-device/record_commands.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <iostream>

#include "schema/calendar_date.hpp"
#include "tools/casefile-device/field_values.hpp"
#include "tools/casefile-device/key_commands.hpp"
#include "tools/casefile-device/output.hpp"

namespace casefile::device_tool {
namespace {

namespace json = boost::json;

// --repeat's ceiling: enough for the 10,000-change offline test and benchmarks.
constexpr std::int64_t kMaximumRepeat = 1'000'000;
// Human output lists written record ids up to this many, then only counts them.
constexpr std::size_t kRecordsListed = 20;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string today_utc() {
  const std::chrono::year_month_day today{
      std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now())};
  return schema::format_calendar_date({static_cast<int>(today.year()),
                                       static_cast<int>(unsigned(today.month())),
                                       static_cast<int>(unsigned(today.day()))});
}

template <typename Id>
Result<Id> id_option(const Options& options, std::string_view name) {
  const auto text = options.value(name);
  if (!text) return make_error("usage", "--" + std::string(name) + " is required");
  auto id = sync::parse_id<Id>(*text);
  if (!id) return make_error("usage", "--" + std::string(name) + " must be an id (8-4-4-4-12 hex)");
  return *id;
}

Result<sync::RecordKey> record_option(const Options& options, std::string_view collection) {
  auto case_id = id_option<sync::CaseId>(options, "case");
  if (!case_id.ok()) return std::move(case_id).error();
  auto record_id = id_option<sync::RecordId>(options, "record");
  if (!record_id.ok()) return std::move(record_id).error();
  return sync::RecordKey{*case_id, std::string(collection), *record_id};
}

// The collection of record R in case C, for commands that name a record
// without its collection (amend).
Result<sync::RecordKey> find_record(device::FieldDevice& device, const sync::CaseId& case_id,
                                    const sync::RecordId& record_id) {
  auto keys = device.list_records(case_id);
  if (!keys.ok()) return std::move(keys).error();
  for (const sync::RecordKey& key : *keys) {
    if (key.record_id == record_id) return key;
  }
  return make_error("record_unknown",
                    "case " + sync::to_text(case_id) + " has no record " + sync::to_text(record_id));
}

int print_one_record(const Options& options, const sync::RecordKey& key, std::string_view done) {
  if (options.json) {
    print_json({{"record", record_key_json(key)}});
  } else {
    std::cout << done << " " << record_key_text(key) << "\n";
  }
  return kExitOk;
}

// Writes `fields` as `repeat` new records of `collection` in the case of --case.
int add_records(const Options& options, std::string_view collection, device::PlainFields fields) {
  auto case_id = id_option<sync::CaseId>(options, "case");
  if (!case_id.ok()) return report_failure(options, case_id.error());
  auto repeat = integer_option(options, "repeat", 1, 1, kMaximumRepeat);
  if (!repeat.ok()) return report_failure(options, repeat.error());
  auto unlocked = unlock_device(options);
  if (!unlocked.ok()) return report_failure(options, unlocked.error());
  std::vector<sync::RecordKey> written;
  written.reserve(static_cast<std::size_t>(*repeat));
  for (std::int64_t i = 0; i < *repeat; ++i) {
    auto key = unlocked->device.write(*case_id, collection, std::nullopt, fields, now_ms());
    if (!key.ok()) {
      // Earlier records are written and stay: say how many, so a script can tell.
      Error error = std::move(key).error();
      if (!written.empty())
        error.message += " (after " + std::to_string(written.size()) + " records were written)";
      return report_failure(options, error);
    }
    written.push_back(std::move(*key));
  }
  if (options.json) {
    json::array records;
    for (const auto& key : written) records.emplace_back(record_key_json(key));
    print_json({{"records", std::move(records)}});
    return kExitOk;
  }
  std::cout << "added " << written.size() << " " << collection << " record(s) to case "
            << sync::to_text(*case_id) << "\n";
  if (written.size() <= kRecordsListed) {
    for (const auto& key : written) std::cout << "  " << sync::to_text(key.record_id) << "\n";
  }
  return kExitOk;
}

int edit_record(const Options& options, std::string_view collection) {
  auto key = record_option(options, collection);
  if (!key.ok()) return report_failure(options, key.error());
  auto fields = typed_fields(collection, options.assignments, options.cleared);
  if (!fields.ok()) return report_failure(options, fields.error());
  auto unlocked = unlock_device(options);
  if (!unlocked.ok()) return report_failure(options, unlocked.error());
  auto written = unlocked->device.write(key->case_id, collection, key->record_id, *fields, now_ms());
  if (!written.ok()) return report_failure(options, written.error());
  return print_one_record(options, *written, "edited");
}

int run_case_new(const Options& options) {
  auto fields = typed_fields("cases", options.assignments, {});
  if (!fields.ok()) return report_failure(options, fields.error());
  auto unlocked = unlock_device(options);
  if (!unlocked.ok()) return report_failure(options, unlocked.error());
  auto case_id = unlocked->device.create_case(*fields, now_ms());
  if (!case_id.ok()) return report_failure(options, case_id.error());
  // The case's own record has the case id as its record id.
  const sync::RecordKey key{*case_id, "cases", sync::RecordId{case_id->bytes}};
  if (options.json) {
    print_json({{"case_id", sync::to_text(*case_id)}, {"record", record_key_json(key)}});
  } else {
    std::cout << "created case " << sync::to_text(*case_id) << "\n";
  }
  return kExitOk;
}

int run_record_add(const Options& options) {
  const std::string collection = *options.value("collection");
  auto fields = typed_fields(collection, options.assignments, {});
  if (!fields.ok()) return report_failure(options, fields.error());
  return add_records(options, collection, std::move(*fields));
}

// An interview belongs to the case it is added to, and starts as a draft,
// unless --set says otherwise.
int run_interview_add(const Options& options) {
  auto fields = typed_fields("interviews", options.assignments, {});
  if (!fields.ok()) return report_failure(options, fields.error());
  fields->emplace("case_record", device::PlainValue(*options.value("case")));
  fields->emplace("status", device::PlainValue(std::string("draft")));
  return add_records(options, "interviews", std::move(*fields));
}

int run_note_add(const Options& options) {
  auto fields = typed_fields("notes", options.assignments, {});
  if (!fields.ok()) return report_failure(options, fields.error());
  fields->emplace("created_on", device::PlainValue(today_utc()));
  return add_records(options, "notes", std::move(*fields));
}

int run_interview_finalize(const Options& options) {
  auto key = record_option(options, "interviews");
  if (!key.ok()) return report_failure(options, key.error());
  auto unlocked = unlock_device(options);
  if (!unlocked.ok()) return report_failure(options, unlocked.error());
  if (auto finalized = unlocked->device.finalize(*key, now_ms()); !finalized.ok()) {
    return report_failure(options, finalized.error());
  }
  return print_one_record(options, *key, "finalized");
}

int run_amend(const Options& options) {
  auto case_id = id_option<sync::CaseId>(options, "case");
  if (!case_id.ok()) return report_failure(options, case_id.error());
  auto record_id = id_option<sync::RecordId>(options, "record");
  if (!record_id.ok()) return report_failure(options, record_id.error());
  auto fields = typed_fields("amendments", options.assignments, {});
  if (!fields.ok()) return report_failure(options, fields.error());
  auto unlocked = unlock_device(options);
  if (!unlocked.ok()) return report_failure(options, unlocked.error());
  auto target = find_record(unlocked->device, *case_id, *record_id);
  if (!target.ok()) return report_failure(options, target.error());
  auto amendment = unlocked->device.amend(*target, *fields, now_ms());
  if (!amendment.ok()) return report_failure(options, amendment.error());
  return print_one_record(options, *amendment, "amended " + record_key_text(*target) + " with");
}

int run_show(const Options& options) {
  std::optional<sync::CaseId> case_id;
  if (options.value("case")) {
    auto parsed = id_option<sync::CaseId>(options, "case");
    if (!parsed.ok()) return report_failure(options, parsed.error());
    case_id = *parsed;
  }
  std::optional<sync::RecordId> record_id;
  if (options.value("record")) {
    auto parsed = id_option<sync::RecordId>(options, "record");
    if (!parsed.ok()) return report_failure(options, parsed.error());
    record_id = *parsed;
  }
  const auto collection = options.value("collection");
  auto unlocked = unlock_device(options);
  if (!unlocked.ok()) return report_failure(options, unlocked.error());
  auto keys = unlocked->device.list_records(case_id);
  if (!keys.ok()) return report_failure(options, keys.error());
  json::array records;
  std::size_t shown = 0;
  for (const sync::RecordKey& key : *keys) {
    if ((collection && key.collection != *collection) || (record_id && key.record_id != *record_id)) continue;
    auto record = unlocked->device.read(key);
    if (!record.ok()) return report_failure(options, record.error());
    ++shown;
    if (options.json) {
      records.emplace_back(record_read_json(*record));
    } else {
      print_record_text(std::cout, *record);
    }
  }
  if (options.json) {
    print_json({{"records", std::move(records)}});
  } else if (shown == 0) {
    std::cout << "no records\n";
  }
  return kExitOk;
}

int run_conflicts(const Options& options) {
  auto unlocked = unlock_device(options);
  if (!unlocked.ok()) return report_failure(options, unlocked.error());
  auto records = unlocked->device.conflicts();
  if (!records.ok()) return report_failure(options, records.error());
  if (options.json) {
    print_json({{"conflicts", conflicts_json(*records)}});
  } else {
    print_conflicts_text(std::cout, *records);
  }
  return kExitOk;
}

int run_resolve(const Options& options) {
  const std::string collection = *options.value("collection");
  auto key = record_option(options, collection);
  if (!key.ok()) return report_failure(options, key.error());
  const std::string field = *options.value("field");
  auto declared = find_declared_field(collection, field);
  if (!declared.ok()) return report_failure(options, declared.error());
  auto value = typed_value(**declared, *options.value("value"));
  if (!value.ok()) return report_failure(options, value.error());
  auto unlocked = unlock_device(options);
  if (!unlocked.ok()) return report_failure(options, unlocked.error());
  if (auto resolved = unlocked->device.resolve(*key, field, *value, now_ms()); !resolved.ok()) {
    return report_failure(options, resolved.error());
  }
  return print_one_record(options, *key, "resolved field " + field + " of");
}

}  // namespace

bool is_record_command(std::string_view command) {
  constexpr std::array<std::string_view, 11> kCommands = {
      "case new", "record add", "record edit", "interview add", "interview edit", "interview finalize",
      "amend",    "note add",   "show",        "conflicts",     "resolve"};
  return std::find(kCommands.begin(), kCommands.end(), command) != kCommands.end();
}

int run_record_command(const Options& options) {
  const std::string& command = options.command;
  if (command == "case new") return run_case_new(options);
  if (command == "record add") return run_record_add(options);
  if (command == "record edit") return edit_record(options, *options.value("collection"));
  if (command == "interview add") return run_interview_add(options);
  if (command == "interview edit") return edit_record(options, "interviews");
  if (command == "interview finalize") return run_interview_finalize(options);
  if (command == "amend") return run_amend(options);
  if (command == "note add") return run_note_add(options);
  if (command == "show") return run_show(options);
  if (command == "conflicts") return run_conflicts(options);
  return run_resolve(options);
}

}  // namespace casefile::device_tool
