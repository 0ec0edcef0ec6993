#include "device/enrolment.hpp"

#include <boost/json.hpp>
#include <charconv>
#include <chrono>

#include "device/internal/server_reply.hpp"
#include "sync/device_certificate.hpp"
#include "sync/strict_json.hpp"

namespace casefile::device {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxPayloadBytes = 1024;
constexpr std::size_t kMaxHostBytes = 253;

Error payload_invalid(const std::string& why) { return make_error("enrolment_payload_invalid", why); }

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool host_name_character(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

// "https://host:port", nothing before or after.
Status parse_url(const std::string& url, ServerEndpoint& server) {
  constexpr std::string_view scheme = "https://";
  if (url.rfind(scheme, 0) != 0) return payload_invalid("url must start with https://");
  std::string_view rest = std::string_view(url).substr(scheme.size());
  std::string_view host;
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
      return payload_invalid("url must be https://[address]:port");
    }
    host = rest.substr(1, close - 1);
    port_text = rest.substr(close + 2);
    if (host.empty() || host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos ||
        host.find(':') == std::string_view::npos) {
      return payload_invalid("url has a malformed IPv6 address");
    }
  } else {
    const auto colon = rest.find(':');
    if (colon == std::string_view::npos) return payload_invalid("url must name a port: https://host:port");
    host = rest.substr(0, colon);
    port_text = rest.substr(colon + 1);
    if (host.empty() || host.size() > kMaxHostBytes || host.front() == '-' || host.front() == '.') {
      return payload_invalid("url has a malformed host");
    }
    for (char c : host) {
      if (!host_name_character(c)) return payload_invalid("url has a malformed host");
    }
  }
  unsigned port = 0;
  const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || port_text.size() > 5 || port_text.front() == '0' || error != std::errc() ||
      end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
    return payload_invalid("url must end with a port from 1 to 65535");
  }
  server.url = url;
  server.host = std::string(host);
  server.port = static_cast<std::uint16_t>(port);
  return ok_status();
}

Status parse_digest(const json::object& object, std::string_view name, crypto::Sha256Digest& out) {
  const json::value* member = object.if_contains(name);
  if (member == nullptr || !member->is_string()) {
    return payload_invalid("\"" + std::string(name) + "\" must be a string");
  }
  auto bytes = sync::bytes_from_wire_text(member->get_string());
  if (!bytes || bytes->size() != out.size()) {
    return payload_invalid("\"" + std::string(name) + "\" must be 32 bytes of base64url");
  }
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return ok_status();
}

}  // namespace

Result<EnrolmentPayload> parse_enrolment_payload(std::string_view text) {
  sync::JsonLimits limits;
  limits.max_bytes = kMaxPayloadBytes;
  limits.max_depth = 2;
  limits.max_object_members = 8;
  auto parsed = sync::parse_strict_json(text, limits);
  if (!parsed.ok()) return payload_invalid("not a JSON enrolment payload: " + parsed.error().code);
  if (!parsed->is_object()) return payload_invalid("the payload must be a JSON object");
  const json::object& object = parsed->as_object();
  for (const auto& member : object) {
    const std::string_view key = member.key();
    if (key != "v" && key != "url" && key != "pin" && key != "authority" && key != "code") {
      return payload_invalid("unknown member \"" + std::string(key) + "\"");
    }
  }
  const json::value* version = object.if_contains("v");
  if (version == nullptr || !version->is_int64() || version->get_int64() != 1) {
    return payload_invalid("\"v\" must be 1");
  }
  EnrolmentPayload payload;
  const json::value* url = object.if_contains("url");
  if (url == nullptr || !url->is_string()) return payload_invalid("\"url\" must be a string");
  CASEFILE_RETURN_IF_ERROR(parse_url(std::string(url->get_string()), payload.server));
  CASEFILE_RETURN_IF_ERROR(parse_digest(object, "pin", payload.server.pin));
  CASEFILE_RETURN_IF_ERROR(parse_digest(object, "authority", payload.authority_fingerprint));
  const json::value* code = object.if_contains("code");
  auto parsed_code = code != nullptr && code->is_string() ? sync::enrolment_code_from_text(code->get_string())
                                                          : std::nullopt;
  if (!parsed_code) return payload_invalid("\"code\" is not an enrolment code");
  payload.code = *parsed_code;
  return payload;
}

Status enrol(FieldDevice& device, std::string_view payload_text, const HttpsClientOptions& options) {
  auto payload = parse_enrolment_payload(payload_text);
  if (!payload.ok()) return std::move(payload).error();
  if (device.profile().state != EnrolmentState::not_enrolled) {
    return make_error("already_enrolled", "this device has already been enrolled");
  }
  auto client = HttpsClient::create(payload->server, options);
  if (!client.ok()) return std::move(client).error();
  const sync::DeviceId& device_id = device.profile().device_id;
  auto request = sync::make_enrolment_request(payload->code, device_id, device.signing_key(),
                                              device.wrapping_key().public_key());
  if (!request.ok()) return std::move(request).error();
  auto response =
      client->send(HttpsRequest{"POST", "/v1/enrol", {}, sync::encode_enrolment_request(*request), {}});
  if (!response.ok()) return std::move(response).error();
  if (response->status != 202) {
    Error refusal = internal::server_refusal(*response);
    // The code is single use: when an earlier attempt's answer was lost, the
    // retry is refused although the server holds this (random) device id.
    if (refusal.code != "enrolment_code_invalid" && refusal.code != "device_exists") return refusal;
    auto known = client->send(HttpsRequest{"GET", "/v1/enrol/" + sync::to_text(device_id), {}, {}, {}});
    if (!known.ok() || (known->status != 200 && known->status != 202)) return refusal;
  }
  return device.begin_enrolment(payload->server, payload->authority_fingerprint);
}

Result<CertificationCheck> check_certification(FieldDevice& device, const HttpsClientOptions& options) {
  const DeviceProfile& profile = device.profile();
  if (profile.state == EnrolmentState::not_enrolled || !profile.server || !profile.authority_fingerprint) {
    return make_error("not_enrolled", "this device has not been enrolled");
  }
  if (profile.state == EnrolmentState::certified) return CertificationCheck{EnrolmentState::certified, false};
  auto client = HttpsClient::create(*profile.server, options);
  if (!client.ok()) return std::move(client).error();
  const crypto::Sha256Digest fingerprint = *profile.authority_fingerprint;
  auto response =
      client->send(HttpsRequest{"GET", "/v1/enrol/" + sync::to_text(profile.device_id), {}, {}, {}});
  if (!response.ok()) return std::move(response).error();
  if (response->status == 202) return CertificationCheck{EnrolmentState::pending, false};
  if (internal::is_revocation(*response)) {
    auto authority = internal::fetch_authority_key(*client, fingerprint);
    if (!authority.ok()) return std::move(authority).error();
    CASEFILE_RETURN_IF_ERROR(internal::obey_wipe_order(device, *response, *authority));
    return CertificationCheck{EnrolmentState::not_enrolled, true};
  }
  if (response->status != 200) return internal::server_refusal(*response);
  auto body = internal::json_object_body(*response);
  if (!body.ok()) return std::move(body).error();
  const json::value* certificate_json = body->if_contains("certificate");
  if (certificate_json == nullptr)
    return make_error("bad_response", "a certified answer without a certificate");
  auto certificate = sync::certificate_from_json(*certificate_json);
  if (!certificate.ok()) return std::move(certificate).error();
  auto authority = internal::fetch_authority_key(*client, fingerprint);
  if (!authority.ok()) return std::move(authority).error();
  CASEFILE_RETURN_IF_ERROR(device.record_certificate(*certificate, *authority, now_ms()));
  return CertificationCheck{EnrolmentState::certified, false};
}

}  // namespace casefile::device
