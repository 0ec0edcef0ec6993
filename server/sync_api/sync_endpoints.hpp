// The sync endpoints of casefiled (docs/protocol.md):
//
//   POST /v1/sync/push   a signed batch (sync/change_json.hpp) -> a verdict per change
//   GET  /v1/sync/pull?cursor=&limit=&wait=   a page of the caller's cases' log;
//        with wait > 0 and nothing new, the request is parked (no thread held)
//        until a commit touches one of those cases or `wait` seconds pass.
//
// Both authenticate with the RequestAuthenticator on every request, and
// every wake of a parked pull, so a revocation applies at once; a refusal is
// the authenticator's own response (a revoked device gets its wipe order).
// Pushes and pulls that returned changes are audited with their change ids
// and sequences.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "base/result.hpp"
#include "server/access/control_store.hpp"
#include "server/access/device_context.hpp"
#include "server/blocking_work_pool.hpp"
#include "server/http_message.hpp"
#include "server/metrics.hpp"
#include "server/router.hpp"
#include "server/sync_api/change_notifier.hpp"
#include "server/sync_api/notifying_server_store.hpp"
#include "sync/hlc.hpp"
#include "sync/push.hpp"
#include "sync/store.hpp"

namespace casefile::server {

// The header a device reports its outbox depth in (changes not yet pushed,
// this batch included), a metric of how far behind the field is.
inline constexpr std::string_view kOutboxDepthHeader = "Casefile-Outbox-Depth";

// The header every push and pull answer carries the instance epoch in
// (server/store/instance_epoch.hpp): a device that sees it change heals the
// server from its change archive.
inline constexpr std::string_view kInstanceEpochHeader = "Casefile-Instance-Epoch";

struct SyncEndpointOptions {
  std::size_t max_push_body_bytes = 8 * 1024 * 1024;
  std::size_t default_pull_limit = 100;  // the maximum is sync::kMaxPullLimit (1000)
  std::chrono::seconds max_pull_wait{60};
  std::uint64_t max_forward_skew_millis = sync::kDefaultMaxForwardSkewMillis;
  // Threads that re-read the log for woken pulls, and their queue.
  std::size_t wake_threads = 2;
  std::size_t wake_queue = 4096;
  // Sent in kInstanceEpochHeader when not empty.
  std::string instance_epoch{};
  // Accepts relayed batches (sync/push.hpp) when set.
  sync::CertifiedAuthorKey relayed_author_key{};
};

// Appends one audit entry (ControlStore::append_audit in casefiled).
using AuditRecorder = std::function<Status(const AuditEvent&)>;
// Milliseconds since the Unix epoch.
using WallClock = std::function<std::uint64_t()>;
std::uint64_t wall_clock_millis();

class SyncEndpoints {
 public:
  // REQUIRES: every reference outlives this object. Commits through these
  // endpoints signal `notifier`.
  SyncEndpoints(sync::ServerStore& store, ChangeNotifier& notifier, const RequestAuthenticator& authenticator,
                AuditRecorder audit, MetricsRegistry& metrics, SyncEndpointOptions options = {},
                WallClock clock = wall_clock_millis);
  ~SyncEndpoints();  // stop()
  SyncEndpoints(const SyncEndpoints&) = delete;
  SyncEndpoints& operator=(const SyncEndpoints&) = delete;

  Response push(const Request& request);
  // Answers through `respond`, now or when woken.
  void pull(const Request& request, Router::Responder respond);

  // Answers every parked pull with what it has (an empty page), then
  // finishes the pulls being re-read. Idempotent; later pulls are not parked.
  void stop();

 private:
  struct ParkedPull;
  Response judge_push(const Request& request);
  void attempt_pull(const std::shared_ptr<ParkedPull>& pull);

  NotifyingServerStore store_;
  ChangeNotifier& notifier_;
  const RequestAuthenticator& authenticator_;
  AuditRecorder audit_;
  SyncEndpointOptions options_;
  WallClock clock_;
  Counter& pushes_ok_;
  Counter& pushes_refused_;
  Counter& pushes_failed_;
  Counter& changes_accepted_;
  Counter& changes_duplicate_;
  Counter& changes_refused_;
  Histogram& commit_seconds_;
  Histogram& outbox_depth_;
  Counter& pulls_;
  Counter& pulled_entries_;
  Counter& pulls_parked_;
  Gauge& pulls_waiting_;
  BlockingWorkPool wake_pool_;
};

}  // namespace casefile::server
