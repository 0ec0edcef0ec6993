// Enrolment of a FieldDevice with casefiled (docs/security.md §3,
// docs/device-sync.md): read the payload an admin's `casefile-admin enrol`
// shows (text or QR), send the enrolment, then poll until certified.
//
//   auto enrolled = device::enrol(field_device, payload_text);
//   ... later, until it says certified:
//   auto checked = device::check_certification(field_device);
#pragma once

#include <cstdint>
#include <string_view>

#include "base/result.hpp"
#include "crypto/hash.hpp"
#include "device/field_device.hpp"
#include "device/https_client.hpp"
#include "sync/device_authentication.hpp"

namespace casefile::device {

// {"v":1,"url":"https://host:port","pin":"<b64url 32>","authority":"<b64url 32>","code":"ABCD-..."}
struct EnrolmentPayload {
  ServerEndpoint server;  // url, host, port and pin
  crypto::Sha256Digest authority_fingerprint{};
  sync::EnrolmentCode code{};
};

// Strict: exactly those five members, v = 1, an https URL of a host (name,
// IPv4, or [IPv6]) and a port with nothing after it, 32-byte pin and
// fingerprint, a well-formed code. Errors: "enrolment_payload_invalid".
Result<EnrolmentPayload> parse_enrolment_payload(std::string_view text);

// Sends POST /v1/enrol with the device's keys and its proof over TLS pinned
// to the payload's pin, then records the server and fingerprint
// (FieldDevice::begin_enrolment; state pending). Errors:
// "enrolment_payload_invalid", "already_enrolled" (the device is not new),
// the server's ("enrolment_code_invalid", "enrolment_proof_invalid",
// "device_exists"), the transport's (https_client.hpp), the profile's.
Status enrol(FieldDevice& device, std::string_view payload, const HttpsClientOptions& options = {});

struct CertificationCheck {
  EnrolmentState state = EnrolmentState::pending;
  bool wiped = false;  // the device was revoked and obeyed the wipe order
};

// GET /v1/enrol/{id}. When certified: fetches GET /v1/authority, trusts the
// key only if it matches the enrolled fingerprint, and records the
// certificate (FieldDevice::record_certificate). A revocation's wipe order
// is verified against that key and obeyed (wiped = true). Errors:
// "not_enrolled", "authority_mismatch", "wipe_order_invalid", the server's,
// the transport's, record_certificate's.
Result<CertificationCheck> check_certification(FieldDevice& device, const HttpsClientOptions& options = {});

}  // namespace casefile::device
