// The server's push path: judge each change of a signed batch, commit the
// accepted ones in one transaction, and answer with a verdict per change.
//
// Verdicts:
//   accepted  - new; committed with `sequence`.
//   duplicate - this exact change (same canonical bytes) was accepted before;
//               `sequence` is the one it was given then.
//   refused   - not committed; `reason` says why. Other changes of the batch
//               are judged on their own.
// Refusals are not remembered: a refused change has no effect, so a retry is
// judged afresh (membership or the clock may have changed since).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <vector>

#include "base/result.hpp"
#include "crypto/ed25519.hpp"
#include "sync/batch.hpp"
#include "sync/change_validator.hpp"
#include "sync/hlc.hpp"
#include "sync/store.hpp"

namespace casefile::sync {

enum class VerdictKind { accepted, duplicate, refused };

struct Verdict {
  ChangeId change;
  VerdictKind kind = VerdictKind::refused;
  std::uint64_t sequence = 0;  // accepted and duplicate only
  Error reason;                // refused only

  friend bool operator==(const Verdict&, const Verdict&) = default;
};

struct PushResponse {
  std::uint64_t server_time_millis = 0;  // devices adopt it when behind
  std::vector<Verdict> verdicts;         // one per change, in batch order

  friend bool operator==(const PushResponse&, const PushResponse&) = default;
};

// The signing key of a certified device (revoked ones included), from its
// authority-signed certificate; nullopt for a device never certified.
using CertifiedAuthorKey = std::function<Result<std::optional<crypto::Ed25519PublicKey>>(const DeviceId&)>;

// Who is pushing, as the server's authentication layer established it.
struct PushContext {
  DeviceId device;
  crypto::Ed25519PublicKey device_public_key{};
  std::set<CaseId> writable_cases;
  std::uint64_t server_now_millis = 0;
  std::uint64_t max_forward_skew_millis = kDefaultMaxForwardSkewMillis;
  const ChangeValidator* validator = nullptr;  // optional
  // Relayed batches (docs/operations.md, "Devices heal a restored server"):
  // a batch signed by another device than the pusher is accepted when this
  // lookup knows its author and the signature verifies under the author's
  // key. The pusher must still be a member of each change's case. Unset:
  // such a batch is refused with "author_mismatch".
  CertifiedAuthorKey relayed_author_key;
};

// Refusal codes: "author_mismatch", "author_unknown" (a relayed batch whose
// author was never certified), "batch_signature_invalid",
// "inclusion_proof_invalid", "change_invalid", "change_id_reused" (the id
// was accepted before with other bytes), "case_not_member", "clock_skew",
// and any code the validator returns.
// Errors (nothing committed; the device retries the batch): the store's.
Result<PushResponse> handle_push(ServerStore& store, const PushContext& context, const Batch& batch);

}  // namespace casefile::sync
