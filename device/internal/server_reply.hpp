// What enrolment and the sync client both do with the server's answers:
// strict JSON bodies, refusals as errors, the authority key checked against
// the enrolment fingerprint, and wipe orders verified before they are obeyed.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/hash.hpp"
#include "device/field_device.hpp"
#include "device/https_client.hpp"

namespace casefile::device::internal {

// The response body as a JSON object, parsed strictly (sync/strict_json.hpp).
// Errors: "bad_response".
Result<boost::json::object> json_object_body(const HttpsResponse& response);

// A required string member. Errors: "bad_response".
Result<std::string> string_member(const boost::json::object& object, std::string_view name);

// The server's refusal as an Error: its "error" code and "message", or
// "bad_response" when the body is not an error document.
Error server_refusal(const HttpsResponse& response);

// True for "403 device_revoked" (the body should carry a wipe order).
bool is_revocation(const HttpsResponse& response);

// GET /v1/authority; the key is trusted only when its SHA-256 equals
// `fingerprint` (from the enrolment payload). Errors: "authority_mismatch",
// "bad_response", the server's refusal, the transport's.
Result<crypto::Ed25519PublicKey> fetch_authority_key(HttpsClient& client,
                                                     const crypto::Sha256Digest& fingerprint);

// Obeys the wipe order in a device_revoked response: it must verify against
// `authority_key` and name this device, then FieldDevice::wipe(). Errors:
// "wipe_order_invalid" (nothing is wiped), wipe()'s.
Status obey_wipe_order(FieldDevice& device, const HttpsResponse& response,
                       const crypto::Ed25519PublicKey& authority_key);

}  // namespace casefile::device::internal
