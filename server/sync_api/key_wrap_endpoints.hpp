// The case-key endpoints: wraps and keyring manifests stored for devices,
// opaque to the server (DESIGN §5; docs/protocol.md shows the bodies).
//
//   PUT /v1/keys/{case_id}/epochs/{epoch}   a member uploads a new epoch:
//       the authority-signed manifest and one HPKE wrap per recipient device
//   GET /v1/keys/{case_id}                  a member fetches the manifest
//       chain, its own wrap of each epoch and each epoch's recipients
//   GET /v1/keys                            the head epoch of every case of
//       the caller's user that has one (one cheap request a sync round)
//   POST /v1/keys/{case_id}/epochs/{epoch}/wraps   a member adds wraps of a
//       stored epoch for head members that lack it (adding a member)
//
// Members of the case only ("case_not_member", 403). Epochs only go up
// ("epoch_not_monotonic", 409); re-sending a stored epoch unchanged is 200.
// Added wraps go only to the case's current recipients
// ("recipient_not_member", 403), never replace a wrap ("wrap_exists", 409),
// and are all-or-nothing.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "server/access/control_store.hpp"
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

// The devices a case's key may be wrapped to now (server/access/
// case_key_recipients.hpp over the control store). Errors: the store's.
using CaseKeyRecipients = std::function<Result<std::vector<sync::DeviceId>>(const sync::CaseId&)>;

// The check casefiled uses: case_key_recipients over `store`.
// REQUIRES: `store` outlives the function.
CaseKeyRecipients control_store_case_key_recipients(ControlStore& store);

class KeyWrapEndpoints {
 public:
  // REQUIRES: every reference outlives this object.
  KeyWrapEndpoints(KeyWrapStore& store, const RequestAuthenticator& authenticator, AuditRecorder audit,
                   CaseKeyRecipients recipients, KeyWrapLimits limits = {},
                   WallClock clock = wall_clock_millis)
      : store_(store),
        authenticator_(authenticator),
        audit_(std::move(audit)),
        recipients_(std::move(recipients)),
        limits_(limits),
        clock_(std::move(clock)) {}

  Response put_epoch(const Request& request);
  Response get_keys(const Request& request);
  Response list_heads(const Request& request);
  Response add_wraps(const Request& request);

 private:
  KeyWrapStore& store_;
  const RequestAuthenticator& authenticator_;
  AuditRecorder audit_;
  CaseKeyRecipients recipients_;
  KeyWrapLimits limits_;
  WallClock clock_;
};

}  // namespace casefile::server
