// A raw HTTPS client of casefiled's tus routes, for the attachment tests and
// the transfer benchmark: a device enrolled, certified and signed in through
// the real routes, an attachments record pushed signed, and the request
// helpers. Header-only, over tests/server/casefiled_process.hpp.
#pragma once

#include <boost/json.hpp>
#include <random>
#include <string>

#include "crypto/bytes.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/hash.hpp"
#include "crypto/x25519.hpp"
#include "server/access/access_administration.hpp"
#include "server/attachments/tus_headers.hpp"
#include "server/sync_api/sync_endpoints.hpp"
#include "sync/batch.hpp"
#include "sync/change_json.hpp"
#include "sync/device_authentication.hpp"
#include "sync/response_json.hpp"
#include "tests/server/casefiled_process.hpp"
#include "tests/server/sync_api/sync_api_test_support.hpp"

namespace casefile::server::testing {

namespace json = boost::json;

// Fails the caller (a test or the benchmark) with `what`.
inline void require(bool condition, const std::string& what) {
  if (!condition) throw std::runtime_error(what);
}

struct FieldDevice {
  sync::DeviceId id;
  crypto::Ed25519PrivateKey signing = *crypto::Ed25519PrivateKey::generate();
  crypto::X25519PrivateKey wrapping = *crypto::X25519PrivateKey::generate();
  std::string token;
  std::uint64_t next_sequence = 1;
};

inline std::string random_bytes(std::size_t size, unsigned seed) {
  std::mt19937 generator(seed);
  std::string bytes(size, '\0');
  for (char& byte : bytes) byte = static_cast<char>(generator() & 0xff);
  return bytes;
}

inline std::string sha256_hex(std::string_view bytes) {
  return crypto::to_hex(crypto::sha256(crypto::as_bytes(bytes)));
}

inline std::string sha256_base64(std::string_view bytes) {
  const auto digest = crypto::sha256(crypto::as_bytes(bytes));
  return base64_encode(crypto::ByteView(digest.data(), digest.size()));
}

inline HttpResponse round_trip(TlsClient& client, const std::string& request) {
  if (auto error = client.write(request)) throw std::runtime_error("write failed: " + error.message());
  HttpResponse response;
  if (auto error = client.read(response)) {
    throw std::runtime_error("read failed: " + error.message() + " after " + request.substr(0, 200) +
                             " buffer: " + client.buffered_text(300));
  }
  return response;
}

inline HttpResponse send(TlsClient& client, const std::string& method, const std::string& target,
                         const std::string& token = {}, const std::string& body = {},
                         const std::string& headers = {}) {
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: casefiled\r\n" + headers;
  if (!token.empty()) request += "Authorization: Bearer " + token + "\r\n";
  if (!body.empty() && headers.find("Content-Type") == std::string::npos) {
    request += "Content-Type: application/json\r\n";
  }
  request += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return round_trip(client, request);
}

inline HttpResponse send_head(TlsClient& client, const std::string& target, const std::string& token) {
  const std::string request = "HEAD " + target + " HTTP/1.1\r\nHost: casefiled\r\nTus-Resumable: 1.0.0\r\n" +
                              "Authorization: Bearer " + token + "\r\n\r\n";
  if (auto error = client.write(request)) throw std::runtime_error("write failed: " + error.message());
  HttpResponse response;
  if (auto error = client.read_head(response))
    throw std::runtime_error("HEAD read failed: " + error.message());
  return response;
}

inline std::string error_code_of(const HttpResponse& response) {
  return std::string(json::parse(response.body()).at("error").as_string());
}

inline std::string tus_headers() { return "Tus-Resumable: 1.0.0\r\n"; }

inline std::string patch_headers(std::uint64_t offset, const std::string& checksum = {}) {
  std::string headers = tus_headers() + "Content-Type: application/offset+octet-stream\r\nUpload-Offset: " +
                        std::to_string(offset) + "\r\n";
  if (!checksum.empty()) headers += "Upload-Checksum: sha256 " + checksum + "\r\n";
  return headers;
}

inline std::string metadata(const sync::CaseId& case_id, const sync::RecordId& record_id) {
  const std::string case_text = sync::to_text(case_id);
  const std::string record_text = sync::to_text(record_id);
  return "Upload-Metadata: case_id " + base64_encode(crypto::as_bytes(case_text)) + ",record_id " +
         base64_encode(crypto::as_bytes(record_text)) + "\r\n";
}

// Enrols over HTTPS with a code the admin made, is certified by the admin
// (in-process, with the authority key), and signs in over HTTPS.
inline FieldDevice enrol_device(TlsClient& client, AccessAdministration& administration,
                                const crypto::Ed25519PrivateKey& authority, const crypto::Sha256Digest& pin,
                                const std::string& user, std::uint64_t number) {
  FieldDevice device;
  device.id = numbered<sync::DeviceId>(0xd0, number);
  auto code_text = administration.create_enrolment_code(user, std::chrono::minutes(15)).value().text;
  auto code = sync::enrolment_code_from_text(code_text).value();
  auto enrolment =
      sync::make_enrolment_request(code, device.id, device.signing, device.wrapping.public_key()).value();
  const auto enrolled = send(client, "POST", "/v1/enrol", {}, sync::encode_enrolment_request(enrolment));
  require(enrolled.result_int() == 202u, "enrol: " + enrolled.body());
  require(administration.certify_device(device.id, authority).ok(), "certify");
  const auto challenge =
      send(client, "POST", "/v1/auth/challenge", {}, sync::encode_challenge_request(device.id));
  require(challenge.result_int() == 200u, "challenge: " + challenge.body());
  const auto challenge_bytes =
      sync::bytes_from_wire_text(json::parse(challenge.body()).at("challenge").as_string()).value();
  sync::TokenRequest token_request;
  token_request.device = device.id;
  std::copy(challenge_bytes.begin(), challenge_bytes.end(), token_request.challenge.begin());
  token_request.signature =
      device.signing.sign(sync::auth_challenge_message(token_request.challenge, device.id, pin)).value();
  const auto token = send(client, "POST", "/v1/auth/token", {}, sync::encode_token_request(token_request));
  require(token.result_int() == 200u, "token: " + token.body());
  device.token = std::string(json::parse(token.body()).at("token").as_string());
  return device;
}

// Pushes a signed attachments record naming `size` and `digest`, as the
// device does before it uploads.
inline void push_attachment_record(TlsClient& client, FieldDevice& device, const sync::CaseId& case_id,
                                   const sync::RecordId& record_id, std::uint64_t size,
                                   const std::string& digest) {
  sync::Change change{sync::ChangeId{device.id, device.next_sequence++},
                      sync::RecordKey{case_id, "attachments", record_id},
                      sync::Hlc::from_parts(wall_clock_millis(), 0),
                      {TestDevice::set("ciphertext_sha256", digest),
                       TestDevice::set("media_category", std::string("document")),
                       TestDevice::set("size_bytes", static_cast<std::int64_t>(size))}};
  sync::canonicalize_change(change);
  auto batch =
      sync::seal_batch(numbered<sync::BatchId>(0xba, device.next_sequence + (device.id.bytes[15] << 16)),
                       device.signing, device.id, {change});
  const auto pushed =
      send(client, "POST", "/v1/sync/push", device.token, sync::encode_push_request(batch.value()));
  require(pushed.result_int() == 200u, "push: " + pushed.body());
  const auto verdicts = sync::decode_push_response(pushed.body()).value();
  require(verdicts.verdicts.size() == 1u && verdicts.verdicts[0].kind == sync::VerdictKind::accepted,
          "the attachments record was not accepted: " + pushed.body());
}

}  // namespace casefile::server::testing
