#include "device/internal/server_reply.hpp"

#include <boost/json.hpp>

#include "crypto/constant_time.hpp"
#include "sync/device_authentication.hpp"
#include "sync/strict_json.hpp"
#include "sync/wipe_order.hpp"

namespace casefile::device::internal {

namespace json = boost::json;

Result<json::object> json_object_body(const HttpsResponse& response) {
  auto parsed = sync::parse_strict_json(response.body);
  if (!parsed.ok())
    return make_error("bad_response", "the response body is not JSON: " + parsed.error().code);
  if (!parsed->is_object()) return make_error("bad_response", "the response body is not a JSON object");
  return std::move(parsed->as_object());
}

Result<std::string> string_member(const json::object& object, std::string_view name) {
  const json::value* member = object.if_contains(name);
  if (member == nullptr || !member->is_string()) {
    return make_error("bad_response", "the response has no string \"" + std::string(name) + "\"");
  }
  return std::string(member->get_string());
}

Error server_refusal(const HttpsResponse& response) {
  auto body = json_object_body(response);
  if (body.ok()) {
    auto code = string_member(*body, "error");
    auto message = string_member(*body, "message");
    if (code.ok() && !code->empty()) {
      return make_error(*code, message.ok() ? *message : "the server refused the request");
    }
  }
  return make_error("bad_response", "unexpected HTTP status " + std::to_string(response.status));
}

bool is_revocation(const HttpsResponse& response) {
  return response.status == 403 && server_refusal(response).code == "device_revoked";
}

Result<crypto::Ed25519PublicKey> fetch_authority_key(HttpsClient& client,
                                                     const crypto::Sha256Digest& fingerprint) {
  auto response = client.send(HttpsRequest{"GET", "/v1/authority", {}, {}, {}});
  if (!response.ok()) return std::move(response).error();
  if (response->status != 200) return server_refusal(*response);
  auto body = json_object_body(*response);
  if (!body.ok()) return std::move(body).error();
  auto text = string_member(*body, "public_key");
  if (!text.ok()) return std::move(text).error();
  auto bytes = sync::bytes_from_wire_text(*text);
  crypto::Ed25519PublicKey key{};
  if (!bytes || bytes->size() != key.size())
    return make_error("bad_response", "the authority key is malformed");
  std::copy(bytes->begin(), bytes->end(), key.begin());
  if (!crypto::constant_time_equal(crypto::sha256(key), fingerprint)) {
    return make_error("authority_mismatch", "the server's authority key is not the one the enrolment named");
  }
  return key;
}

Status obey_wipe_order(FieldDevice& device, const HttpsResponse& response,
                       const crypto::Ed25519PublicKey& authority_key) {
  auto body = json_object_body(response);
  const json::value* order_json = body.ok() ? body->if_contains("wipe_order") : nullptr;
  if (order_json == nullptr) return make_error("wipe_order_invalid", "the revocation carries no wipe order");
  auto order = sync::wipe_order_from_json(*order_json);
  if (!order.ok()) return make_error("wipe_order_invalid", order.error().message);
  if (auto verified = sync::verify_wipe_order(*order, authority_key); !verified.ok()) {
    return make_error("wipe_order_invalid", "the wipe order does not verify: " + verified.error().code);
  }
  if (order->device != device.profile().device_id) {
    return make_error("wipe_order_invalid", "the wipe order is for another device");
  }
  return device.wipe();
}

}  // namespace casefile::device::internal
