// The body of GET /v1/keys/{case_id} (protocol.md §5), decoded strictly into
// the entries CaseKeyring::open takes:
//   {"case": "<uuid>", "epochs": [{"epoch": n, "manifest": "<b64url>",
//                                  "wrap": "<b64url>" | null,
//                                  "recipients": ["<id>", ...]}, ...]}
// Only the shape is checked here; the manifests and wraps are checked by
// CaseKeyring::open. "recipients" (optional) is the server's word on who holds
// each epoch; the device reads it apart (device/internal/keyring_sync.hpp),
// where it only decides whom to share held epochs with.
#pragma once

#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "sync/case_keyring.hpp"
#include "sync/ids.hpp"

namespace casefile::sync {

// The server's bounds (protocol.md §5): a manifest is 1 byte to 64 KiB, a wrap
// 1 to 1024 bytes.
inline constexpr std::size_t kMaxManifestBytes = 64 * 1024;
inline constexpr std::size_t kMaxWrapBytes = 1024;

// Errors: strict_json's, the JSON shape codes ("json_missing_member",
// "json_unknown_member", "json_wrong_type", "json_invalid_value": an epoch
// outside 1..kMaxKeyringEpoch, empty or oversized bytes, a malformed id), and
// "keyring_case_mismatch" (the body names another case than `case_id`).
Result<std::vector<KeyringEpochEntry>> decode_keyring_response(std::string_view body, const CaseId& case_id);

}  // namespace casefile::sync
