// TokenAuthenticator: the RequestAuthenticator over a ControlStore. Each
// request reads its token, device, user and memberships afresh, so a
// revocation, a disabled user or a membership change applies to the very
// next request, on every casefiled sharing the store (DESIGN §7).
#pragma once

#include <cstdint>
#include <functional>

#include "crypto/ed25519.hpp"
#include "server/access/control_store.hpp"
#include "server/access/device_context.hpp"

namespace casefile::server {

// Milliseconds since the Unix epoch; injected so tests control expiry.
using AccessClock = std::function<std::int64_t()>;
std::int64_t system_clock_ms();

class TokenAuthenticator final : public RequestAuthenticator {
 public:
  TokenAuthenticator(ControlStore& store, AccessClock clock) : store_(store), clock_(std::move(clock)) {}

  // Errors as RequestAuthenticator documents; "control_store_unavailable"
  // (500) when the store fails. Refusals of a known device are audited.
  Result<DeviceContext> authenticate(const Request& request) const override;
  // For "device_revoked", adds the stored wipe order of the token's device.
  Response refusal_response(const Request& request, const Error& error) const override;

 private:
  ControlStore& store_;
  AccessClock clock_;
};

}  // namespace casefile::server
