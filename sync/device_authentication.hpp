// The messages a device signs to enrol and to authenticate, and the wire
// forms of both requests. The device library builds them, the server checks
// them (docs/security.md, "Enrolment" and "Authentication").
#pragma once

#include <array>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/hash.hpp"
#include "crypto/x25519.hpp"
#include "sync/ids.hpp"
#include "sync/strict_json.hpp"

namespace casefile::sync {

// Byte strings on the wire (keys, signatures, challenges, tokens): RFC 4648
// §5 base64url without padding, decoded strictly (one text per byte string).
std::string bytes_to_wire_text(crypto::ByteView bytes);
std::optional<crypto::Bytes> bytes_from_wire_text(std::string_view text);

// An enrolment code: 20 random bytes (160 bits), shown to people as 32
// RFC 4648 base32 characters in groups of four: "ABCD-EFGH-...".
inline constexpr std::size_t kEnrolmentCodeSize = 20;
using EnrolmentCode = std::array<std::uint8_t, kEnrolmentCodeSize>;
std::string enrolment_code_to_text(const EnrolmentCode& code);
// Accepts either case, with or without '-' and ' ' between characters; nothing
// else. std::nullopt for anything that is not exactly one code.
std::optional<EnrolmentCode> enrolment_code_from_text(std::string_view text);

// The enrolment payload an admin hands to a device (as text or a QR code),
// compact JSON: {"v":1,"url":"https://host:port","pin":"<b64url SPKI SHA-256>",
// "authority":"<b64url authority fingerprint>","code":"ABCD-..."}
// (docs/security.md §3). The device library parses it (device/enrolment.hpp).
boost::json::object enrolment_payload(std::string_view url, const crypto::Sha256Digest& tls_pin,
                                      const crypto::Sha256Digest& authority_fingerprint,
                                      std::string_view code_text);

// Signed by the new device signing key, binding both keys to the code:
// "casefile enrolment proof v1" || 0x00 || code (20) || device id (16) ||
// signing public key (32) || wrapping public key (32).
inline constexpr std::string_view kEnrolmentProofLabel = "casefile enrolment proof v1";
crypto::Bytes enrolment_proof_message(const EnrolmentCode& code, const DeviceId& device,
                                      const crypto::Ed25519PublicKey& signing_public_key,
                                      const crypto::X25519PublicKey& wrapping_public_key);

struct EnrolmentRequest {
  EnrolmentCode code{};
  DeviceId device;
  crypto::Ed25519PublicKey signing_public_key{};
  crypto::X25519PublicKey wrapping_public_key{};
  crypto::Ed25519Signature proof{};
};

// Signs the proof with the device's new signing key.
Result<EnrolmentRequest> make_enrolment_request(const EnrolmentCode& code, const DeviceId& device,
                                                const crypto::Ed25519PrivateKey& signing_key,
                                                const crypto::X25519PublicKey& wrapping_public_key);
// True when the proof is the request's signing key's signature of its message.
bool enrolment_proof_valid(const EnrolmentRequest& request);

// {"code", "device_id", "signing_public_key", "wrapping_public_key", "proof"}.
// Errors: strict_json's and JSON shape codes ("json_missing_member", ...,
// "json_invalid_value" for a malformed code, id, key or signature).
std::string encode_enrolment_request(const EnrolmentRequest& request);
Result<EnrolmentRequest> decode_enrolment_request(std::string_view body);

// Signed by the device to obtain a bearer token:
// "casefile auth challenge v1" || 0x00 || challenge (32) || device id (16) ||
// server TLS SPKI SHA-256 pin (32). The pin binds the answer to the server
// the device pinned, so a signature relayed to another server is useless.
inline constexpr std::string_view kAuthChallengeLabel = "casefile auth challenge v1";
inline constexpr std::size_t kAuthChallengeSize = 32;
using AuthChallenge = std::array<std::uint8_t, kAuthChallengeSize>;
crypto::Bytes auth_challenge_message(const AuthChallenge& challenge, const DeviceId& device,
                                     const crypto::Sha256Digest& server_tls_pin);

struct TokenRequest {
  DeviceId device;
  AuthChallenge challenge{};
  crypto::Ed25519Signature signature{};
};

// {"device_id"}.
std::string encode_challenge_request(const DeviceId& device);
Result<DeviceId> decode_challenge_request(std::string_view body);
// {"device_id", "challenge", "signature"}.
std::string encode_token_request(const TokenRequest& request);
Result<TokenRequest> decode_token_request(std::string_view body);

}  // namespace casefile::sync
