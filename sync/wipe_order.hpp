// WipeOrder: the organisation authority's order that a revoked device destroy
// its local keys and replica (DESIGN §1, threat 1). The server stores it and
// hands it to the device on its next contact; the device obeys only an order
// that verifies against the authority key it received at enrolment, so the
// server alone cannot wipe a device.
//
// Canonical encoding (docs/security.md), big-endian:
//   u8  version (1)
//   16  device id
//   u64 issued_at (ms since the Unix epoch)
//   u16 length + UTF-8 reason (0..1024 bytes)
//   32  authority fingerprint
// The authority signs "casefile wipe order v1" || 0x00 || encoding.
// The stored form is encoding || 64-byte signature.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <string>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/hash.hpp"
#include "sync/ids.hpp"

namespace casefile::sync {

inline constexpr std::uint8_t kWipeOrderVersion = 1;
inline constexpr std::string_view kWipeOrderLabel = "casefile wipe order v1";
inline constexpr std::size_t kMaxWipeReasonBytes = 1024;

struct WipeOrder {
  std::uint8_t version = kWipeOrderVersion;
  DeviceId device;
  std::int64_t issued_at_ms = 0;
  std::string reason;
  crypto::Sha256Digest authority_fingerprint{};
  crypto::Ed25519Signature signature{};

  friend bool operator==(const WipeOrder&, const WipeOrder&) = default;
};

// REQUIRES: reason.size() <= kMaxWipeReasonBytes (throws std::invalid_argument).
crypto::Bytes encode_wipe_order_body(const WipeOrder& order);
crypto::Bytes wipe_order_signing_message(const WipeOrder& order);

// Fills in the fingerprint and the signature. Errors: "invalid_argument"
// (reason too long), the signer's.
Result<WipeOrder> sign_wipe_order(WipeOrder order, const crypto::Ed25519PrivateKey& authority);

// Errors: "wipe_order_wrong_authority" (fingerprint of another key),
// "wipe_order_invalid" (version or signature).
Status verify_wipe_order(const WipeOrder& order, crypto::ByteView authority_public_key);

// Stored form: body || signature. Errors: "wipe_order_invalid".
crypto::Bytes encode_wipe_order(const WipeOrder& order);
Result<WipeOrder> decode_wipe_order(crypto::ByteView bytes);

// Wire form: {"version", "device_id", "issued_at", "reason",
// "authority_fingerprint", "signature"}, bytes as unpadded base64url.
// Errors: "wipe_order_invalid".
boost::json::value wipe_order_to_json(const WipeOrder& order);
Result<WipeOrder> wipe_order_from_json(const boost::json::value& json);

}  // namespace casefile::sync
