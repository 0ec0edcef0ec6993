// SyncClient: syncs one certified FieldDevice with casefiled over HTTPS
// (docs/device-sync.md tells the whole loop; docs/protocol.md the routes).
//
//   auto client = device::SyncClient::create(field_device);
//   auto report = client->sync_once([](const device::SyncProgress& p) { ...; return true; });
//
// One sync: sign in (or reuse the stored token), register cases created
// offline, upload the genesis keyring epoch of each (before any of its
// changes), push the outbox in batches until it is empty, purge cases the
// user is no longer a member of, refresh case keyrings (GET /v1/keys: verify
// and store changed heads, wrap held epochs to head members that lack them),
// pull pages until there are no more, then upload pending attachments
// whose records were pushed (device/attachments.hpp; a failed upload is
// recorded on its attachment and never fails the sync).
// Healing (docs/device-sync.md, "Healing"): every push and pull answer's
// instance epoch is compared with the one the device last synced with (a
// round that pushes asks first, with a one-entry pull). A new epoch, or a
// pull answered invalid_cursor, means the server was restored from an old
// backup: before anything else is pushed, the device re-pushes every change
// of its archive (device/change_archive.hpp) whose case the server lists it
// a member of, its own and those it pulled, under their original batch
// signatures, in bounded batches, recording its progress after each; then it
// resets its pull cursor and pulls. Cut short, the next sync resumes it.
// Resumable by construction: an outbox change leaves the outbox only with
// the server's verdict, and the pull cursor moves only with an applied page,
// so an interrupted sync loses nothing and the next one repeats little.
//
// Transport errors and 503 are retried with exponential backoff and full
// jitter; "pin_mismatch" and 4xx are not (a 401 token_expired or
// unauthenticated signs in again, once). A 403 device_revoked carries a wipe
// order: verified against the authority key it is obeyed (the report says
// wiped, the FieldDevice is unusable after); an order that does not verify
// is "wipe_order_invalid" and nothing is wiped.
//
// Errors: "not_certified", "invalid_argument", "sync_cancelled",
// "wipe_order_invalid", "push_stalled", "recovery_key_missing" (the server
// has no recovery key statement, so no genesis can be uploaded), the keyring
// codes of FieldDevice::accept_keyring, the transport's (https_client.hpp),
// the server's codes (docs/protocol.md), the replica's and FieldDevice's.
//
// Threading: runs on the caller's thread; one sync at a time per device.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "device/attachments.hpp"
#include "device/field_device.hpp"
#include "device/https_client.hpp"
#include "sync/ids.hpp"

namespace casefile::device {

// Waits before attempt n (n >= 2): uniform in [0, min(cap, base * 2^(n-2))]
// ("full jitter"); a 503's Retry-After is waited at least, up to cap.
struct RetryPolicy {
  std::chrono::milliseconds base{500};
  std::chrono::milliseconds cap{std::chrono::seconds(30)};
  int max_attempts = 6;  // per request, the first try included
};

struct SyncOptions {
  HttpsClientOptions http;
  RetryPolicy retry;
  std::size_t push_batch_size = 500;    // 1..1000 changes a batch
  std::size_t pull_page_size = 500;     // 1..1000 entries a page
  std::chrono::seconds watch_wait{30};  // long-poll wait in watch(), 1..60 s
  // Send the next push batch or pull page while the previous one's answer is
  // committed, on a worker thread that only touches the connection
  // (docs/device-sync.md, "Overlap"). Off: one request at a time (the
  // benchmarks' baseline).
  bool overlap = true;
  // How to wait between retries (default: sleep the thread).
  std::function<void(std::chrono::milliseconds)> sleep;
  // Attachment uploads at the end of each round (device/attachments.hpp).
  AttachmentUploadOptions attachments;
  AttachmentProgressCallback attachment_progress;
};

enum class SyncPhase { signing_in, pushing, healing, pulling };
std::string_view sync_phase_name(SyncPhase phase);

struct SyncProgress {
  SyncPhase phase = SyncPhase::signing_in;
  std::uint64_t done = 0;              // changes pushed, relayed or pulled so far
  std::optional<std::uint64_t> total;  // known for pushing (the outbox depth) and healing
};
// Called at each step; returning false cancels the sync ("sync_cancelled")
// before its next request. Nothing is lost: see "Resumable" above.
using SyncProgressCallback = std::function<bool(const SyncProgress&)>;

struct SyncReport {
  std::uint64_t pushed = 0;  // changes sent and answered
  std::uint64_t accepted = 0;
  std::uint64_t duplicate = 0;  // already held by the server (a resent batch)
  std::uint64_t refused = 0;    // quarantined: FieldDevice::quarantine()
  std::uint64_t pulled = 0;     // entries applied
  // Healing a restored server: archived changes re-pushed (relayed), those
  // the server lacked (accepted) and those it refused (not quarantined).
  bool healed = false;
  std::uint64_t relayed = 0;
  std::uint64_t relayed_accepted = 0;
  std::uint64_t relayed_refused = 0;
  std::vector<sync::CaseId> purged_cases;
  bool wiped = false;  // a verified wipe order was obeyed
  AttachmentUploadReport attachments;
};

class SyncClient {
 public:
  // REQUIRES: `device` outlives the client and is certified. Errors:
  // "not_certified", "invalid_argument" (an option out of range), "tls_failed".
  static Result<SyncClient> create(FieldDevice& device, SyncOptions options = {});

  SyncClient(SyncClient&&) noexcept;
  SyncClient& operator=(SyncClient&&) noexcept;
  ~SyncClient();

  // One full sync; FieldDevice::record_sync_completed when it succeeds.
  Result<SyncReport> sync_once(const SyncProgressCallback& progress = {});

  // Syncs until `stop()` is true (checked between steps; a long-poll in
  // flight ends within watch_wait): pushes whenever the outbox is not empty
  // and long-polls pull, so a colleague's change arrives within moments.
  // The report adds up every round.
  Result<SyncReport> watch(const std::function<bool()>& stop, const SyncProgressCallback& progress = {});
  Result<SyncReport> watch_for(std::chrono::milliseconds duration, const SyncProgressCallback& progress = {});

  // One authenticated request with the sync's retries, sign-in and
  // revocation handling (an attachment download: fetch_attachment). A
  // revoked device obeys its wipe order and gets "device_wiped".
  Result<HttpsResponse> send(const HttpsRequest& request);

  // The connection (tests drop it to prove reconnection).
  HttpsClient& transport();

 private:
  struct State;
  explicit SyncClient(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace casefile::device
