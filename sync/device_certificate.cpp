#include "sync/device_certificate.hpp"

#include <algorithm>
#include <stdexcept>

#include "crypto/constant_time.hpp"
#include "sync/internal/base64url.hpp"
#include "sync/internal/byte_writer.hpp"
#include "sync/internal/fixed_size_member.hpp"
#include "sync/internal/json_object_reader.hpp"

namespace casefile::sync {
namespace {

namespace json = boost::json;
using internal::ByteReader;
using internal::ByteWriter;

constexpr std::size_t kMaxRoleBytes = 16;

Error invalid(const std::string& why) {
  return make_error("certificate_invalid", "device certificate: " + why);
}

Result<DeviceCertificate> from_json(const json::value& value) {
  auto reader = internal::JsonObjectReader::open(
      value, "certificate",
      {"version", "device_id", "user", "role", "signing_public_key", "wrapping_public_key", "not_before",
       "not_after", "authority_fingerprint", "signature"});
  if (!reader.ok()) return std::move(reader).error();
  DeviceCertificate certificate;
  auto version = reader->bounded("version", 1, 255);
  if (!version.ok()) return std::move(version).error();
  certificate.version = static_cast<std::uint8_t>(*version);
  auto device = internal::device_id_member(*reader, "device_id");
  if (!device.ok()) return std::move(device).error();
  certificate.device = *device;
  auto user = reader->string("user");
  if (!user.ok()) return std::move(user).error();
  if (!valid_user_name(*user))
    return internal::json_invalid_value(reader->path_of("user"), "not a user name");
  certificate.user = std::string(*user);
  auto role = reader->string("role");
  if (!role.ok()) return std::move(role).error();
  if (!valid_role_name(*role)) return internal::json_invalid_value(reader->path_of("role"), "not a role");
  certificate.role = std::string(*role);
  auto signing = internal::fixed_size_member<crypto::kEd25519PublicKeySize>(*reader, "signing_public_key");
  if (!signing.ok()) return std::move(signing).error();
  certificate.signing_public_key = *signing;
  auto wrapping = internal::fixed_size_member<crypto::kX25519KeySize>(*reader, "wrapping_public_key");
  if (!wrapping.ok()) return std::move(wrapping).error();
  certificate.wrapping_public_key = *wrapping;
  auto not_before = reader->bounded("not_before", 0, INT64_MAX);
  if (!not_before.ok()) return std::move(not_before).error();
  certificate.not_before_ms = static_cast<std::int64_t>(*not_before);
  auto not_after = reader->bounded("not_after", 0, INT64_MAX);
  if (!not_after.ok()) return std::move(not_after).error();
  certificate.not_after_ms = static_cast<std::int64_t>(*not_after);
  auto fingerprint = internal::fixed_size_member<crypto::kSha256Size>(*reader, "authority_fingerprint");
  if (!fingerprint.ok()) return std::move(fingerprint).error();
  certificate.authority_fingerprint = *fingerprint;
  auto signature = internal::fixed_size_member<crypto::kEd25519SignatureSize>(*reader, "signature");
  if (!signature.ok()) return std::move(signature).error();
  certificate.signature = *signature;
  return certificate;
}

}  // namespace

bool valid_user_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxUserNameBytes) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '@';
  });
}

bool valid_role_name(std::string_view role) {
  return role == "lawyer" || role == "supervisor" || role == "admin";
}

crypto::Bytes encode_certificate_body(const DeviceCertificate& certificate) {
  if (!valid_user_name(certificate.user) || !valid_role_name(certificate.role)) {
    throw std::invalid_argument("encode_certificate_body: invalid user or role");
  }
  ByteWriter writer;
  writer.u8(certificate.version);
  writer.raw(certificate.device.bytes);
  writer.short_text(certificate.user);
  writer.short_text(certificate.role);
  writer.raw(certificate.signing_public_key);
  writer.raw(certificate.wrapping_public_key);
  writer.u64(static_cast<std::uint64_t>(certificate.not_before_ms));
  writer.u64(static_cast<std::uint64_t>(certificate.not_after_ms));
  writer.raw(certificate.authority_fingerprint);
  return writer.take();
}

crypto::Bytes certificate_signing_message(const DeviceCertificate& certificate) {
  ByteWriter writer;
  writer.raw(crypto::as_bytes(kDeviceCertificateLabel));
  writer.u8(0);
  writer.raw(encode_certificate_body(certificate));
  return writer.take();
}

Result<DeviceCertificate> sign_certificate(DeviceCertificate certificate,
                                           const crypto::Ed25519PrivateKey& authority) {
  certificate.authority_fingerprint = crypto::sha256(authority.public_key());
  auto signature = authority.sign(certificate_signing_message(certificate));
  if (!signature.ok()) return std::move(signature).error();
  certificate.signature = *signature;
  return certificate;
}

Status verify_certificate(const DeviceCertificate& certificate, crypto::ByteView authority_public_key,
                          std::int64_t now_ms) {
  const crypto::Sha256Digest fingerprint = crypto::sha256(authority_public_key);
  if (!crypto::constant_time_equal(fingerprint, certificate.authority_fingerprint)) {
    return make_error("certificate_wrong_authority", "the device certificate names another authority");
  }
  if (certificate.version != kDeviceCertificateVersion) return invalid("unsupported version");
  if (!valid_user_name(certificate.user) || !valid_role_name(certificate.role)) {
    return invalid("invalid user or role");
  }
  if (!crypto::ed25519_verify(authority_public_key, certificate_signing_message(certificate),
                              certificate.signature)) {
    return invalid("the authority signature does not verify");
  }
  if (now_ms < certificate.not_before_ms || now_ms > certificate.not_after_ms) {
    return make_error("certificate_expired", "the device certificate is outside its validity period");
  }
  return ok_status();
}

crypto::Bytes encode_certificate(const DeviceCertificate& certificate) {
  crypto::Bytes bytes = encode_certificate_body(certificate);
  bytes.insert(bytes.end(), certificate.signature.begin(), certificate.signature.end());
  return bytes;
}

Result<DeviceCertificate> decode_certificate(crypto::ByteView bytes) {
  ByteReader reader(bytes);
  DeviceCertificate certificate;
  auto version = reader.u8();
  if (!version || *version != kDeviceCertificateVersion) return invalid("unsupported version");
  certificate.version = *version;
  if (!reader.raw(certificate.device.bytes.data(), certificate.device.bytes.size()))
    return invalid("truncated");
  auto user = reader.short_text();
  auto role = reader.short_text();
  if (!user || !role || role->size() > kMaxRoleBytes) return invalid("truncated");
  if (!valid_user_name(*user) || !valid_role_name(*role)) return invalid("invalid user or role");
  certificate.user = std::move(*user);
  certificate.role = std::move(*role);
  auto not_before =
      (reader.raw(certificate.signing_public_key.data(), certificate.signing_public_key.size()) &&
       reader.raw(certificate.wrapping_public_key.data(), certificate.wrapping_public_key.size()))
          ? reader.u64()
          : std::nullopt;
  auto not_after = reader.u64();
  if (!not_before || !not_after || *not_before > INT64_MAX || *not_after > INT64_MAX)
    return invalid("truncated");
  certificate.not_before_ms = static_cast<std::int64_t>(*not_before);
  certificate.not_after_ms = static_cast<std::int64_t>(*not_after);
  if (!reader.raw(certificate.authority_fingerprint.data(), certificate.authority_fingerprint.size()) ||
      !reader.raw(certificate.signature.data(), certificate.signature.size())) {
    return invalid("truncated");
  }
  if (!reader.at_end()) return invalid("trailing bytes");
  return certificate;
}

json::value certificate_to_json(const DeviceCertificate& certificate) {
  return json::object{
      {"version", certificate.version},
      {"device_id", to_text(certificate.device)},
      {"user", certificate.user},
      {"role", certificate.role},
      {"signing_public_key", internal::base64url_encode(certificate.signing_public_key)},
      {"wrapping_public_key", internal::base64url_encode(certificate.wrapping_public_key)},
      {"not_before", certificate.not_before_ms},
      {"not_after", certificate.not_after_ms},
      {"authority_fingerprint", internal::base64url_encode(certificate.authority_fingerprint)},
      {"signature", internal::base64url_encode(certificate.signature)},
  };
}

Result<DeviceCertificate> certificate_from_json(const json::value& value) {
  auto certificate = from_json(value);
  if (!certificate.ok()) return invalid(certificate.error().message);
  return certificate;
}

}  // namespace casefile::sync
