#include "server/sync_api/sync_endpoints.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <charconv>
#include <optional>

#include "server/query_string.hpp"
#include "sync/change_json.hpp"
#include "sync/pull.hpp"
#include "sync/push.hpp"
#include "sync/response_json.hpp"
#include "sync/schema_change_validator.hpp"

namespace casefile::server {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::uint64_t kMaxOutboxDepth = 1'000'000'000;

std::vector<double> outbox_depth_buckets() { return {0, 1, 10, 100, 1000, 10'000, 100'000}; }

std::string device_actor(const sync::DeviceId& device) { return "device:" + sync::to_text(device); }

std::string change_id_text(const sync::ChangeId& id) {
  return sync::to_text(id.device) + ":" + std::to_string(id.sequence);
}

Response json_text_response(std::string body) {
  Response response;
  response.body = std::move(body);
  return response;
}

// Every answer of the sync routes names the instance epoch, errors included,
// so a device notices a restore on whatever it asks first.
Response with_epoch(Response response, const std::string& epoch) {
  if (!epoch.empty()) response.headers.emplace_back(std::string(kInstanceEpochHeader), epoch);
  return response;
}

// 413 for a body over its limit, 400 for any other shape or syntax error.
Response bad_body(const Error& error) {
  return error_response(error.code == "json_too_large" ? 413 : 400, error.code, error.message);
}

Response store_failure(const Error& error) {
  // Nothing was committed. A full disk is 507: the device reports it and
  // keeps its outbox; retrying at once would not help.
  if (error.code == "storage_full") return error_response(507, error.code, error.message);
  // The device retries the whole request.
  const bool unavailable = error.code == "store_unavailable";
  Response response = error_response(unavailable ? 503 : 500, error.code, error.message);
  if (unavailable) response.headers.emplace_back("Retry-After", "1");
  return response;
}

Response audit_failure(const Error& error) {
  return error_response(500, "audit_unavailable", "the audit log could not be written (" + error.code + ")");
}

// A missing header is no report; anything but a decimal count is refused.
Result<std::optional<std::uint64_t>> outbox_depth(const Request& request) {
  const std::string_view text = request.header(kOutboxDepthHeader);
  if (text.empty()) return std::optional<std::uint64_t>();
  std::uint64_t depth = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), depth);
  if (error != std::errc() || end != text.data() + text.size() || depth > kMaxOutboxDepth) {
    return make_error(
        "invalid_outbox_depth",
        std::string(kOutboxDepthHeader) + " must be an integer from 0 to " + std::to_string(kMaxOutboxDepth));
  }
  return std::optional<std::uint64_t>(depth);
}

boost::json::object push_audit_details(const sync::Batch& batch, const sync::PushResponse& response) {
  boost::json::array accepted;
  boost::json::array duplicate;
  boost::json::array refused;
  for (const sync::Verdict& verdict : response.verdicts) {
    switch (verdict.kind) {
      case sync::VerdictKind::accepted:
        accepted.emplace_back(change_id_text(verdict.change));
        break;
      case sync::VerdictKind::duplicate:
        duplicate.emplace_back(change_id_text(verdict.change));
        break;
      case sync::VerdictKind::refused:
        refused.emplace_back(
            boost::json::object{{"id", change_id_text(verdict.change)}, {"code", verdict.reason.code}});
        break;
    }
  }
  return {{"batch", sync::to_text(batch.header.id)},
          {"accepted", std::move(accepted)},
          {"duplicate", std::move(duplicate)},
          {"refused", std::move(refused)}};
}

}  // namespace

std::uint64_t wall_clock_millis() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

struct SyncEndpoints::ParkedPull {
  Request request;
  Router::Responder respond;
  std::string cursor;
  std::size_t limit = 0;
  SteadyClock::time_point deadline;
  std::optional<sync::PullPage> last_page;  // what a closing server answers with
  // `case`: only this case's changes (a device catching up on a case it was
  // added to after its cursor had passed the case's earlier changes).
  std::optional<sync::CaseId> only_case;
};

SyncEndpoints::SyncEndpoints(sync::ServerStore& store, ChangeNotifier& notifier,
                             const RequestAuthenticator& authenticator, AuditRecorder audit,
                             MetricsRegistry& metrics, SyncEndpointOptions options, WallClock clock)
    : store_(store, notifier),
      notifier_(notifier),
      authenticator_(authenticator),
      audit_(std::move(audit)),
      options_(options),
      clock_(std::move(clock)),
      pushes_ok_(metrics.counter("casefile_sync_pushes_total", "Push requests, by outcome.",
                                 {{"outcome", "answered"}})),
      pushes_refused_(metrics.counter("casefile_sync_pushes_total", "", {{"outcome", "refused"}})),
      pushes_failed_(metrics.counter("casefile_sync_pushes_total", "", {{"outcome", "failed"}})),
      changes_accepted_(metrics.counter("casefile_sync_pushed_changes_total", "Pushed changes, by verdict.",
                                        {{"verdict", "accepted"}})),
      changes_duplicate_(
          metrics.counter("casefile_sync_pushed_changes_total", "", {{"verdict", "duplicate"}})),
      changes_refused_(metrics.counter("casefile_sync_pushed_changes_total", "", {{"verdict", "refused"}})),
      commit_seconds_(metrics.histogram("casefile_sync_push_commit_seconds",
                                        "Time to judge and durably commit one push.",
                                        default_latency_buckets())),
      outbox_depth_(metrics.histogram("casefile_sync_device_outbox_depth",
                                      "Outbox depth devices report with each push (Casefile-Outbox-Depth).",
                                      outbox_depth_buckets())),
      pulls_(metrics.counter("casefile_sync_pulls_total", "Pull pages answered.")),
      pulled_entries_(
          metrics.counter("casefile_sync_pulled_entries_total", "Log entries sent in pull pages.")),
      pulls_parked_(metrics.counter("casefile_sync_pulls_parked_total", "Pulls that waited for a commit.")),
      pulls_waiting_(metrics.gauge("casefile_sync_pulls_waiting", "Pulls parked now, waiting for a commit.")),
      wake_pool_(options.wake_threads, options.wake_queue) {}

SyncEndpoints::~SyncEndpoints() { stop(); }

void SyncEndpoints::stop() {
  notifier_.close();
  wake_pool_.stop();
}

Response SyncEndpoints::push(const Request& request) {
  return with_epoch(judge_push(request), options_.instance_epoch);
}

Response SyncEndpoints::judge_push(const Request& request) {
  auto caller = authenticator_.authenticate(request);
  if (!caller.ok()) {
    pushes_refused_.increment();
    return authenticator_.refusal_response(request, caller.error());
  }
  auto depth = outbox_depth(request);
  if (!depth.ok()) {
    pushes_refused_.increment();
    return error_response(400, depth.error().code, depth.error().message);
  }
  sync::JsonLimits limits;
  limits.max_bytes = options_.max_push_body_bytes;
  auto batch = sync::decode_push_request(request.body, limits);
  if (!batch.ok()) {
    pushes_refused_.increment();
    return bad_body(batch.error());
  }
  if (*depth) outbox_depth_.observe(static_cast<double>(**depth));

  const sync::SchemaChangeValidator validator(
      [this](const sync::RecordKey& key) -> Result<std::optional<sync::RecordState>> {
        auto stored = store_.load_record(key);
        if (!stored.ok()) return std::move(stored).error();
        if (!stored->has_value()) return std::optional<sync::RecordState>();
        return std::optional<sync::RecordState>(std::move((*stored)->state));
      });
  sync::PushContext context;
  context.device = caller->device;
  context.device_public_key = caller->signing_key;
  context.writable_cases = caller->member_cases;
  context.server_now_millis = clock_();
  context.max_forward_skew_millis = options_.max_forward_skew_millis;
  context.validator = &validator;
  context.relayed_author_key = options_.relayed_author_key;

  const auto started = SteadyClock::now();
  auto answer = sync::handle_push(store_, context, *batch);
  commit_seconds_.observe(std::chrono::duration<double>(SteadyClock::now() - started).count());
  if (!answer.ok()) {
    pushes_failed_.increment();
    return store_failure(answer.error());
  }
  for (const sync::Verdict& verdict : answer->verdicts) {
    switch (verdict.kind) {
      case sync::VerdictKind::accepted:
        changes_accepted_.increment();
        break;
      case sync::VerdictKind::duplicate:
        changes_duplicate_.increment();
        break;
      case sync::VerdictKind::refused:
        changes_refused_.increment();
        break;
    }
  }
  if (audit_) {
    const Status audited =
        audit_(AuditEvent{static_cast<std::int64_t>(context.server_now_millis), device_actor(caller->device),
                          "sync_push", device_actor(caller->device), push_audit_details(*batch, *answer)});
    if (!audited.ok()) {
      // Committed but not audited: the device retries and is answered
      // "duplicate", and the retry is audited.
      pushes_failed_.increment();
      return audit_failure(audited.error());
    }
  }
  pushes_ok_.increment();
  return json_text_response(sync::encode_push_response(*answer));
}

void SyncEndpoints::pull(const Request& request, Router::Responder respond) {
  auto parameters = parse_query(request.query, {"cursor", "limit", "wait", "case"});
  if (!parameters.ok())
    return respond(error_response(400, parameters.error().code, parameters.error().message));
  auto limit = query_integer(*parameters, "limit", options_.default_pull_limit, 1, sync::kMaxPullLimit);
  auto wait =
      query_integer(*parameters, "wait", 0, 0, static_cast<std::uint64_t>(options_.max_pull_wait.count()));
  if (!limit.ok()) return respond(error_response(400, limit.error().code, limit.error().message));
  if (!wait.ok()) return respond(error_response(400, wait.error().code, wait.error().message));

  auto parked = std::make_shared<ParkedPull>();
  parked->request = request;
  parked->respond = [respond = std::move(respond), epoch = options_.instance_epoch](Response response) {
    respond(with_epoch(std::move(response), epoch));
  };
  const auto cursor = parameters->find("cursor");
  if (cursor != parameters->end()) parked->cursor = cursor->second;
  parked->limit = *limit;
  if (const auto only_case = parameters->find("case"); only_case != parameters->end()) {
    parked->only_case = sync::parse_id<sync::CaseId>(only_case->second);
    if (!parked->only_case || sync::to_text(*parked->only_case) != only_case->second) {
      return parked->respond(
          error_response(400, "invalid_query", "case is not a lower-case RFC 4122 case id"));
    }
  }
  parked->deadline = SteadyClock::now() + std::chrono::seconds(*wait);
  attempt_pull(parked);
}

void SyncEndpoints::attempt_pull(const std::shared_ptr<ParkedPull>& pull) {
  auto caller = authenticator_.authenticate(pull->request);
  if (!caller.ok()) return pull->respond(authenticator_.refusal_response(pull->request, caller.error()));

  std::set<sync::CaseId> readable = caller->member_cases;
  if (pull->only_case) {
    if (!readable.contains(*pull->only_case)) {
      return pull->respond(error_response(403, "case_not_member", "the caller is not a member of this case"));
    }
    readable = {*pull->only_case};
  }
  const std::uint64_t generation = notifier_.generation();
  auto page = sync::handle_pull(store_, readable, pull->cursor, pull->limit, clock_(), caller->device);
  if (!page.ok()) {
    if (page.error().code == "invalid_cursor") {
      return pull->respond(error_response(400, page.error().code, page.error().message));
    }
    return pull->respond(store_failure(page.error()));
  }
  if (page->entries.empty() && !page->has_more && SteadyClock::now() < pull->deadline) {
    pull->cursor = page->next_cursor;
    pull->last_page = std::move(page).value();
    pulls_parked_.increment();
    pulls_waiting_.add(1);
    notifier_.wait(readable, generation, pull->deadline, [this, pull](WakeReason reason) {
      pulls_waiting_.add(-1);
      if (reason != WakeReason::closing && wake_pool_.try_submit([this, pull] { attempt_pull(pull); })) {
        return;
      }
      // Closing, or too many woken at once: answer with what it has; the
      // device simply pulls again.
      pulls_.increment();
      pull->respond(json_text_response(sync::encode_pull_page(*pull->last_page)));
    });
    return;
  }
  if (!page->entries.empty() && audit_) {
    const Status audited = audit_(AuditEvent{static_cast<std::int64_t>(page->server_time_millis),
                                             device_actor(caller->device),
                                             "sync_pull",
                                             device_actor(caller->device),
                                             {{"entries", page->entries.size()},
                                              {"first_sequence", page->entries.front().sequence},
                                              {"last_sequence", page->entries.back().sequence}}});
    if (!audited.ok()) return pull->respond(audit_failure(audited.error()));
  }
  pulls_.increment();
  pulled_entries_.increment(page->entries.size());
  pull->respond(json_text_response(sync::encode_pull_page(*page)));
}

}  // namespace casefile::server
