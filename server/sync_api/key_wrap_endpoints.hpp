// The case-key endpoints: wraps and keyring manifests stored for devices,
// opaque to the server (DESIGN §5; docs/protocol.md shows the bodies).
//
//   PUT /v1/keys/{case_id}/epochs/{epoch}   a member uploads a new epoch:
//       the authority-signed manifest and one HPKE wrap per recipient device
//   GET /v1/keys/{case_id}                  a member fetches the manifest
//       chain and its own wrap of each epoch
//
// Members of the case only ("case_not_member", 403). Epochs only go up
// ("epoch_not_monotonic", 409); re-sending a stored epoch unchanged is 200.
#pragma once

#include <cstddef>

#include "server/access/device_context.hpp"
#include "server/http_message.hpp"
#include "server/sync_api/key_wrap_store.hpp"
#include "server/sync_api/sync_endpoints.hpp"

namespace casefile::server {

struct KeyWrapLimits {
  std::size_t max_manifest_bytes = 64 * 1024;
  std::size_t max_wrap_bytes = 1024;  // an HPKE wrap of a 32-byte key is about 80
  std::size_t max_wraps = 4096;       // recipients of one epoch
  std::uint32_t max_epoch = 0x7fffffff;
};

class KeyWrapEndpoints {
 public:
  // REQUIRES: every reference outlives this object.
  KeyWrapEndpoints(KeyWrapStore& store, const RequestAuthenticator& authenticator, AuditRecorder audit,
                   KeyWrapLimits limits = {}, WallClock clock = wall_clock_millis)
      : store_(store),
        authenticator_(authenticator),
        audit_(std::move(audit)),
        limits_(limits),
        clock_(std::move(clock)) {}

  Response put_epoch(const Request& request);
  Response get_keys(const Request& request);

 private:
  KeyWrapStore& store_;
  const RequestAuthenticator& authenticator_;
  AuditRecorder audit_;
  KeyWrapLimits limits_;
  WallClock clock_;
};

}  // namespace casefile::server
