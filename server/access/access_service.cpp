#include "server/access/access_service.hpp"

#include <array>
#include <charconv>

#include "crypto/random.hpp"
#include "server/access/audit_chain.hpp"
#include "server/access/internal/request_parts.hpp"
#include "server/access/record_json.hpp"
#include "server/query_string.hpp"
#include "sync/device_authentication.hpp"
#include "sync/device_certificate.hpp"
#include "sync/wipe_order.hpp"

namespace casefile::server {
namespace {

namespace json = boost::json;

constexpr std::size_t kTokenSize = 32;
constexpr std::size_t kMaxAuditPage = 1000;

struct CodeStatus {
  std::string_view code;
  unsigned status;
};

// docs/protocol.md lists the same table.
constexpr std::array kStatuses = {
    CodeStatus{"bad_request", 400},
    CodeStatus{"enrolment_proof_invalid", 400},
    CodeStatus{"wipe_order_required", 400},
    CodeStatus{"wipe_order_invalid", 400},
    CodeStatus{"wipe_order_wrong_authority", 400},
    CodeStatus{"wipe_order_device_mismatch", 400},
    CodeStatus{"invalid_device_id", 400},
    CodeStatus{"unauthenticated", 401},
    CodeStatus{"token_expired", 401},
    CodeStatus{"challenge_invalid", 401},
    CodeStatus{"signature_invalid", 401},
    CodeStatus{"enrolment_code_invalid", 403},
    CodeStatus{"device_not_certified", 403},
    CodeStatus{"device_revoked", 403},
    CodeStatus{"user_disabled", 403},
    CodeStatus{"certificate_expired", 403},
    CodeStatus{"certificate_invalid", 403},
    CodeStatus{"certificate_wrong_authority", 403},
    CodeStatus{"forbidden", 403},
    CodeStatus{"case_not_member", 403},
    CodeStatus{"device_unknown", 404},
    CodeStatus{"case_unknown", 404},
    CodeStatus{"user_unknown", 404},
    CodeStatus{"not_member", 404},
    CodeStatus{"device_exists", 409},
    CodeStatus{"case_exists", 409},
    CodeStatus{"already_member", 409},
    CodeStatus{"case_last_member", 409},
};

std::string device_subject(const sync::DeviceId& device) { return "device:" + sync::to_text(device); }
std::string case_subject(const sync::CaseId& case_id) { return "case:" + sync::to_text(case_id); }

Response respond_error(const Error& error) {
  const unsigned status = access_error_status(error.code);
  // A store failure's detail stays in the server; the client gets the code only.
  if (status == 500) return error_response(500, "internal_error", "the request could not be completed");
  return error_response(status, error.code, error.message);
}

json::value wipe_order_json(const DeviceRecord& device) {
  auto order = sync::decode_wipe_order(device.wipe_order);
  if (!order.ok()) return nullptr;
  return sync::wipe_order_to_json(*order);
}

Result<sync::CaseId> case_id_parameter(const Request& request) {
  auto found = request.path_parameters.find("case_id");
  if (found == request.path_parameters.end()) return make_error("bad_request", "no case id in the path");
  auto case_id = sync::parse_id<sync::CaseId>(found->second);
  if (!case_id) return make_error("bad_request", "the case id is not an RFC 4122 id");
  return *case_id;
}

Result<std::string> user_member(const json::object& body) {
  const json::value* user = body.if_contains("user");
  if (user == nullptr || !user->is_string()) return make_error("bad_request", "\"user\" must be a string");
  std::string name(user->get_string().data(), user->get_string().size());
  if (!sync::valid_user_name(name)) return make_error("bad_request", "\"user\" is not a user name");
  return name;
}

Result<std::int64_t> integer_parameter(const std::map<std::string, std::string, std::less<>>& query,
                                       std::string_view name, std::optional<std::int64_t>& out) {
  auto found = query.find(name);
  if (found == query.end()) return std::int64_t{0};
  std::int64_t value = 0;
  const auto [end, error] =
      std::from_chars(found->second.data(), found->second.data() + found->second.size(), value);
  if (error != std::errc() || end != found->second.data() + found->second.size() || value < 0) {
    return make_error("bad_request", std::string(name) + " must be a non-negative integer");
  }
  out = value;
  return value;
}

}  // namespace

unsigned access_error_status(std::string_view code) {
  for (const CodeStatus& entry : kStatuses) {
    if (entry.code == code) return entry.status;
  }
  return 500;
}

AccessService::AccessService(ControlStore& store, const crypto::Ed25519PublicKey& authority_public_key,
                             const crypto::Sha256Digest& tls_pin, AccessClock clock,
                             AccessServiceOptions options)
    : store_(store),
      authority_public_key_(authority_public_key),
      tls_pin_(tls_pin),
      clock_(std::move(clock)),
      options_(options),
      authenticator_(store, clock_) {}

Response AccessService::refuse(const Error& error, const std::optional<sync::DeviceId>& device) {
  if (error.code != "device_revoked" || !device) return respond_error(error);
  auto record = store_.find_device(*device);
  if (!record.ok() || !*record) return respond_error(error);
  return json_response(
      403, json::object{
               {"error", error.code}, {"message", error.message}, {"wipe_order", wipe_order_json(**record)}});
}

Response AccessService::audited_refusal(const Error& error, std::string actor, std::string event,
                                        const sync::DeviceId& device) {
  if (access_error_status(error.code) == 500) return respond_error(error);
  auto appended = store_.append_audit(AuditEvent{
      clock_(), std::move(actor), std::move(event), device_subject(device), {{"reason", error.code}}});
  if (!appended.ok()) return respond_error(appended.error());
  return refuse(error, device);
}

Result<DeviceRecord> AccessService::device_for_sign_in(const sync::DeviceId& device_id, std::int64_t now) {
  auto device = store_.find_device(device_id);
  if (!device.ok()) return std::move(device).error();
  if (!*device) return make_error("device_unknown", "no device with this id is enrolled");
  if ((*device)->state == DeviceState::revoked) {
    return make_error("device_revoked", "this device is revoked and must wipe its data");
  }
  if ((*device)->state != DeviceState::certified) {
    return make_error("device_not_certified", "this device is not certified yet");
  }
  auto user = store_.find_user((*device)->user);
  if (!user.ok()) return std::move(user).error();
  if (!*user || (*user)->disabled) return make_error("user_disabled", "the device's user is disabled");
  auto certificate = sync::decode_certificate((*device)->certificate);
  if (!certificate.ok()) return std::move(certificate).error();
  CASEFILE_RETURN_IF_ERROR(sync::verify_certificate(*certificate, authority_public_key_, now));
  return std::move(**device);
}

Result<DeviceContext> AccessService::caller(const Request& request, bool admin_only, Response& refusal) {
  auto context = authenticator_.authenticate(request);
  if (!context.ok()) {
    refusal = authenticator_.refusal_response(request, context.error());
    return std::move(context).error();
  }
  if (admin_only && context->role != Role::admin) {
    Error error = make_error("forbidden", "this route is for devices of admin users");
    auto appended = store_.append_audit(
        AuditEvent{clock_(),
                   device_subject(context->device),
                   "request_refused",
                   device_subject(context->device),
                   {{"reason", error.code}, {"method", request.method}, {"path", request.path}}});
    refusal = appended.ok() ? respond_error(error) : respond_error(appended.error());
    return error;
  }
  return context;
}

Response AccessService::enrol(const Request& request) {
  auto enrolment = sync::decode_enrolment_request(request.body);
  if (!enrolment.ok()) return error_response(400, "bad_request", enrolment.error().message);
  const sync::DeviceId device_id = enrolment->device;
  if (!sync::enrolment_proof_valid(*enrolment)) {
    return audited_refusal(make_error("enrolment_proof_invalid", "the proof is not the new key's signature"),
                           "anonymous", "enrolment_refused", device_id);
  }
  DeviceRecord device;
  device.id = device_id;
  device.signing_public_key = enrolment->signing_public_key;
  device.wrapping_public_key = enrolment->wrapping_public_key;
  const std::int64_t now = clock_();
  AuditEvent audit{now,
                   device_subject(device_id),
                   "device_enrolled",
                   device_subject(device_id),
                   {{"signing_public_key", sync::bytes_to_wire_text(device.signing_public_key)}}};
  auto enrolled = store_.enrol_device(crypto::sha256(enrolment->code), now, device, std::move(audit));
  if (!enrolled.ok()) return audited_refusal(enrolled.error(), "anonymous", "enrolment_refused", device_id);
  return json_response(
      202,
      json::object{{"device_id", sync::to_text(device_id)}, {"user", enrolled->user}, {"state", "pending"}});
}

Response AccessService::enrolment_status(const Request& request) {
  auto found = request.path_parameters.find("device_id");
  auto device_id =
      found == request.path_parameters.end() ? std::nullopt : sync::parse_id<sync::DeviceId>(found->second);
  if (!device_id) return error_response(400, "bad_request", "the device id is not an RFC 4122 id");
  auto device = store_.find_device(*device_id);
  if (!device.ok()) return respond_error(device.error());
  if (!*device) return respond_error(make_error("device_unknown", "no device with this id is enrolled"));
  switch ((*device)->state) {
    case DeviceState::pending:
      return json_response(202, json::object{{"device_id", sync::to_text(*device_id)}, {"state", "pending"}});
    case DeviceState::revoked:
      return refuse(make_error("device_revoked", "this device is revoked and must wipe its data"),
                    *device_id);
    case DeviceState::certified:
      break;
  }
  auto certificate = sync::decode_certificate((*device)->certificate);
  if (!certificate.ok())
    return respond_error(make_error("control_store_corrupt", certificate.error().message));
  return json_response(200, json::object{{"device_id", sync::to_text(*device_id)},
                                         {"state", "certified"},
                                         {"certificate", sync::certificate_to_json(*certificate)}});
}

Response AccessService::issue_challenge(const Request& request) {
  auto device_id = sync::decode_challenge_request(request.body);
  if (!device_id.ok()) return error_response(400, "bad_request", device_id.error().message);
  const std::int64_t now = clock_();
  auto device = device_for_sign_in(*device_id, now);
  if (!device.ok())
    return audited_refusal(device.error(), device_subject(*device_id), "challenge_refused", *device_id);
  auto challenge = crypto::random_bytes(sync::kAuthChallengeSize);
  if (!challenge.ok()) return respond_error(challenge.error());
  const std::int64_t expires_at = now + options_.challenge_lifetime.count();
  auto added = store_.add_challenge(*device_id, *challenge, expires_at);
  if (!added.ok()) return respond_error(added.error());
  return json_response(
      200, json::object{{"challenge", sync::bytes_to_wire_text(*challenge)}, {"expires_at", expires_at}});
}

void AccessService::rotate_tls_pin(const crypto::Sha256Digest& pin) {
  const std::lock_guard lock(tls_pins_mutex_);
  if (pin == tls_pin_) return;
  previous_tls_pin_ = tls_pin_;
  tls_pin_ = pin;
}

bool AccessService::signed_over_a_current_pin(const DeviceRecord& device,
                                              const sync::TokenRequest& request) const {
  std::optional<crypto::Sha256Digest> previous;
  crypto::Sha256Digest current{};
  {
    const std::lock_guard lock(tls_pins_mutex_);
    current = tls_pin_;
    previous = previous_tls_pin_;
  }
  const auto verifies = [&](const crypto::Sha256Digest& pin) {
    return crypto::ed25519_verify(device.signing_public_key,
                                  sync::auth_challenge_message(request.challenge, request.device, pin),
                                  request.signature);
  };
  return verifies(current) || (previous && verifies(*previous));
}

Response AccessService::issue_token(const Request& request) {
  auto token_request = sync::decode_token_request(request.body);
  if (!token_request.ok()) return error_response(400, "bad_request", token_request.error().message);
  const sync::DeviceId device_id = token_request->device;
  const std::string actor = device_subject(device_id);
  const std::int64_t now = clock_();
  auto device = device_for_sign_in(device_id, now);
  if (!device.ok()) return audited_refusal(device.error(), actor, "token_refused", device_id);
  if (!signed_over_a_current_pin(*device, *token_request)) {
    return audited_refusal(make_error("signature_invalid", "the challenge signature does not verify"), actor,
                           "token_refused", device_id);
  }
  auto token = crypto::random_secret(kTokenSize);
  if (!token.ok()) return respond_error(token.error());
  std::int64_t expires_at = now + options_.token_lifetime.count();
  if (auto certificate = sync::decode_certificate(device->certificate); certificate.ok()) {
    expires_at = std::min(expires_at, certificate->not_after_ms);  // never outlive the certificate
  }
  AuditEvent audit{now, actor, "token_issued", actor, {{"expires_at", expires_at}}};
  auto redeemed = store_.redeem_challenge(device_id, token_request->challenge, now,
                                          crypto::sha256(token->view()), expires_at, audit);
  if (!redeemed.ok()) return audited_refusal(redeemed.error(), actor, "token_refused", device_id);
  return json_response(
      200, json::object{{"token", sync::bytes_to_wire_text(token->view())}, {"expires_at", expires_at}});
}

// Public: devices check SHA-256(public_key) against the fingerprint of their
// enrolment payload before trusting it, so the server cannot substitute a key.
Response AccessService::authority(const Request&) {
  json::object body{{"public_key", sync::bytes_to_wire_text(authority_public_key_)},
                    {"fingerprint", sync::bytes_to_wire_text(crypto::sha256(authority_public_key_))},
                    {"recovery_public_key", nullptr},
                    {"recovery_key_signature", nullptr}};
  if (const auto& statement = options_.recovery_key_statement) {
    body["recovery_public_key"] = crypto::to_hex(statement->public_key);
    body["recovery_key_signature"] = crypto::to_hex(statement->signature);
  }
  return json_response(200, std::move(body));
}

// Any signed-in device may read any certificate that was ever issued (they
// are public: keys and the authority's signature), so that a colleague's
// changes stay verifiable after that colleague's device is revoked. Not
// audited: it reveals no case data, like GET /v1/enrol/{device_id}.
Response AccessService::device_certificate(const Request& request) {
  Response refusal;
  auto context = caller(request, false, refusal);
  if (!context.ok()) return refusal;
  auto found = request.path_parameters.find("device_id");
  auto device_id =
      found == request.path_parameters.end() ? std::nullopt : sync::parse_id<sync::DeviceId>(found->second);
  if (!device_id || sync::to_text(*device_id) != found->second) {
    return respond_error(make_error("invalid_device_id", "the device id must be a lower-case RFC 4122 UUID"));
  }
  auto device = store_.find_device(*device_id);
  if (!device.ok()) return respond_error(device.error());
  if (!*device || (*device)->certificate.empty()) {
    return respond_error(make_error("device_unknown", "no device with this id was ever certified"));
  }
  auto certificate = sync::decode_certificate((*device)->certificate);
  if (!certificate.ok())
    return respond_error(make_error("control_store_corrupt", certificate.error().message));
  const bool revoked = (*device)->state == DeviceState::revoked;
  return json_response(200, json::object{{"certificate", sync::certificate_to_json(*certificate)},
                                         {"state", revoked ? "revoked" : "certified"}});
}

Response AccessService::create_case(const Request& request) {
  Response refusal;
  auto context = caller(request, false, refusal);
  if (!context.ok()) return refusal;
  auto body = internal::parse_object_body(request, {"case_id"});
  if (!body.ok()) return respond_error(body.error());
  const json::value* text = body->if_contains("case_id");
  auto case_id = text != nullptr && text->is_string()
                     ? sync::parse_id<sync::CaseId>(
                           std::string_view(text->get_string().data(), text->get_string().size()))
                     : std::nullopt;
  if (!case_id) return error_response(400, "bad_request", "\"case_id\" must be an RFC 4122 id");
  const std::string actor = device_subject(context->device);
  auto created = store_.create_case(
      *case_id, context->user,
      AuditEvent{clock_(), actor, "case_created", case_subject(*case_id), {{"first_member", context->user}}});
  if (!created.ok()) return respond_error(created.error());
  return json_response(201, json::object{{"case_id", sync::to_text(*case_id)},
                                         {"members", json::array{json::value(context->user)}}});
}

Response AccessService::list_cases(const Request& request) {
  Response refusal;
  auto context = caller(request, false, refusal);
  if (!context.ok()) return refusal;
  json::array cases;
  for (const sync::CaseId& case_id : context->member_cases) cases.emplace_back(sync::to_text(case_id));
  return json_response(200, json::object{{"cases", std::move(cases)}});
}

// Membership rule (docs/security.md): any member may list a case's members; a
// supervisor who is a member, or any admin, may add and remove them. Managing
// membership gives an admin no access to records: only membership does.
Response AccessService::list_case_members(const Request& request) {
  Response refusal;
  auto context = caller(request, false, refusal);
  if (!context.ok()) return refusal;
  auto case_id = case_id_parameter(request);
  if (!case_id.ok()) return respond_error(case_id.error());
  if (!context->member_cases.contains(*case_id) && context->role != Role::admin) {
    return respond_error(make_error("case_not_member", "the caller's user is not a member of this case"));
  }
  auto members = store_.case_members(*case_id);
  if (!members.ok()) return respond_error(members.error());
  if (members->empty()) return respond_error(make_error("case_unknown", "no such case"));
  json::array list;
  for (const std::string& member : *members) list.emplace_back(member);
  return json_response(200, json::object{{"case_id", sync::to_text(*case_id)}, {"members", std::move(list)}});
}

namespace {

// Whether the caller may change the case's members (the rule above).
Status may_manage_members(const DeviceContext& context, const sync::CaseId& case_id) {
  if (context.role == Role::admin) return ok_status();
  if (!context.member_cases.contains(case_id)) {
    return make_error("case_not_member", "the caller's user is not a member of this case");
  }
  if (context.role != Role::supervisor)
    return make_error("forbidden", "only supervisors and admins manage members");
  return ok_status();
}

}  // namespace

Response AccessService::add_case_member(const Request& request) {
  Response refusal;
  auto context = caller(request, false, refusal);
  if (!context.ok()) return refusal;
  auto case_id = case_id_parameter(request);
  if (!case_id.ok()) return respond_error(case_id.error());
  if (auto allowed = may_manage_members(*context, *case_id); !allowed.ok())
    return respond_error(allowed.error());
  auto body = internal::parse_object_body(request, {"user"});
  if (!body.ok()) return respond_error(body.error());
  auto user = user_member(*body);
  if (!user.ok()) return respond_error(user.error());
  auto added = store_.add_case_member(*case_id, *user,
                                      AuditEvent{clock_(),
                                                 device_subject(context->device),
                                                 "case_member_added",
                                                 case_subject(*case_id),
                                                 {{"user", *user}}});
  if (!added.ok()) return respond_error(added.error());
  return json_response(201, json::object{{"case_id", sync::to_text(*case_id)}, {"user", *user}});
}

Response AccessService::remove_case_member(const Request& request) {
  Response refusal;
  auto context = caller(request, false, refusal);
  if (!context.ok()) return refusal;
  auto case_id = case_id_parameter(request);
  if (!case_id.ok()) return respond_error(case_id.error());
  if (auto allowed = may_manage_members(*context, *case_id); !allowed.ok())
    return respond_error(allowed.error());
  auto found = request.path_parameters.find("user");
  if (found == request.path_parameters.end() || !sync::valid_user_name(found->second)) {
    return error_response(400, "bad_request", "the path does not name a user");
  }
  auto removed = store_.remove_case_member(*case_id, found->second,
                                           AuditEvent{clock_(),
                                                      device_subject(context->device),
                                                      "case_member_removed",
                                                      case_subject(*case_id),
                                                      {{"user", found->second}}});
  if (!removed.ok()) return respond_error(removed.error());
  return json_response(200, json::object{{"case_id", sync::to_text(*case_id)}, {"removed", found->second}});
}

Response AccessService::admin_users(const Request& request) {
  Response refusal;
  auto context = caller(request, true, refusal);
  if (!context.ok()) return refusal;
  auto users = store_.list_users();
  if (!users.ok()) return respond_error(users.error());
  auto audited = store_.append_audit(
      AuditEvent{clock_(), device_subject(context->device), "admin_users_listed", "", json::object{}});
  if (!audited.ok()) return respond_error(audited.error());
  json::array list;
  for (const UserRecord& user : *users) list.emplace_back(user_record_to_json(user));
  return json_response(200, json::object{{"users", std::move(list)}});
}

Response AccessService::admin_devices(const Request& request) {
  Response refusal;
  auto context = caller(request, true, refusal);
  if (!context.ok()) return refusal;
  auto devices = store_.list_devices();
  if (!devices.ok()) return respond_error(devices.error());
  auto audited = store_.append_audit(
      AuditEvent{clock_(), device_subject(context->device), "admin_devices_listed", "", json::object{}});
  if (!audited.ok()) return respond_error(audited.error());
  json::array list;
  for (const DeviceRecord& device : *devices) list.emplace_back(device_record_to_json(device));
  return json_response(200, json::object{{"devices", std::move(list)}});
}

// The server holds no authority key, so it cannot sign a wipe order: the
// request carries one signed offline (casefile-admin revoke --sign-only).
Response AccessService::admin_revoke_device(const Request& request) {
  Response refusal;
  auto context = caller(request, true, refusal);
  if (!context.ok()) return refusal;
  auto found = request.path_parameters.find("device_id");
  auto device_id =
      found == request.path_parameters.end() ? std::nullopt : sync::parse_id<sync::DeviceId>(found->second);
  if (!device_id) return error_response(400, "bad_request", "the device id is not an RFC 4122 id");
  auto body = internal::parse_object_body(request, {"wipe_order"});
  if (!body.ok()) return respond_error(body.error());
  const json::value* order_json = body->if_contains("wipe_order");
  if (order_json == nullptr) {
    return respond_error(
        make_error("wipe_order_required",
                   "revocation needs a wipe order signed by the authority: casefile-admin revoke"));
  }
  auto order = sync::wipe_order_from_json(*order_json);
  if (!order.ok()) return respond_error(order.error());
  if (auto verified = sync::verify_wipe_order(*order, authority_public_key_); !verified.ok()) {
    return respond_error(verified.error());
  }
  if (order->device != *device_id) {
    return respond_error(make_error("wipe_order_device_mismatch", "the wipe order is for another device"));
  }
  auto revoked = store_.revoke_device(*device_id, sync::encode_wipe_order(*order),
                                      AuditEvent{clock_(),
                                                 device_subject(context->device),
                                                 "device_revoked",
                                                 device_subject(*device_id),
                                                 {{"reason", order->reason}}});
  if (!revoked.ok()) {
    if (revoked.error().code == "device_revoked") {
      return error_response(409, "device_revoked", "the device is already revoked");
    }
    return respond_error(revoked.error());
  }
  return json_response(200, json::object{{"device_id", sync::to_text(*device_id)}, {"state", "revoked"}});
}

Response AccessService::admin_audit(const Request& request) {
  Response refusal;
  auto context = caller(request, true, refusal);
  if (!context.ok()) return refusal;
  auto query = parse_query(request.query, {"since", "until", "event", "device", "limit", "after"});
  if (!query.ok()) return error_response(400, "bad_request", query.error().message);
  AuditQuery filter;
  std::optional<std::int64_t> limit;
  for (auto [name, target] : {std::pair{"since", &filter.since_ms}, std::pair{"until", &filter.until_ms},
                              std::pair{"after", &filter.after_sequence}, std::pair{"limit", &limit}}) {
    if (auto parsed = integer_parameter(*query, name, *target); !parsed.ok())
      return respond_error(parsed.error());
  }
  filter.limit = std::min<std::size_t>(static_cast<std::size_t>(limit.value_or(100)), kMaxAuditPage);
  if (auto event = query->find("event"); event != query->end()) filter.event = event->second;
  if (auto device = query->find("device"); device != query->end()) {
    filter.device = sync::parse_id<sync::DeviceId>(device->second);
    if (!filter.device) return error_response(400, "bad_request", "device must be an RFC 4122 id");
  }
  auto entries = store_.query_audit(filter);
  if (!entries.ok()) return respond_error(entries.error());
  auto audited = store_.append_audit(AuditEvent{clock_(), device_subject(context->device), "admin_audit_read",
                                                "", json::object{{"query", request.query}}});
  if (!audited.ok()) return respond_error(audited.error());
  json::array list;
  for (const AuditEntry& entry : *entries) list.emplace_back(audit_entry_to_json(entry));
  json::object response{{"entries", std::move(list)}};
  if (!entries->empty()) response["next_after"] = entries->back().sequence;
  return json_response(200, response);
}

}  // namespace casefile::server
