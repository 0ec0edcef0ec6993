// The TLS keys a device accepts from its server, and how they move
// (docs/device-sync.md, "TLS pins"). The device pins the server's key at
// enrolment; the organisation announces the next key in an authority-signed
// pin statement (sync/tls_pin_statement.hpp) that casefiled serves at
// GET /v1/tls-pins. Each sync round starts with refresh_tls_pins():
//   1. the HTTPS client accepts the pinned key and the announced next key;
//   2. it fetches the statement; when the connection was made under the next
//      key, the server has rotated: the next key becomes the pin;
//   3. a statement that verifies against the enrolled authority key, with a
//      sequence not below the accepted one, is stored: its current key is
//      the pin and its next key the one also accepted.
// A device that missed the announcement gets "pin_mismatch"; the admin's
// `casefile-admin tls repin-code` gives the statement text for
// install_tls_pin_statement (`casefile-device repin --statement S`).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "base/result.hpp"
#include "crypto/hash.hpp"
#include "device/field_device.hpp"
#include "device/https_client.hpp"
#include "sync/tls_pin_statement.hpp"

namespace casefile::device {

struct AcceptedTlsPins {
  crypto::Sha256Digest pin{};                // the profile's server pin
  std::optional<crypto::Sha256Digest> next;  // announced, also accepted
  std::optional<std::uint64_t> sequence;     // of the statement accepted last
};

// Errors: "not_certified", "store_unavailable".
Result<AcceptedTlsPins> accepted_tls_pins(FieldDevice& device);

// Verifies `statement` against the enrolled authority key, refuses one older
// than the accepted, and installs it: pin = its current key, next = its next
// key. Errors: "not_certified", "tls_pins_wrong_authority", "tls_pins_invalid",
// "tls_pins_stale", "store_unavailable".
Status install_tls_pin_statement(FieldDevice& device, const sync::TlsPinStatement& statement);

// Sends one request through `client` (the sync client's retrying send).
using TlsPinsSend = std::function<Result<HttpsResponse>(const HttpsRequest&)>;

// The pin refresh step of a sync round (steps 1 to 3 above); the statement
// is fetched with `send`, so transport failures are retried like any other
// request. A 404 (no statement issued) or a statement older than the
// accepted one changes nothing. Errors: the transport's (https_client.hpp),
// install's verification codes, "bad_response".
Status refresh_tls_pins(FieldDevice& device, HttpsClient& client, const TlsPinsSend& send);

}  // namespace casefile::device
