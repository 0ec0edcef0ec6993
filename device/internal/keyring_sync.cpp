#include "device/internal/keyring_sync.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "sync/strict_json.hpp"

namespace casefile::device::internal {

namespace json = boost::json;

namespace {

Error malformed(const std::string& why) {
  return make_error("bad_response", "the key index (GET /v1/keys) is malformed: " + why);
}

}  // namespace

Result<std::vector<ServerKeyringHead>> decode_keyring_index(std::string_view body) {
  auto document = sync::parse_strict_json(body);
  if (!document.ok()) return malformed(document.error().code);
  if (!document->is_object()) return malformed("not an object");
  const json::object& object = document->get_object();
  if (object.size() != 1 || !object.contains("cases") || !object.at("cases").is_array()) {
    return malformed("it must hold exactly a \"cases\" array");
  }
  const json::array& cases = object.at("cases").get_array();
  if (cases.size() > kMaxKeyringIndexCases) return malformed("too many cases");
  std::vector<ServerKeyringHead> heads;
  std::set<sync::CaseId> seen;
  for (const json::value& entry : cases) {
    if (!entry.is_object() || entry.get_object().size() != 2) {
      return malformed("each case is {\"case\", \"head_epoch\"}");
    }
    const json::object& fields = entry.get_object();
    const json::value* case_text = fields.if_contains("case");
    const json::value* epoch = fields.if_contains("head_epoch");
    if (case_text == nullptr || !case_text->is_string() || epoch == nullptr || !epoch->is_int64()) {
      return malformed("each case is {\"case\", \"head_epoch\"}");
    }
    const auto case_id = sync::parse_id<sync::CaseId>(case_text->get_string());
    if (!case_id) return malformed("a case id is malformed");
    const std::int64_t head_epoch = epoch->get_int64();
    if (head_epoch < 1 || head_epoch > sync::kMaxKeyringEpoch) return malformed("an epoch is out of range");
    if (!seen.insert(*case_id).second) return malformed("a case is listed twice");
    heads.push_back(ServerKeyringHead{*case_id, static_cast<std::uint32_t>(head_epoch)});
  }
  return heads;
}

Result<std::map<std::uint32_t, std::vector<sync::DeviceId>>> decode_keyring_recipients(
    std::string_view body) {
  auto bad = [](const std::string& why) {
    return make_error("bad_response", "the keyring (GET /v1/keys/{case}) is malformed: " + why);
  };
  auto document = sync::parse_strict_json(body);
  if (!document.ok()) return bad(document.error().code);
  const json::value* epochs = document->is_object() ? document->get_object().if_contains("epochs") : nullptr;
  if (epochs == nullptr || !epochs->is_array()) return bad("no \"epochs\" array");
  std::map<std::uint32_t, std::vector<sync::DeviceId>> recipients;
  for (const json::value& entry : epochs->get_array()) {
    const json::value* epoch = entry.is_object() ? entry.get_object().if_contains("epoch") : nullptr;
    if (epoch == nullptr || !epoch->is_int64() || epoch->get_int64() < 1 ||
        epoch->get_int64() > sync::kMaxKeyringEpoch) {
      return bad("an epoch is malformed");
    }
    const auto number = static_cast<std::uint32_t>(epoch->get_int64());
    if (recipients.contains(number)) return bad("an epoch is listed twice");
    std::vector<sync::DeviceId>& listed = recipients[number];
    const json::value* ids = entry.get_object().if_contains("recipients");
    if (ids == nullptr) continue;
    if (!ids->is_array() || ids->get_array().size() > kMaxEpochRecipients)
      return bad("recipients is not a list");
    for (const json::value& id : ids->get_array()) {
      const auto device = id.is_string() ? sync::parse_id<sync::DeviceId>(id.get_string()) : std::nullopt;
      if (!device) return bad("a recipient id is malformed");
      listed.push_back(*device);
    }
  }
  return recipients;
}

std::vector<sync::CaseId> cases_to_refresh(std::span<const ServerKeyringHead> server,
                                           std::span<const KeyringHeadSummary> local) {
  std::vector<sync::CaseId> cases;
  for (const ServerKeyringHead& head : server) {
    const auto accepted = std::find_if(local.begin(), local.end(),
                                       [&](const auto& summary) { return summary.case_id == head.case_id; });
    if (accepted == local.end() || accepted->epoch != head.head_epoch || !accepted->held_epochs_shared ||
        !accepted->holds_every_epoch) {
      cases.push_back(head.case_id);
    }
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

std::map<std::uint32_t, std::vector<sync::DeviceId>> plan_held_epoch_sharing(
    const sync::KeyringManifest& head, const sync::DeviceId& self, std::span<const std::uint32_t> held_epochs,
    const std::map<std::uint32_t, std::vector<sync::DeviceId>>& recipients_by_epoch) {
  std::map<std::uint32_t, std::vector<sync::DeviceId>> plan;
  for (const std::uint32_t epoch : held_epochs) {
    const auto listed = recipients_by_epoch.find(epoch);
    for (const sync::DeviceId& member : head.members) {
      if (member == self || member == sync::DeviceId{}) continue;
      const bool holds =
          listed != recipients_by_epoch.end() &&
          std::find(listed->second.begin(), listed->second.end(), member) != listed->second.end();
      if (!holds) plan[epoch].push_back(member);
    }
  }
  return plan;  // head.members is strictly ascending, so each list is
}

}  // namespace casefile::device::internal
