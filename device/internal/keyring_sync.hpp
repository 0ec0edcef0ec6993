// The pure half of the sync round's keyring steps (docs/device-sync.md):
// decoding GET /v1/keys, choosing which cases to refresh, and which held
// epochs to wrap to which head members. No I/O; sync_client.cpp does that.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "device/device_profile_store.hpp"
#include "sync/ids.hpp"
#include "sync/keyring_manifest.hpp"

namespace casefile::device::internal {

// One entry of GET /v1/keys: a case of the caller's user with a stored epoch.
struct ServerKeyringHead {
  sync::CaseId case_id;
  std::uint32_t head_epoch = 0;

  friend bool operator==(const ServerKeyringHead&, const ServerKeyringHead&) = default;
};

// At most this many cases in one GET /v1/keys answer (a device's user is a
// member of far fewer); a longer answer is refused, not truncated.
inline constexpr std::size_t kMaxKeyringIndexCases = 100'000;

// {"cases": [{"case": "<id>", "head_epoch": N}, ...]}, strictly: unknown
// members, a malformed id, an epoch outside 1..kMaxKeyringEpoch, a case
// listed twice or too many cases are "bad_response".
Result<std::vector<ServerKeyringHead>> decode_keyring_index(std::string_view body);

// At most this many recipients of one epoch (the server's wrap bound).
inline constexpr std::size_t kMaxEpochRecipients = 4096;

// The "recipients" list of each epoch in a GET /v1/keys/{case} body
// (protocol.md §5): epoch -> device ids, the recovery key as the nil id. The
// rest of the body is sync::decode_keyring_response's to check. An epoch
// without the member has no recipients listed. Errors: "bad_response" (not
// an array of ids, too many, an epoch listed twice).
Result<std::map<std::uint32_t, std::vector<sync::DeviceId>>> decode_keyring_recipients(std::string_view body);

// The cases whose keyring the round fetches: the server's head differs from
// the accepted one (or none is accepted), the accepted head's earlier epochs
// are not shared yet, or this device lacks some epoch's key (a member may
// have wrapped it since). Ascending.
std::vector<sync::CaseId> cases_to_refresh(std::span<const ServerKeyringHead> server,
                                           std::span<const KeyringHeadSummary> local);

// Which held epochs go to whom: for every member of `head` other than
// `self`, each epoch in `held_epochs` whose recipients (GET /v1/keys/{case})
// do not list it. Only head members ever receive a wrap: the head is
// authority-signed (or a verified genesis), the recipient lists are the
// server's word only. Result: epoch -> recipients, both ascending; epochs
// with nobody missing are left out.
std::map<std::uint32_t, std::vector<sync::DeviceId>> plan_held_epoch_sharing(
    const sync::KeyringManifest& head, const sync::DeviceId& self, std::span<const std::uint32_t> held_epochs,
    const std::map<std::uint32_t, std::vector<sync::DeviceId>>& recipients_by_epoch);

}  // namespace casefile::device::internal
