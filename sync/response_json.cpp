#include "sync/response_json.hpp"

#include <boost/json/serialize.hpp>

#include "sync/change_json.hpp"
#include "sync/internal/assign_or_return.hpp"
#include "sync/internal/json_object_reader.hpp"

namespace casefile::sync {
namespace {

namespace json = boost::json;
using internal::JsonObjectReader;

constexpr std::uint64_t kMaxInteger = static_cast<std::uint64_t>(INT64_MAX);

std::string element_path(const JsonObjectReader& reader, std::string_view member, std::size_t index) {
  return reader.path_of(member) + "[" + std::to_string(index) + "]";
}

const char* verdict_name(VerdictKind kind) {
  switch (kind) {
    case VerdictKind::accepted:
      return "accepted";
    case VerdictKind::duplicate:
      return "duplicate";
    case VerdictKind::refused:
      return "refused";
  }
  return "refused";
}

json::value verdict_to_json(const Verdict& verdict) {
  json::object object{{"id", json::object{{"device", to_text(verdict.change.device)},
                                          {"sequence", static_cast<std::int64_t>(verdict.change.sequence)}}},
                      {"verdict", verdict_name(verdict.kind)}};
  if (verdict.kind == VerdictKind::refused) {
    object["code"] = verdict.reason.code;
    object["message"] = verdict.reason.message;
  } else {
    object["sequence"] = static_cast<std::int64_t>(verdict.sequence);
  }
  return object;
}

Result<Verdict> verdict_from_json(const json::value& value, const std::string& path) {
  CASEFILE_ASSIGN_OR_RETURN(
      reader, JsonObjectReader::open(value, path, {"id", "verdict", "sequence", "code", "message"}));
  Verdict verdict;
  CASEFILE_ASSIGN_OR_RETURN(id_json, reader.member("id"));
  CASEFILE_ASSIGN_OR_RETURN(id_reader,
                            JsonObjectReader::open(*id_json, reader.path_of("id"), {"device", "sequence"}));
  CASEFILE_ASSIGN_OR_RETURN(device_text, id_reader.string("device"));
  auto device = parse_id<DeviceId>(device_text);
  if (!device || to_text(*device) != device_text) {
    return internal::json_invalid_value(id_reader.path_of("device"), "must be a lower-case UUID");
  }
  CASEFILE_ASSIGN_OR_RETURN(device_sequence, id_reader.bounded("sequence", 1, kMaxInteger));
  verdict.change = ChangeId{*device, device_sequence};
  CASEFILE_ASSIGN_OR_RETURN(kind, reader.string("verdict"));
  if (kind == "refused") {
    if (reader.has("sequence"))
      return make_error("json_unknown_member", path + ": a refusal has no sequence");
    verdict.kind = VerdictKind::refused;
    CASEFILE_ASSIGN_OR_RETURN(code, reader.string("code"));
    CASEFILE_ASSIGN_OR_RETURN(message, reader.string("message"));
    verdict.reason = make_error(std::string(code), std::string(message));
    return verdict;
  }
  if (kind == "accepted") {
    verdict.kind = VerdictKind::accepted;
  } else if (kind == "duplicate") {
    verdict.kind = VerdictKind::duplicate;
  } else {
    return internal::json_invalid_value(reader.path_of("verdict"), "must be accepted, duplicate or refused");
  }
  if (reader.has("code") || reader.has("message")) {
    return make_error("json_unknown_member", path + ": only a refusal has a code and message");
  }
  CASEFILE_ASSIGN_OR_RETURN(sequence, reader.bounded("sequence", 1, kMaxInteger));
  verdict.sequence = sequence;
  return verdict;
}

}  // namespace

std::string encode_push_response(const PushResponse& response) {
  json::array verdicts;
  for (const Verdict& verdict : response.verdicts) verdicts.push_back(verdict_to_json(verdict));
  return json::serialize(
      json::object{{"server_time_millis", static_cast<std::int64_t>(response.server_time_millis)},
                   {"verdicts", std::move(verdicts)}});
}

Result<PushResponse> decode_push_response(std::string_view body, const JsonLimits& limits) {
  CASEFILE_ASSIGN_OR_RETURN(document, parse_strict_json(body, limits));
  CASEFILE_ASSIGN_OR_RETURN(reader,
                            JsonObjectReader::open(document, "$", {"server_time_millis", "verdicts"}));
  PushResponse response;
  CASEFILE_ASSIGN_OR_RETURN(server_time, reader.bounded("server_time_millis", 0, Hlc::kMaxWallMillis));
  response.server_time_millis = server_time;
  CASEFILE_ASSIGN_OR_RETURN(verdicts, reader.array("verdicts"));
  for (std::size_t i = 0; i < verdicts->size(); ++i) {
    CASEFILE_ASSIGN_OR_RETURN(verdict,
                              verdict_from_json((*verdicts)[i], element_path(reader, "verdicts", i)));
    response.verdicts.push_back(std::move(verdict));
  }
  return response;
}

std::string encode_pull_page(const PullPage& page) {
  json::array batches;
  for (const BatchHeader& header : page.batches) batches.push_back(batch_header_to_json(header));
  json::array entries;
  for (const LogEntry& entry : page.entries) {
    entries.push_back(json::object{{"sequence", static_cast<std::int64_t>(entry.sequence)},
                                   {"change", change_to_json(entry.change)}});
  }
  return json::serialize(
      json::object{{"server_time_millis", static_cast<std::int64_t>(page.server_time_millis)},
                   {"cursor", page.next_cursor},
                   {"has_more", page.has_more},
                   {"batches", std::move(batches)},
                   {"entries", std::move(entries)}});
}

Result<PullPage> decode_pull_page(std::string_view body, const JsonLimits& limits) {
  CASEFILE_ASSIGN_OR_RETURN(document, parse_strict_json(body, limits));
  CASEFILE_ASSIGN_OR_RETURN(
      reader, JsonObjectReader::open(document, "$",
                                     {"server_time_millis", "cursor", "has_more", "batches", "entries"}));
  PullPage page;
  CASEFILE_ASSIGN_OR_RETURN(server_time, reader.bounded("server_time_millis", 0, Hlc::kMaxWallMillis));
  CASEFILE_ASSIGN_OR_RETURN(cursor, reader.string("cursor"));
  CASEFILE_ASSIGN_OR_RETURN(has_more, reader.boolean("has_more"));
  page.server_time_millis = server_time;
  page.next_cursor = std::string(cursor);
  page.has_more = has_more;
  CASEFILE_ASSIGN_OR_RETURN(batches, reader.array("batches"));
  for (std::size_t i = 0; i < batches->size(); ++i) {
    CASEFILE_ASSIGN_OR_RETURN(header,
                              batch_header_from_json((*batches)[i], element_path(reader, "batches", i)));
    page.batches.push_back(header);
  }
  CASEFILE_ASSIGN_OR_RETURN(entries, reader.array("entries"));
  for (std::size_t i = 0; i < entries->size(); ++i) {
    const std::string path = element_path(reader, "entries", i);
    CASEFILE_ASSIGN_OR_RETURN(entry_reader,
                              JsonObjectReader::open((*entries)[i], path, {"sequence", "change"}));
    CASEFILE_ASSIGN_OR_RETURN(sequence, entry_reader.bounded("sequence", 1, kMaxInteger));
    CASEFILE_ASSIGN_OR_RETURN(change_json, entry_reader.member("change"));
    CASEFILE_ASSIGN_OR_RETURN(change, change_from_json(*change_json, entry_reader.path_of("change")));
    if (!page.entries.empty() && page.entries.back().sequence >= sequence) {
      return internal::json_invalid_value(entry_reader.path_of("sequence"), "entries must ascend");
    }
    page.entries.push_back(LogEntry{sequence, std::move(change)});
  }
  return page;
}

}  // namespace casefile::sync
