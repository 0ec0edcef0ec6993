// DeviceCertificate: the organisation authority's statement that a device's
// two public keys belong to a user with a role, for a period (DESIGN §5).
// The server and every device verify it: the server cannot add a device to a
// case without one (DESIGN §1, threat 3).
//
// Canonical encoding (docs/security.md walks through the bytes), big-endian:
//   u8  version (1)
//   16  device id
//   u16 length + UTF-8 user name (1..128 bytes)
//   u16 length + role name ("lawyer", "supervisor" or "admin")
//   32  Ed25519 signing public key
//   32  X25519 wrapping public key
//   u64 not_before, u64 not_after (ms since the Unix epoch, inclusive)
//   32  authority fingerprint: SHA-256 of the authority's Ed25519 public key
// The authority signs "casefile device certificate v1" || 0x00 || encoding.
// The stored form is encoding || 64-byte signature.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <string>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/hash.hpp"
#include "crypto/x25519.hpp"
#include "sync/ids.hpp"

namespace casefile::sync {

inline constexpr std::uint8_t kDeviceCertificateVersion = 1;
inline constexpr std::string_view kDeviceCertificateLabel = "casefile device certificate v1";
inline constexpr std::size_t kMaxUserNameBytes = 128;

struct DeviceCertificate {
  std::uint8_t version = kDeviceCertificateVersion;
  DeviceId device;
  std::string user;
  std::string role;  // "lawyer", "supervisor" or "admin"
  crypto::Ed25519PublicKey signing_public_key{};
  crypto::X25519PublicKey wrapping_public_key{};
  std::int64_t not_before_ms = 0;
  std::int64_t not_after_ms = 0;
  crypto::Sha256Digest authority_fingerprint{};
  crypto::Ed25519Signature signature{};

  friend bool operator==(const DeviceCertificate&, const DeviceCertificate&) = default;
};

// True for a user name the formats accept: 1..128 bytes of [a-z0-9._-].
bool valid_user_name(std::string_view name);
bool valid_role_name(std::string_view role);

// The canonical encoding of every field but the signature.
// REQUIRES: valid user and role names (a programming error otherwise: throws
// std::invalid_argument).
crypto::Bytes encode_certificate_body(const DeviceCertificate& certificate);
// What the authority signs: label, zero byte, body.
crypto::Bytes certificate_signing_message(const DeviceCertificate& certificate);

// Fills in the authority fingerprint and the signature. Errors: the signer's.
Result<DeviceCertificate> sign_certificate(DeviceCertificate certificate,
                                           const crypto::Ed25519PrivateKey& authority);

// Checks, in this order: the fingerprint names `authority_public_key`
// ("certificate_wrong_authority"), the version and the signature
// ("certificate_invalid"), and that not_before <= now_ms <= not_after
// ("certificate_expired", also before the period starts).
Status verify_certificate(const DeviceCertificate& certificate, crypto::ByteView authority_public_key,
                          std::int64_t now_ms);

// Stored form: body || signature. Decoding is strict (no trailing bytes,
// valid names). Errors: "certificate_invalid".
crypto::Bytes encode_certificate(const DeviceCertificate& certificate);
Result<DeviceCertificate> decode_certificate(crypto::ByteView bytes);

// Wire form: {"version", "device_id", "user", "role", "signing_public_key",
// "wrapping_public_key", "not_before", "not_after", "authority_fingerprint",
// "signature"}; keys, fingerprint and signature as unpadded base64url.
// Errors: "certificate_invalid" (the message names the member).
boost::json::value certificate_to_json(const DeviceCertificate& certificate);
Result<DeviceCertificate> certificate_from_json(const boost::json::value& json);

}  // namespace casefile::sync
