#include "server/sync_api/key_wrap_endpoints.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <charconv>
#include <optional>
#include <set>

#include "server/access/case_key_recipients.hpp"
#include "sync/device_authentication.hpp"
#include "sync/strict_json.hpp"

namespace casefile::server {
namespace {

Response not_member() {
  return error_response(403, "case_not_member", "the caller's user is not a member of this case");
}

Result<sync::CaseId> case_from_path(const Request& request) {
  const auto found = request.path_parameters.find("case_id");
  auto case_id =
      found == request.path_parameters.end() ? std::nullopt : sync::parse_id<sync::CaseId>(found->second);
  if (!case_id || sync::to_text(*case_id) != found->second) {
    return make_error("invalid_case_id", "the case id must be a lower-case RFC 4122 UUID");
  }
  return *case_id;
}

Result<std::uint32_t> epoch_from_path(const Request& request, std::uint32_t max_epoch) {
  const auto found = request.path_parameters.find("epoch");
  const std::string text = found == request.path_parameters.end() ? std::string() : found->second;
  std::uint32_t epoch = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), epoch);
  if (text.empty() || text.front() == '0' || error != std::errc() || end != text.data() + text.size() ||
      epoch > max_epoch) {
    return make_error("invalid_epoch", "the epoch must be an integer from 1 to " + std::to_string(max_epoch));
  }
  return epoch;
}

Error invalid_body(std::string message) { return make_error("invalid_key_upload", std::move(message)); }

// [{"device": uuid, "wrap": b64u}, ...]: 1 to max_wraps, one a device,
// returned in ascending device order.
Result<std::vector<KeyWrap>> decode_wraps(const boost::json::value& value, const KeyWrapLimits& limits) {
  const auto* wraps = value.if_array();
  if (wraps == nullptr || wraps->empty() || wraps->size() > limits.max_wraps) {
    return invalid_body("\"wraps\" must be an array of 1 to " + std::to_string(limits.max_wraps) + " wraps");
  }
  std::vector<KeyWrap> decoded;
  std::set<sync::DeviceId> recipients;
  for (const auto& item : *wraps) {
    const auto* wrap_object = item.if_object();
    if (wrap_object == nullptr || wrap_object->size() != 2 || !wrap_object->contains("device") ||
        !wrap_object->contains("wrap")) {
      return invalid_body("each wrap must be an object with exactly \"device\" and \"wrap\"");
    }
    const auto* device_text = wrap_object->at("device").if_string();
    auto device = device_text ? sync::parse_id<sync::DeviceId>(*device_text) : std::nullopt;
    if (!device || sync::to_text(*device) != std::string_view(*device_text)) {
      return invalid_body("a wrap's \"device\" must be a lower-case RFC 4122 UUID");
    }
    const auto* wrap_text = wrap_object->at("wrap").if_string();
    auto wrap = wrap_text ? sync::bytes_from_wire_text(*wrap_text) : std::nullopt;
    if (!wrap || wrap->empty() || wrap->size() > limits.max_wrap_bytes) {
      return invalid_body("a wrap must be base64url of 1 to " + std::to_string(limits.max_wrap_bytes) +
                          " bytes");
    }
    if (!recipients.insert(*device).second) return invalid_body("a device has two wraps in one epoch");
    decoded.push_back(KeyWrap{*device, std::move(*wrap)});
  }
  std::sort(decoded.begin(), decoded.end(),
            [](const KeyWrap& a, const KeyWrap& b) { return a.recipient < b.recipient; });
  return decoded;
}

// {"manifest": b64u, "wraps": [{"device": uuid, "wrap": b64u}, ...]}, strictly.
Result<KeyEpoch> decode_upload(std::string_view body, const KeyWrapLimits& limits) {
  auto parsed = sync::parse_strict_json(body);
  if (!parsed.ok()) return std::move(parsed).error();
  const auto* object = parsed->if_object();
  if (object == nullptr || object->size() != 2 || !object->contains("manifest") ||
      !object->contains("wraps")) {
    return invalid_body("the body must be an object with exactly \"manifest\" and \"wraps\"");
  }
  KeyEpoch epoch;
  const auto* manifest_text = object->at("manifest").if_string();
  auto manifest = manifest_text ? sync::bytes_from_wire_text(*manifest_text) : std::nullopt;
  if (!manifest || manifest->empty() || manifest->size() > limits.max_manifest_bytes) {
    return invalid_body("\"manifest\" must be base64url of 1 to " +
                        std::to_string(limits.max_manifest_bytes) + " bytes");
  }
  epoch.manifest = std::move(*manifest);
  auto wraps = decode_wraps(object->at("wraps"), limits);
  if (!wraps.ok()) return std::move(wraps).error();
  epoch.wraps = std::move(*wraps);
  return epoch;
}

// {"wraps": [...]}, strictly.
Result<std::vector<KeyWrap>> decode_added_wraps(std::string_view body, const KeyWrapLimits& limits) {
  auto parsed = sync::parse_strict_json(body);
  if (!parsed.ok()) return std::move(parsed).error();
  const auto* object = parsed->if_object();
  if (object == nullptr || object->size() != 1 || !object->contains("wraps")) {
    return invalid_body("the body must be an object with exactly \"wraps\"");
  }
  return decode_wraps(object->at("wraps"), limits);
}

Response body_failure(const Error& error) {
  return error_response(error.code == "json_too_large" ? 413 : 400, error.code, error.message);
}

Response key_store_failure(const Error& error) {
  if (error.code == "epoch_not_monotonic" || error.code == "wrap_exists") {
    return error_response(409, error.code, error.message);
  }
  if (error.code == "epoch_unknown") return error_response(404, error.code, error.message);
  return error_response(503, error.code, error.message);
}

std::string device_actor(const sync::DeviceId& device) { return "device:" + sync::to_text(device); }

}  // namespace

CaseKeyRecipients control_store_case_key_recipients(ControlStore& store) {
  return [&store](const sync::CaseId& case_id) -> Result<std::vector<sync::DeviceId>> {
    auto devices = case_key_recipients(store, case_id);
    if (!devices.ok()) return std::move(devices).error();
    std::vector<sync::DeviceId> ids;
    for (const DeviceRecord& device : *devices) ids.push_back(device.id);
    return ids;
  };
}

Response KeyWrapEndpoints::put_epoch(const Request& request) {
  auto caller = authenticator_.authenticate(request);
  if (!caller.ok()) return authenticator_.refusal_response(request, caller.error());
  auto case_id = case_from_path(request);
  if (!case_id.ok()) return error_response(400, case_id.error().code, case_id.error().message);
  if (!caller->member_cases.contains(*case_id)) return not_member();
  auto epoch_number = epoch_from_path(request, limits_.max_epoch);
  if (!epoch_number.ok()) return error_response(400, epoch_number.error().code, epoch_number.error().message);
  auto epoch = decode_upload(request.body, limits_);
  if (!epoch.ok()) return body_failure(epoch.error());
  epoch->case_id = *case_id;
  epoch->epoch = *epoch_number;
  epoch->uploaded_by = caller->device;
  epoch->uploaded_at_ms = static_cast<std::int64_t>(clock_());

  auto stored = store_.put_epoch(*epoch);
  if (!stored.ok()) return key_store_failure(stored.error());
  if (*stored == KeyEpochStored::created && audit_) {
    boost::json::array recipients;
    for (const KeyWrap& wrap : epoch->wraps) recipients.emplace_back(sync::to_text(wrap.recipient));
    const Status audited =
        audit_(AuditEvent{epoch->uploaded_at_ms,
                          device_actor(caller->device),
                          "case_key_epoch_stored",
                          "case:" + sync::to_text(*case_id),
                          {{"epoch", epoch->epoch}, {"recipients", std::move(recipients)}}});
    if (!audited.ok()) {
      return error_response(500, "audit_unavailable",
                            "the audit log could not be written (" + audited.error().code + ")");
    }
  }
  return json_response(
      *stored == KeyEpochStored::created ? 201 : 200,
      boost::json::object{{"case", sync::to_text(*case_id)},
                          {"epoch", epoch->epoch},
                          {"stored", *stored == KeyEpochStored::created ? "created" : "already_stored"}});
}

Response KeyWrapEndpoints::get_keys(const Request& request) {
  auto caller = authenticator_.authenticate(request);
  if (!caller.ok()) return authenticator_.refusal_response(request, caller.error());
  auto case_id = case_from_path(request);
  if (!case_id.ok()) return error_response(400, case_id.error().code, case_id.error().message);
  if (!caller->member_cases.contains(*case_id)) return not_member();
  auto epochs = store_.epochs_for_device(*case_id, caller->device);
  if (!epochs.ok()) return key_store_failure(epochs.error());
  boost::json::array items;
  for (const KeyEpochForDevice& epoch : *epochs) {
    boost::json::object item{{"epoch", epoch.epoch}, {"manifest", sync::bytes_to_wire_text(epoch.manifest)}};
    item["wrap"] =
        epoch.wrap ? boost::json::value(sync::bytes_to_wire_text(*epoch.wrap)) : boost::json::value(nullptr);
    boost::json::array recipients;
    for (const sync::DeviceId& recipient : epoch.recipients)
      recipients.emplace_back(sync::to_text(recipient));
    item["recipients"] = std::move(recipients);
    items.push_back(std::move(item));
  }
  return json_response(200,
                       boost::json::object{{"case", sync::to_text(*case_id)}, {"epochs", std::move(items)}});
}

Response KeyWrapEndpoints::list_heads(const Request& request) {
  auto caller = authenticator_.authenticate(request);
  if (!caller.ok()) return authenticator_.refusal_response(request, caller.error());
  const std::vector<sync::CaseId> cases(caller->member_cases.begin(), caller->member_cases.end());
  auto heads = store_.head_epochs(cases);
  if (!heads.ok()) return key_store_failure(heads.error());
  boost::json::array items;
  for (const CaseHeadEpoch& head : *heads) {
    items.push_back(
        boost::json::object{{"case", sync::to_text(head.case_id)}, {"head_epoch", head.head_epoch}});
  }
  return json_response(200, boost::json::object{{"cases", std::move(items)}});
}

Response KeyWrapEndpoints::add_wraps(const Request& request) {
  auto caller = authenticator_.authenticate(request);
  if (!caller.ok()) return authenticator_.refusal_response(request, caller.error());
  auto case_id = case_from_path(request);
  if (!case_id.ok()) return error_response(400, case_id.error().code, case_id.error().message);
  if (!caller->member_cases.contains(*case_id)) return not_member();
  auto epoch = epoch_from_path(request, limits_.max_epoch);
  if (!epoch.ok()) return error_response(400, epoch.error().code, epoch.error().message);
  auto wraps = decode_added_wraps(request.body, limits_);
  if (!wraps.ok()) return body_failure(wraps.error());

  if (!recipients_) return error_response(503, "key_store_unavailable", "no recipient check is configured");
  auto allowed = recipients_(*case_id);
  if (!allowed.ok()) return error_response(503, "key_store_unavailable", allowed.error().message);
  const std::set<sync::DeviceId> allowed_set(allowed->begin(), allowed->end());
  for (const KeyWrap& wrap : *wraps) {
    if (!allowed_set.contains(wrap.recipient)) {
      return error_response(403, "recipient_not_member",
                            "device " + sync::to_text(wrap.recipient) +
                                " is not a certified, unrevoked device of a member of the case");
    }
  }
  auto stored = store_.add_wraps(*case_id, *epoch, *wraps);
  if (!stored.ok()) return key_store_failure(stored.error());
  if (*stored == KeyEpochStored::created && audit_) {
    boost::json::array recipients;
    for (const KeyWrap& wrap : *wraps) recipients.emplace_back(sync::to_text(wrap.recipient));
    const Status audited = audit_(AuditEvent{static_cast<std::int64_t>(clock_()),
                                             device_actor(caller->device),
                                             "case_key_wraps_added",
                                             "case:" + sync::to_text(*case_id),
                                             {{"epoch", *epoch}, {"recipients", std::move(recipients)}}});
    if (!audited.ok()) {
      return error_response(500, "audit_unavailable",
                            "the audit log could not be written (" + audited.error().code + ")");
    }
  }
  return json_response(
      *stored == KeyEpochStored::created ? 201 : 200,
      boost::json::object{{"case", sync::to_text(*case_id)},
                          {"epoch", *epoch},
                          {"stored", *stored == KeyEpochStored::created ? "created" : "already_stored"}});
}

}  // namespace casefile::server
