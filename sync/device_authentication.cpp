#include "sync/device_authentication.hpp"

#include <boost/json/serialize.hpp>

#include "sync/internal/base64url.hpp"
#include "sync/internal/byte_writer.hpp"
#include "sync/internal/fixed_size_member.hpp"
#include "sync/internal/json_object_reader.hpp"

namespace casefile::sync {
namespace {

namespace json = boost::json;

constexpr std::string_view kBase32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::size_t kEnrolmentCodeCharacters = kEnrolmentCodeSize * 8 / 5;  // 32, no padding
// Requests are small; refuse anything bigger before parsing.
constexpr JsonLimits kRequestLimits{.max_bytes = 4096,
                                    .max_depth = 2,
                                    .max_string_bytes = 256,
                                    .max_array_items = 0,
                                    .max_object_members = 8};

Result<json::value> parse_request(std::string_view body) { return parse_strict_json(body, kRequestLimits); }

}  // namespace

json::object enrolment_payload(std::string_view url, const crypto::Sha256Digest& tls_pin,
                               const crypto::Sha256Digest& authority_fingerprint,
                               std::string_view code_text) {
  return json::object{{"v", 1},
                      {"url", url},
                      {"pin", bytes_to_wire_text(tls_pin)},
                      {"authority", bytes_to_wire_text(authority_fingerprint)},
                      {"code", code_text}};
}

std::string bytes_to_wire_text(crypto::ByteView bytes) { return internal::base64url_encode(bytes); }

std::optional<crypto::Bytes> bytes_from_wire_text(std::string_view text) {
  return internal::base64url_decode(text);
}

std::string enrolment_code_to_text(const EnrolmentCode& code) {
  std::string text;
  std::uint32_t buffer = 0;
  int bits = 0;
  std::size_t emitted = 0;
  for (std::uint8_t byte : code) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      if (emitted > 0 && emitted % 4 == 0) text.push_back('-');
      text.push_back(kBase32Alphabet[(buffer >> (bits - 5)) & 0x1f]);
      bits -= 5;
      ++emitted;
    }
  }
  return text;  // 160 bits are exactly 32 characters: nothing left over
}

std::optional<EnrolmentCode> enrolment_code_from_text(std::string_view text) {
  EnrolmentCode code{};
  std::uint32_t buffer = 0;
  int bits = 0;
  std::size_t characters = 0;
  std::size_t written = 0;
  for (char c : text) {
    if (c == '-' || c == ' ') continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    const auto position = kBase32Alphabet.find(c);
    if (position == std::string_view::npos || ++characters > kEnrolmentCodeCharacters) return std::nullopt;
    buffer = (buffer << 5) | static_cast<std::uint32_t>(position);
    bits += 5;
    if (bits >= 8) {
      code[written++] = static_cast<std::uint8_t>(buffer >> (bits - 8));
      bits -= 8;
    }
  }
  if (characters != kEnrolmentCodeCharacters) return std::nullopt;
  return code;
}

crypto::Bytes enrolment_proof_message(const EnrolmentCode& code, const DeviceId& device,
                                      const crypto::Ed25519PublicKey& signing_public_key,
                                      const crypto::X25519PublicKey& wrapping_public_key) {
  internal::ByteWriter writer;
  writer.raw(crypto::as_bytes(kEnrolmentProofLabel));
  writer.u8(0);
  writer.raw(code);
  writer.raw(device.bytes);
  writer.raw(signing_public_key);
  writer.raw(wrapping_public_key);
  return writer.take();
}

Result<EnrolmentRequest> make_enrolment_request(const EnrolmentCode& code, const DeviceId& device,
                                                const crypto::Ed25519PrivateKey& signing_key,
                                                const crypto::X25519PublicKey& wrapping_public_key) {
  EnrolmentRequest request{code, device, signing_key.public_key(), wrapping_public_key, {}};
  auto proof = signing_key.sign(
      enrolment_proof_message(code, device, request.signing_public_key, wrapping_public_key));
  if (!proof.ok()) return std::move(proof).error();
  request.proof = *proof;
  return request;
}

bool enrolment_proof_valid(const EnrolmentRequest& request) {
  return crypto::ed25519_verify(
      request.signing_public_key,
      enrolment_proof_message(request.code, request.device, request.signing_public_key,
                              request.wrapping_public_key),
      request.proof);
}

std::string encode_enrolment_request(const EnrolmentRequest& request) {
  return json::serialize(json::object{
      {"code", enrolment_code_to_text(request.code)},
      {"device_id", to_text(request.device)},
      {"signing_public_key", bytes_to_wire_text(request.signing_public_key)},
      {"wrapping_public_key", bytes_to_wire_text(request.wrapping_public_key)},
      {"proof", bytes_to_wire_text(request.proof)},
  });
}

Result<EnrolmentRequest> decode_enrolment_request(std::string_view body) {
  auto value = parse_request(body);
  if (!value.ok()) return std::move(value).error();
  auto reader = internal::JsonObjectReader::open(
      *value, "request", {"code", "device_id", "signing_public_key", "wrapping_public_key", "proof"});
  if (!reader.ok()) return std::move(reader).error();
  EnrolmentRequest request;
  auto code_text = reader->string("code");
  if (!code_text.ok()) return std::move(code_text).error();
  auto code = enrolment_code_from_text(*code_text);
  if (!code) return internal::json_invalid_value(reader->path_of("code"), "not an enrolment code");
  request.code = *code;
  auto device = internal::device_id_member(*reader, "device_id");
  if (!device.ok()) return std::move(device).error();
  request.device = *device;
  auto signing = internal::fixed_size_member<crypto::kEd25519PublicKeySize>(*reader, "signing_public_key");
  if (!signing.ok()) return std::move(signing).error();
  request.signing_public_key = *signing;
  auto wrapping = internal::fixed_size_member<crypto::kX25519KeySize>(*reader, "wrapping_public_key");
  if (!wrapping.ok()) return std::move(wrapping).error();
  request.wrapping_public_key = *wrapping;
  auto proof = internal::fixed_size_member<crypto::kEd25519SignatureSize>(*reader, "proof");
  if (!proof.ok()) return std::move(proof).error();
  request.proof = *proof;
  return request;
}

crypto::Bytes auth_challenge_message(const AuthChallenge& challenge, const DeviceId& device,
                                     const crypto::Sha256Digest& server_tls_pin) {
  internal::ByteWriter writer;
  writer.raw(crypto::as_bytes(kAuthChallengeLabel));
  writer.u8(0);
  writer.raw(challenge);
  writer.raw(device.bytes);
  writer.raw(server_tls_pin);
  return writer.take();
}

std::string encode_challenge_request(const DeviceId& device) {
  return json::serialize(json::object{{"device_id", to_text(device)}});
}

Result<DeviceId> decode_challenge_request(std::string_view body) {
  auto value = parse_request(body);
  if (!value.ok()) return std::move(value).error();
  auto reader = internal::JsonObjectReader::open(*value, "request", {"device_id"});
  if (!reader.ok()) return std::move(reader).error();
  return internal::device_id_member(*reader, "device_id");
}

std::string encode_token_request(const TokenRequest& request) {
  return json::serialize(json::object{
      {"device_id", to_text(request.device)},
      {"challenge", bytes_to_wire_text(request.challenge)},
      {"signature", bytes_to_wire_text(request.signature)},
  });
}

Result<TokenRequest> decode_token_request(std::string_view body) {
  auto value = parse_request(body);
  if (!value.ok()) return std::move(value).error();
  auto reader = internal::JsonObjectReader::open(*value, "request", {"device_id", "challenge", "signature"});
  if (!reader.ok()) return std::move(reader).error();
  TokenRequest request;
  auto device = internal::device_id_member(*reader, "device_id");
  if (!device.ok()) return std::move(device).error();
  request.device = *device;
  auto challenge = internal::fixed_size_member<kAuthChallengeSize>(*reader, "challenge");
  if (!challenge.ok()) return std::move(challenge).error();
  request.challenge = *challenge;
  auto signature = internal::fixed_size_member<crypto::kEd25519SignatureSize>(*reader, "signature");
  if (!signature.ok()) return std::move(signature).error();
  request.signature = *signature;
  return request;
}

}  // namespace casefile::sync
