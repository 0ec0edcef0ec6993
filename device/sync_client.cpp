#include "device/sync_client.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <future>
#include <random>
#include <set>
#include <system_error>
#include <thread>

#include "crypto/random.hpp"
#include "device/internal/instance_epoch.hpp"
#include "device/internal/keyring_sync.hpp"
#include "device/internal/random_uuid.hpp"
#include "device/internal/server_reply.hpp"
#include "device/tls_pins.hpp"
#include "sync/case_key_wrap.hpp"
#include "sync/change_json.hpp"
#include "sync/device_authentication.hpp"
#include "sync/device_certificate.hpp"
#include "sync/keyring_response.hpp"
#include "sync/pull.hpp"
#include "sync/response_json.hpp"

namespace casefile::device {

namespace json = boost::json;

namespace {

// Internal: a verified wipe order was obeyed; sync_once reports wiped.
constexpr std::string_view kWipedCode = "device_wiped";
constexpr int kStalledRounds = 3;
// A heal restarts when the server is restored again meanwhile; past this
// many restarts in one sync it stops ("heal_interrupted") for the next.
constexpr int kMaxHealRestarts = 3;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// RFC 3986 unreserved characters pass; everything else is %XX.
std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0x0f];
    }
  }
  return out;
}

bool retryable_transport_error(const std::string& code) {
  return code == "connect_failed" || code == "timeout" || code == "connection_lost" || code == "tls_failed" ||
         code == "bad_response";
}

std::optional<std::chrono::milliseconds> retry_after(const HttpsResponse& response) {
  auto text = response.header("Retry-After");
  if (!text) return std::nullopt;
  unsigned seconds = 0;
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), seconds);
  if (error != std::errc() || end != text->data() + text->size()) return std::nullopt;
  return std::chrono::seconds(seconds);
}

void add_up(SyncReport& total, const SyncReport& round) {
  total.pushed += round.pushed;
  total.accepted += round.accepted;
  total.duplicate += round.duplicate;
  total.refused += round.refused;
  total.pulled += round.pulled;
  total.healed = total.healed || round.healed;
  total.relayed += round.relayed;
  total.relayed_accepted += round.relayed_accepted;
  total.relayed_refused += round.relayed_refused;
  total.purged_cases.insert(total.purged_cases.end(), round.purged_cases.begin(), round.purged_cases.end());
  total.wiped = total.wiped || round.wiped;
  total.attachments.uploaded += round.attachments.uploaded;
  total.attachments.failed += round.attachments.failed;
  total.attachments.quarantined += round.attachments.quarantined;
  total.attachments.waiting = round.attachments.waiting;
  total.attachments.bytes_sent += round.attachments.bytes_sent;
}

}  // namespace

std::string_view sync_phase_name(SyncPhase phase) {
  switch (phase) {
    case SyncPhase::signing_in:
      return "signing_in";
    case SyncPhase::pushing:
      return "pushing";
    case SyncPhase::healing:
      return "healing";
    case SyncPhase::pulling:
      return "pulling";
  }
  return "unknown";
}

struct SyncClient::State {
  State(FieldDevice& device, SyncOptions options, HttpsClient client)
      : device(&device),
        options(std::move(options)),
        client(std::move(client)),
        jitter(std::random_device{}()) {}

  // --- Requests ---

  std::chrono::milliseconds backoff_delay(int attempt, std::optional<std::chrono::milliseconds> server_hint) {
    const int doublings = std::min(attempt - 2, 30);
    const auto ceiling = std::min<std::int64_t>(options.retry.cap.count(),
                                                options.retry.base.count() * (std::int64_t{1} << doublings));
    std::uniform_int_distribution<std::int64_t> pick(0, std::max<std::int64_t>(ceiling, 0));
    auto delay = std::chrono::milliseconds(pick(jitter));
    if (server_hint) delay = std::max(delay, std::min(*server_hint, options.retry.cap));
    return delay;
  }

  void wait(std::chrono::milliseconds delay) {
    if (options.sleep) {
      options.sleep(delay);
    } else {
      std::this_thread::sleep_for(delay);
    }
  }

  // Sends with retries (transport errors and 503), the bearer token when
  // `authenticated` (signing in again once on 401), and obeys a revocation.
  Result<HttpsResponse> call(const HttpsRequest& request, bool authenticated) {
    settle_ahead();  // the connection serves one request at a time
    bool signed_in_again = false;
    std::optional<std::chrono::milliseconds> server_hint;
    bool delay_next = false;
    for (int attempt = 1;; ++attempt) {
      if (delay_next) wait(backoff_delay(attempt, server_hint));
      delay_next = true;
      server_hint.reset();
      HttpsRequest sent = request;
      if (authenticated) {
        auto bearer = bearer_token();
        if (!bearer.ok()) return std::move(bearer).error();
        sent.headers.emplace_back("Authorization", "Bearer " + *bearer);
      }
      auto response = client.send(sent);
      if (!response.ok()) {
        if (!retryable_transport_error(response.error().code) || attempt >= options.retry.max_attempts) {
          return response;
        }
        continue;
      }
      if (response->status == 503 && attempt < options.retry.max_attempts) {
        server_hint = retry_after(*response);
        continue;
      }
      if (internal::is_revocation(*response)) return obey_revocation(*response);
      if (authenticated && response->status == 401 && !signed_in_again) {
        const std::string code = internal::server_refusal(*response).code;
        if (code == "token_expired" || code == "unauthenticated") {
          rejected_token = token;
          token.clear();
          signed_in_again = true;
          delay_next = false;
          --attempt;
          continue;
        }
      }
      return response;
    }
  }

  // --- Overlap (docs/device-sync.md, "Overlap") ---
  //
  // One request may be sent ahead: on a worker thread that touches nothing
  // but `client`, while this thread commits the previous batch or page. Its
  // answer is used only when it is a plain 200 to the very request asked
  // next; anything else (a transport error, 401, 503, a revocation, or a
  // request no longer wanted) is dropped and the request goes through
  // call(), with its retries, as if nothing had been sent ahead. Every
  // request a device sends is safe to repeat.

  void send_ahead(const HttpsRequest& request) {
    if (!options.overlap || ahead) return;
    auto bearer = bearer_token();
    if (!bearer.ok()) return;  // call() will sign in and say why
    RequestAhead sent{request, {}, std::nullopt};
    HttpsRequest with_token = request;
    with_token.headers.emplace_back("Authorization", "Bearer " + *bearer);
    try {
      sent.pending = std::async(
          std::launch::async, [this, with_token = std::move(with_token)] { return client.send(with_token); });
    } catch (const std::system_error&) {
      return;  // no thread to spare: the request goes later, through call()
    }
    ahead.emplace(std::move(sent));
  }

  // Waits for the request sent ahead, if any, and keeps its answer.
  void settle_ahead() {
    if (ahead && ahead->pending.valid()) ahead->answer.emplace(ahead->pending.get());
  }

  // `request`'s answer: the one sent ahead when it answers exactly this
  // request with 200, else call()'s.
  Result<HttpsResponse> call_taking_ahead(const HttpsRequest& request) {
    settle_ahead();
    std::optional<RequestAhead> taken = std::move(ahead);
    ahead.reset();
    if (taken && taken->request.method == request.method && taken->request.target == request.target &&
        taken->request.body == request.body && taken->answer && taken->answer->ok() &&
        (*taken->answer)->status == 200) {
      return std::move(*taken->answer);
    }
    return call(request, true);
  }

  // Drops what was sent ahead once its answer is in: on every way out of a
  // push or a pull, so the connection is free and no stale answer is kept.
  struct AheadScope {
    State& state;
    ~AheadScope() {
      state.settle_ahead();
      state.ahead.reset();
    }
  };

  Result<json::object> call_json(const HttpsRequest& request, bool authenticated, unsigned expected_status) {
    auto response = call(request, authenticated);
    if (!response.ok()) return std::move(response).error();
    if (response->status != expected_status) return internal::server_refusal(*response);
    return internal::json_object_body(*response);
  }

  Error obey_revocation(const HttpsResponse& response) {
    const DeviceProfile& profile = device->profile();
    std::optional<crypto::Ed25519PublicKey> authority = profile.authority_key;
    if (!authority && profile.authority_fingerprint) {
      auto fetched = internal::fetch_authority_key(client, *profile.authority_fingerprint);
      if (!fetched.ok()) return std::move(fetched).error();
      authority = *fetched;
    }
    if (!authority) return make_error("wipe_order_invalid", "no authority key to verify the wipe order with");
    if (auto obeyed = internal::obey_wipe_order(*device, response, *authority); !obeyed.ok()) {
      return obeyed.error();
    }
    return make_error(std::string(kWipedCode), "the device was revoked and wiped");
  }

  // --- Sign-in (docs/security.md §4) ---

  Result<std::string> bearer_token() {
    if (!token.empty()) return token;
    if (auto stored = device->session_token(now_ms()); stored && *stored != rejected_token) {
      token = *stored;
      return token;
    }
    CASEFILE_RETURN_IF_ERROR(sign_in());
    return token;
  }

  Status sign_in() {
    const sync::DeviceId id = device->profile().device_id;
    auto challenge_body = call_json(
        HttpsRequest{"POST", "/v1/auth/challenge", {}, sync::encode_challenge_request(id), {}}, false, 200);
    if (!challenge_body.ok()) return std::move(challenge_body).error();
    auto challenge_text = internal::string_member(*challenge_body, "challenge");
    if (!challenge_text.ok()) return std::move(challenge_text).error();
    auto challenge = sync::bytes_from_wire_text(*challenge_text);
    sync::TokenRequest request;
    if (!challenge || challenge->size() != request.challenge.size()) {
      return make_error("bad_response", "the challenge is malformed");
    }
    std::copy(challenge->begin(), challenge->end(), request.challenge.begin());
    request.device = id;
    // The signature covers the pin, so it is useless to a relaying server.
    auto signature = device->signing_key().sign(
        sync::auth_challenge_message(request.challenge, id, device->profile().server->pin));
    if (!signature.ok()) return std::move(signature).error();
    request.signature = *signature;
    auto token_body = call_json(
        HttpsRequest{"POST", "/v1/auth/token", {}, sync::encode_token_request(request), {}}, false, 200);
    if (!token_body.ok()) return std::move(token_body).error();
    auto issued = internal::string_member(*token_body, "token");
    if (!issued.ok()) return std::move(issued).error();
    const json::value* expires_at = token_body->if_contains("expires_at");
    if (expires_at == nullptr || !expires_at->is_int64()) {
      return make_error("bad_response", "the token answer has no expiry");
    }
    CASEFILE_RETURN_IF_ERROR(device->store_session_token(*issued, expires_at->get_int64()));
    token = std::move(*issued);
    return ok_status();
  }

  // --- One round ---

  Status report_progress(const SyncProgressCallback& progress, const SyncProgress& step) {
    if (progress && !progress(step)) return make_error("sync_cancelled", "the sync was cancelled");
    return ok_status();
  }

  Result<std::set<sync::CaseId>> member_cases() {
    auto body = call_json(HttpsRequest{"GET", "/v1/cases", {}, {}, {}}, true, 200);
    if (!body.ok()) return std::move(body).error();
    const json::value* cases = body->if_contains("cases");
    if (cases == nullptr || !cases->is_array()) return make_error("bad_response", "no \"cases\" array");
    std::set<sync::CaseId> result;
    for (const json::value& text : cases->get_array()) {
      auto id = text.is_string() ? sync::parse_id<sync::CaseId>(text.get_string()) : std::nullopt;
      if (!id) return make_error("bad_response", "a case id is malformed");
      result.insert(*id);
    }
    return result;
  }

  // Every case this replica holds: records, outbox changes, case keys.
  Result<std::set<sync::CaseId>> local_cases() {
    std::set<sync::CaseId> cases;
    auto records = device->list_records();
    if (!records.ok()) return std::move(records).error();
    for (const sync::RecordKey& key : *records) cases.insert(key.case_id);
    for (const sync::CaseId& case_id : device->cases_with_keys()) cases.insert(case_id);
    // From the outbox's case index: decoding every waiting change cost a
    // second a 20,000-change outbox.
    auto outbox_cases = device->store().outbox_cases();
    if (!outbox_cases.ok()) return std::move(outbox_cases).error();
    cases.insert(outbox_cases->begin(), outbox_cases->end());
    return cases;
  }

  // Registers cases made offline; returns those the server refused (409
  // case_exists: the user is not a member), to be purged after the push.
  Result<std::vector<sync::CaseId>> register_local_cases() {
    auto members = member_cases();
    if (!members.ok()) return std::move(members).error();
    auto local = local_cases();
    if (!local.ok()) return std::move(local).error();
    std::vector<sync::CaseId> refused;
    for (const sync::CaseId& case_id : *local) {
      if (members->contains(case_id)) continue;
      const std::string body = json::serialize(json::object{{"case_id", sync::to_text(case_id)}});
      auto response = call(HttpsRequest{"POST", "/v1/cases", {}, body, {}}, true);
      if (!response.ok()) return std::move(response).error();
      if (response->status == 201) continue;
      const Error refusal = internal::server_refusal(*response);
      if (refusal.code != "case_exists") return refusal;
      refused.push_back(case_id);
    }
    return refused;
  }

  // The outbox changes after device sequence `after_sequence`, sealed as
  // one batch under a new id; nullopt when there are none.
  Result<std::optional<sync::Batch>> prepare_batch(std::uint64_t after_sequence) {
    auto batch_id = internal::random_uuid_v4<sync::BatchId>();
    if (!batch_id.ok()) return std::move(batch_id).error();
    return device->replica().prepare_push(*batch_id, device->signing_key(), after_sequence,
                                          options.push_batch_size);
  }

  // True when the server answered every one of `size` changes accepted or duplicate.
  static bool all_held(const sync::PushResponse& answer, std::uint64_t size) {
    return answer.verdicts.size() == size &&
           std::all_of(answer.verdicts.begin(), answer.verdicts.end(), [](const sync::Verdict& verdict) {
             return verdict.kind != sync::VerdictKind::refused;
           });
  }

  static HttpsRequest push_request(const sync::Batch& sealed, std::uint64_t outbox_depth) {
    return HttpsRequest{"POST",
                        "/v1/sync/push",
                        {{"Casefile-Outbox-Depth", std::to_string(outbox_depth)}},
                        sync::encode_push_request(sealed),
                        {}};
  }

  Status push(SyncReport& report, const SyncProgressCallback& progress) {
    // The depth alone: FieldDevice::status() also decodes every record.
    auto depth = device->store().outbox_depth();
    if (!depth.ok()) return std::move(depth).error();
    const std::uint64_t total = *depth;
    std::uint64_t done = 0;
    std::optional<sync::ChangeId> previous_first;
    int stalled = 0;
    const AheadScope overlap{*this};
    std::optional<sync::Batch> sent_ahead;  // the next batch, already on its way
    bool step_reported = false;             // before sending it ahead
    while (true) {
      if (!step_reported)
        CASEFILE_RETURN_IF_ERROR(report_progress(progress, SyncProgress{SyncPhase::pushing, done, total}));
      step_reported = false;
      std::optional<sync::Batch> batch = std::move(sent_ahead);
      sent_ahead.reset();
      if (!batch) {
        auto prepared = prepare_batch(0);
        if (!prepared.ok()) return std::move(prepared).error();
        batch = std::move(*prepared);
      }
      if (!batch) return ok_status();
      const sync::Batch& sealed = *batch;
      const sync::ChangeId first = sealed.changes.front().change.id;
      // Every answered change leaves the outbox (or is re-issued after
      // clock_skew); the same head again and again means no progress.
      stalled = previous_first && *previous_first == first ? stalled + 1 : 0;
      if (stalled >= kStalledRounds)
        return make_error("push_stalled", "the server's answers empty no outbox");
      previous_first = first;
      const std::uint64_t size = sealed.changes.size();
      const std::uint64_t depth = std::max(total > done ? total - done : 0, size);
      auto response = call_taking_ahead(push_request(sealed, depth));
      if (!response.ok()) return std::move(response).error();
      if (response->status != 200) return internal::server_refusal(*response);
      auto answer = sync::decode_push_response(response->body);
      if (!answer.ok())
        return make_error("bad_response", "the push answer is malformed: " + answer.error().code);
      auto restored = observe_instance_epoch(*response, false);
      if (!restored.ok()) return std::move(restored).error();
      // Every change held: the next batch (the outbox after this one) goes
      // out while this answer is committed. A refusal (a clock_skew
      // re-issues outbox changes) or a restored server waits its turn. The
      // next step is reported first: a cancelled sync sends nothing more,
      // and stops once this answer is committed.
      Status carry_on = ok_status();
      if (options.overlap && !*restored && all_held(*answer, size)) {
        carry_on = report_progress(progress, SyncProgress{SyncPhase::pushing, done + size, total});
        step_reported = true;
        if (carry_on.ok()) {
          auto following = prepare_batch(sealed.changes.back().change.id.sequence);
          if (!following.ok()) return std::move(following).error();
          if (*following) {
            send_ahead(push_request(**following, depth > size ? depth - size : (*following)->changes.size()));
            sent_ahead = std::move(*following);
          }
        }
      }
      // The changes the server now holds enter the archive with the answer.
      CASEFILE_RETURN_IF_ERROR(device->commit_together([&]() -> Status {
        CASEFILE_RETURN_IF_ERROR(
            device->replica().apply_push_response(sealed, *answer, static_cast<std::uint64_t>(now_ms())));
        return device->archive().add({sealed.header}, held_by_server(sealed, *answer));
      }));
      for (const sync::Verdict& verdict : answer->verdicts) {
        switch (verdict.kind) {
          case sync::VerdictKind::accepted:
            ++report.accepted;
            break;
          case sync::VerdictKind::duplicate:
            ++report.duplicate;
            break;
          case sync::VerdictKind::refused:
            ++report.refused;
            break;
        }
      }
      report.pushed += size;
      done += size;
      CASEFILE_RETURN_IF_ERROR(carry_on);
    }
  }

  Status purge_refused(const std::vector<sync::CaseId>& refused, SyncReport& report) {
    if (refused.empty()) return ok_status();
    // Asked again: a POST /v1/cases retried after a lost 201 is answered
    // case_exists although the case is ours.
    auto members = member_cases();
    if (!members.ok()) return std::move(members).error();
    for (const sync::CaseId& case_id : refused) {
      if (members->contains(case_id)) continue;
      CASEFILE_RETURN_IF_ERROR(device->purge_case(case_id));
      report.purged_cases.push_back(case_id);
    }
    return ok_status();
  }

  Status cache_author_certificate(const sync::DeviceId& author) {
    auto body = call_json(
        HttpsRequest{"GET", "/v1/devices/" + sync::to_text(author) + "/certificate", {}, {}, {}}, true, 200);
    if (!body.ok()) return std::move(body).error();
    const json::value* certificate_json = body->if_contains("certificate");
    if (certificate_json == nullptr) return make_error("bad_response", "no certificate in the answer");
    auto certificate = sync::certificate_from_json(*certificate_json);
    if (!certificate.ok()) return std::move(certificate).error();
    if (certificate->device != author)
      return make_error("bad_response", "the certificate is another device's");
    return device->cache_certificate(*certificate);
  }

  // Applies a page; an author whose certificate is not cached yet is
  // fetched, verified and cached, and the page applied again.
  Status apply_page(const sync::PullPage& page) {
    const sync::AuthorKeyLookup lookup = [this](const sync::DeviceId& author) {
      return device->author_key(author);
    };
    auto apply = [&]() {
      return device->commit_together([&]() -> Status {
        CASEFILE_RETURN_IF_ERROR(
            device->replica().apply_pull_page(page, lookup, static_cast<std::uint64_t>(now_ms())));
        std::vector<sync::SignedChange> pulled;
        pulled.reserve(page.entries.size());
        for (const sync::LogEntry& entry : page.entries) pulled.push_back(entry.change);
        return device->archive().add(page.batches, pulled);
      });
    };
    auto applied = apply();
    if (applied.ok() || applied.error().code != "pull_change_unverified") return applied;
    bool fetched = false;
    for (const sync::BatchHeader& batch : page.batches) {
      if (device->author_key(batch.author)) continue;
      CASEFILE_RETURN_IF_ERROR(cache_author_certificate(batch.author));
      fetched = true;
    }
    if (!fetched) return applied;
    return apply();
  }

  // --- Case keyrings (docs/device-sync.md, "Case keys") ---

  // GET /v1/authority's recovery key statement, verified and kept; needed
  // before the first genesis upload. Errors: "recovery_key_missing" (the
  // instance has no statement yet: an admin command writes it),
  // "bad_response", FieldDevice::record_recovery_key's.
  Status fetch_recovery_key() {
    auto body = call_json(HttpsRequest{"GET", "/v1/authority", {}, {}, {}}, false, 200);
    if (!body.ok()) return std::move(body).error();
    const json::value* key_text = body->if_contains("recovery_public_key");
    const json::value* signature_text = body->if_contains("recovery_key_signature");
    if (key_text == nullptr || signature_text == nullptr) {
      return make_error("bad_response", "the authority answer has no recovery key members");
    }
    if (key_text->is_null() || signature_text->is_null()) {
      return make_error("recovery_key_missing",
                        "the server has no recovery key statement yet; an admin command writes it");
    }
    // Both are lower-case hex (protocol.md §2.1).
    crypto::X25519PublicKey key{};
    crypto::Ed25519Signature signature{};
    crypto::Bytes key_bytes;
    crypto::Bytes signature_bytes;
    if (!key_text->is_string() || !signature_text->is_string() ||
        !crypto::from_hex(key_text->get_string(), key_bytes) || key_bytes.size() != key.size() ||
        !crypto::from_hex(signature_text->get_string(), signature_bytes) ||
        signature_bytes.size() != signature.size()) {
      return make_error("bad_response", "the recovery key statement is malformed");
    }
    std::copy(key_bytes.begin(), key_bytes.end(), key.begin());
    std::copy(signature_bytes.begin(), signature_bytes.end(), signature.begin());
    return device->record_recovery_key(key, signature);
  }

  // Uploads epoch 1 of every case created here whose keyring has no head
  // yet, after the case is registered and before any of its changes is
  // pushed (the server must never hold a change no member can read). A
  // retried upload the server already stored (409) is left for the refresh
  // to fetch and accept.
  Status upload_pending_genesis(const std::vector<sync::CaseId>& refused) {
    auto pending = device->cases_awaiting_genesis();
    if (!pending.ok()) return std::move(pending).error();
    for (const sync::CaseId& case_id : *pending) {
      if (std::find(refused.begin(), refused.end(), case_id) != refused.end()) continue;
      if (!device->profile().recovery_public_key) CASEFILE_RETURN_IF_ERROR(fetch_recovery_key());
      auto genesis = device->prepare_genesis(case_id, now_ms());
      if (!genesis.ok()) return std::move(genesis).error();
      json::array wraps;
      for (const sync::RecipientWrap& wrap : genesis->wraps) {
        wraps.push_back(json::object{{"device", sync::to_text(wrap.recipient)},
                                     {"wrap", sync::bytes_to_wire_text(wrap.wrap)}});
      }
      const crypto::Bytes manifest = sync::encode_manifest(genesis->manifest);
      const std::string body =
          json::serialize(json::object{{"manifest", sync::bytes_to_wire_text(manifest)}, {"wraps", wraps}});
      auto response =
          call(HttpsRequest{"PUT", "/v1/keys/" + sync::to_text(case_id) + "/epochs/1", {}, body, {}}, true);
      if (!response.ok()) return std::move(response).error();
      if (response->status == 409) continue;  // stored before: refresh_case_keyrings accepts it
      if (response->status != 200 && response->status != 201) return internal::server_refusal(*response);
      // What the server now holds, accepted through the one verifying path.
      const std::vector<sync::KeyringEpochEntry> entries{
          sync::KeyringEpochEntry{1, manifest, own_wrap(genesis->wraps)}};
      auto accepted = device->accept_keyring(case_id, entries);
      if (!accepted.ok()) return std::move(accepted).error();
    }
    return ok_status();
  }

  std::optional<crypto::Bytes> own_wrap(const std::vector<sync::RecipientWrap>& wraps) const {
    for (const sync::RecipientWrap& wrap : wraps) {
      if (wrap.recipient == device->profile().device_id) return wrap.wrap;
    }
    return std::nullopt;
  }

  // GET /v1/keys, then each case whose head moved (or whose earlier epochs
  // are not shared yet): fetch, verify and store its keyring, then share.
  Status refresh_case_keyrings() {
    auto index_body = call(HttpsRequest{"GET", "/v1/keys", {}, {}, {}}, true);
    if (!index_body.ok()) return std::move(index_body).error();
    if (index_body->status != 200) return internal::server_refusal(*index_body);
    auto server_heads = internal::decode_keyring_index(index_body->body);
    if (!server_heads.ok()) return std::move(server_heads).error();
    auto local_heads = device->keyring_heads();
    if (!local_heads.ok()) return std::move(local_heads).error();
    for (const sync::CaseId& case_id : internal::cases_to_refresh(*server_heads, *local_heads)) {
      CASEFILE_RETURN_IF_ERROR(refresh_case_keyring(case_id));
    }
    return ok_status();
  }

  Status refresh_case_keyring(const sync::CaseId& case_id) {
    auto response = call(HttpsRequest{"GET", "/v1/keys/" + sync::to_text(case_id), {}, {}, {}}, true);
    if (!response.ok()) return std::move(response).error();
    if (response->status != 200) {
      Error refusal = internal::server_refusal(*response);
      // Removed from the case since GET /v1/keys: the next round purges it.
      if (refusal.code == "case_not_member") return ok_status();
      return refusal;
    }
    auto entries = sync::decode_keyring_response(response->body, case_id);
    if (!entries.ok()) return std::move(entries).error();
    auto recipients = internal::decode_keyring_recipients(response->body);
    if (!recipients.ok()) return std::move(recipients).error();
    CASEFILE_RETURN_IF_ERROR(cache_genesis_signer(*entries));
    auto keyring = device->accept_keyring(case_id, *entries);
    if (!keyring.ok()) return std::move(keyring).error();
    CASEFILE_RETURN_IF_ERROR(share_held_epochs(*keyring, *recipients));
    return device->mark_held_epochs_shared(case_id);
  }

  // The genesis epoch is signed by its one member device: its certificate
  // must be in the cache before the chain is verified.
  Status cache_genesis_signer(const std::vector<sync::KeyringEpochEntry>& entries) {
    if (entries.empty() || entries.front().epoch != 1) return ok_status();
    auto genesis = sync::decode_manifest(entries.front().manifest);
    if (!genesis.ok() || genesis->members.size() != 1) return ok_status();  // accept_keyring names the fault
    if (device->author_key(genesis->members.front())) return ok_status();
    return cache_author_certificate(genesis->members.front());
  }

  // Wraps every held epoch to the head members the server lists as lacking
  // it, and POSTs them, one request per epoch. When a recipient got a wrap
  // meanwhile (409 wrap_exists) or is no longer a member (403
  // recipient_not_member), the epoch's wraps go one by one and those are
  // skipped: the request is all-or-nothing.
  Status share_held_epochs(const sync::CaseKeyring& keyring,
                           const std::map<std::uint32_t, std::vector<sync::DeviceId>>& recipients) {
    const std::vector<std::uint32_t> held = keyring.held_epochs();
    const auto plan =
        internal::plan_held_epoch_sharing(keyring.head(), device->profile().device_id, held, recipients);
    for (const auto& [epoch, members] : plan) {
      std::vector<std::pair<sync::DeviceId, crypto::Bytes>> wraps;
      for (const sync::DeviceId& member : members) {
        if (!device->certified_wrapping_key(member))
          CASEFILE_RETURN_IF_ERROR(cache_author_certificate(member));
        const auto public_key = device->certified_wrapping_key(member);
        if (!public_key)
          return make_error("bad_response", "no certificate for head member " + sync::to_text(member));
        auto key = keyring.key(epoch);
        if (!key.ok()) return std::move(key).error();
        auto wrap =
            sync::wrap_case_key(crypto::SecretBytes(*key), keyring.case_id(), epoch, member, *public_key);
        if (!wrap.ok()) return std::move(wrap).error();
        wraps.emplace_back(member, std::move(*wrap));
      }
      auto posted = post_wraps(keyring.case_id(), epoch, wraps);
      if (posted.ok()) continue;
      if (posted.error().code != "wrap_exists" && posted.error().code != "recipient_not_member")
        return posted;
      for (const auto& one : wraps) {
        auto single = post_wraps(keyring.case_id(), epoch, {one});
        if (!single.ok() && single.error().code != "wrap_exists" &&
            single.error().code != "recipient_not_member") {
          return single;
        }
      }
    }
    return ok_status();
  }

  Status post_wraps(const sync::CaseId& case_id, std::uint32_t epoch,
                    const std::vector<std::pair<sync::DeviceId, crypto::Bytes>>& wraps) {
    json::array listed;
    for (const auto& [recipient, wrap] : wraps) {
      listed.push_back(
          json::object{{"device", sync::to_text(recipient)}, {"wrap", sync::bytes_to_wire_text(wrap)}});
    }
    const std::string body = json::serialize(json::object{{"wraps", listed}});
    auto response = call(
        HttpsRequest{"POST",
                     "/v1/keys/" + sync::to_text(case_id) + "/epochs/" + std::to_string(epoch) + "/wraps",
                     {},
                     body,
                     {}},
        true);
    if (!response.ok()) return std::move(response).error();
    if (response->status != 200 && response->status != 201) return internal::server_refusal(*response);
    return ok_status();
  }

  // The pull returns only the cases the user is a member of when it runs, and
  // the cursor moves past the rest: a case the user was added to later has
  // earlier changes this device never received. A member case with no record
  // here but changes from others on the server starts the pull over from the
  // beginning (one commit, so a crash cannot lose the restart; re-applying is
  // harmless and the device's own changes are not sent back).
  Status catch_up_on_new_cases() {
    auto members = member_cases();
    if (!members.ok()) return std::move(members).error();
    auto records = device->list_records();
    if (!records.ok()) return std::move(records).error();
    std::set<sync::CaseId> held;
    for (const sync::RecordKey& key : *records) held.insert(key.case_id);
    for (const sync::CaseId& case_id : *members) {
      if (held.contains(case_id)) continue;
      auto has_changes = case_has_changes_from_others(case_id);
      if (!has_changes.ok()) return std::move(has_changes).error();
      if (*has_changes) return device->replica().reset_pull_cursor();
    }
    return ok_status();
  }

  Result<bool> case_has_changes_from_others(const sync::CaseId& case_id) {
    std::string cursor;
    while (true) {
      const std::string target = "/v1/sync/pull?case=" + sync::to_text(case_id) +
                                 "&cursor=" + percent_encode(cursor) +
                                 "&limit=" + std::to_string(sync::kMaxPullLimit);
      auto response = call(HttpsRequest{"GET", target, {}, {}, {}}, true);
      if (!response.ok()) return std::move(response).error();
      if (response->status != 200) return internal::server_refusal(*response);
      auto page = sync::decode_pull_page(response->body);
      if (!page.ok()) return make_error("bad_response", "the pull page is malformed: " + page.error().code);
      if (!page->entries.empty()) return true;
      if (!page->has_more) return false;
      cursor = page->next_cursor;
    }
  }

  // A page from `cursor`; with `wait`, a long-poll held up to that long.
  HttpsRequest pull_request(const std::string& cursor, std::chrono::seconds wait) const {
    std::string target =
        "/v1/sync/pull?cursor=" + percent_encode(cursor) + "&limit=" + std::to_string(options.pull_page_size);
    if (wait.count() > 0) target += "&wait=" + std::to_string(wait.count());
    return HttpsRequest{"GET", target, {}, {}, std::chrono::milliseconds(wait)};
  }

  // Pulls until has_more is false. With `wait`, the first request is a
  // long-poll: it returns with the next change, or empty after `wait`.
  Status pull(SyncReport& report, const SyncProgressCallback& progress, std::chrono::seconds wait) {
    std::uint64_t done = 0;
    bool healed = false;
    const AheadScope overlap{*this};
    bool step_reported = false;  // before asking for the next page ahead
    for (bool first = true;; first = false) {
      if (!step_reported)
        CASEFILE_RETURN_IF_ERROR(
            report_progress(progress, SyncProgress{SyncPhase::pulling, done, std::nullopt}));
      step_reported = false;
      const bool long_poll = first && wait.count() > 0;
      auto response = call_taking_ahead(
          pull_request(device->replica().pull_cursor(), long_poll ? wait : std::chrono::seconds(0)));
      if (!response.ok()) return std::move(response).error();
      std::optional<Error> refusal;
      if (response->status != 200) refusal = internal::server_refusal(*response);
      // A restored server (a new epoch, or its log behind the cursor): heal
      // it, which resets the cursor, and pull again from the beginning, once.
      auto restored = observe_instance_epoch(*response, refusal && refusal->code == "invalid_cursor");
      if (!restored.ok()) return std::move(restored).error();
      if (*restored && !healed) {
        healed = true;
        CASEFILE_RETURN_IF_ERROR(heal_if_pending(report, progress));
        continue;
      }
      if (refusal) return *refusal;
      auto page = sync::decode_pull_page(response->body);
      if (!page.ok()) return make_error("bad_response", "the pull page is malformed: " + page.error().code);
      // The next page is asked for while this one is verified and committed;
      // its step is reported first, as for a push.
      Status carry_on = ok_status();
      if (options.overlap && page->has_more) {
        carry_on = report_progress(
            progress, SyncProgress{SyncPhase::pulling, done + page->entries.size(), std::nullopt});
        step_reported = true;
        if (carry_on.ok()) send_ahead(pull_request(page->next_cursor, std::chrono::seconds(0)));
      }
      CASEFILE_RETURN_IF_ERROR(apply_page(*page));
      report.pulled += page->entries.size();
      done += page->entries.size();
      CASEFILE_RETURN_IF_ERROR(carry_on);
      if (!page->has_more) return ok_status();
    }
  }

  // --- Healing a restored server (docs/device-sync.md, "Healing") ---

  // The changes of `sealed` the server now holds (accepted or duplicate).
  static std::vector<sync::SignedChange> held_by_server(const sync::Batch& sealed,
                                                        const sync::PushResponse& answer) {
    std::vector<sync::SignedChange> held;
    for (std::size_t i = 0; i < sealed.changes.size() && i < answer.verdicts.size(); ++i) {
      if (answer.verdicts[i].kind != sync::VerdictKind::refused) held.push_back(sealed.changes[i]);
    }
    return held;
  }

  // Compares the answer's instance epoch with the stored state and stores
  // what changed; true while a heal is pending.
  Result<bool> observe_instance_epoch(const HttpsResponse& response, bool log_behind) {
    auto answered = internal::parse_instance_epoch(response.header(internal::kInstanceEpochHeader));
    if (!answered.ok()) return std::move(answered).error();
    auto state = device->archive().epoch_state();
    if (!state.ok()) return std::move(state).error();
    const InstanceEpochState next = internal::observe_instance_epoch(*state, *answered, log_behind);
    if (next != *state) CASEFILE_RETURN_IF_ERROR(device->archive().save_epoch_state(next));
    return next.healing_epoch.has_value();
  }

  // A one-entry pull from the cursor: its answer tells the epoch before the
  // outbox is pushed.
  Status probe_instance_epoch() {
    const std::string target =
        "/v1/sync/pull?cursor=" + percent_encode(device->replica().pull_cursor()) + "&limit=1";
    auto response = call(HttpsRequest{"GET", target, {}, {}, {}}, true);
    if (!response.ok()) return std::move(response).error();
    std::optional<Error> refusal;
    if (response->status != 200) refusal = internal::server_refusal(*response);
    const bool log_behind = refusal && refusal->code == "invalid_cursor";
    auto restored = observe_instance_epoch(*response, log_behind);
    if (!restored.ok()) return std::move(restored).error();
    if (refusal && !log_behind) return *refusal;
    return ok_status();
  }

  // Re-pushes the archive from where the heal got to, then resets the pull
  // cursor and records the healed epoch, in one commit. Only changes of cases
  // the server lists this device a member of are relayed; cases it made
  // offline are registered first (as before a push).
  Status heal_if_pending(SyncReport& report, const SyncProgressCallback& progress) {
    auto state = device->archive().epoch_state();
    if (!state.ok()) return std::move(state).error();
    if (!state->healing_epoch) return ok_status();
    auto registered = register_local_cases();
    if (!registered.ok()) return std::move(registered).error();
    auto members = member_cases();
    if (!members.ok()) return std::move(members).error();
    const auto relay = [&](const sync::CaseId& case_id) { return members->contains(case_id); };
    auto total = device->archive().count_after(state->healed_through);
    if (!total.ok()) return std::move(total).error();
    std::uint64_t done = 0;
    int restarts = 0;
    while (true) {
      CASEFILE_RETURN_IF_ERROR(report_progress(progress, SyncProgress{SyncPhase::healing, done, *total}));
      auto run = device->archive().read_run(state->healed_through, options.push_batch_size, relay);
      if (!run.ok()) return std::move(run).error();
      if (!run->batch) break;
      const sync::Batch& relayed = *run->batch;
      HttpsRequest request{"POST", "/v1/sync/push", {}, sync::encode_push_request(relayed), {}};
      auto response = call(request, true);
      if (!response.ok()) return std::move(response).error();
      if (response->status != 200) return internal::server_refusal(*response);
      auto answer = sync::decode_push_response(response->body);
      if (!answer.ok())
        return make_error("bad_response", "the push answer is malformed: " + answer.error().code);
      if (answer->verdicts.size() != relayed.changes.size())
        return make_error("bad_response", "the push answer does not judge every relayed change");
      for (const sync::Verdict& verdict : answer->verdicts) {
        if (verdict.kind == sync::VerdictKind::accepted) ++report.relayed_accepted;
        if (verdict.kind == sync::VerdictKind::refused) ++report.relayed_refused;
      }
      report.relayed += relayed.changes.size();
      done += relayed.changes.size();
      auto restored = observe_instance_epoch(*response, false);
      if (!restored.ok()) return std::move(restored).error();
      auto now = device->archive().epoch_state();
      if (!now.ok()) return std::move(now).error();
      if (now->healing_epoch != state->healing_epoch) {
        // Restored again meanwhile: start over against the new server.
        if (++restarts > kMaxHealRestarts)
          return make_error("heal_interrupted", "the server's instance epoch keeps changing");
        state = std::move(now);
        continue;
      }
      state->healed_through = run->last_position;
      CASEFILE_RETURN_IF_ERROR(device->archive().save_epoch_state(*state));
    }
    CASEFILE_RETURN_IF_ERROR(device->commit_together([&]() -> Status {
      CASEFILE_RETURN_IF_ERROR(device->replica().reset_pull_cursor());
      return device->archive().save_epoch_state(internal::finish_heal(*state));
    }));
    report.healed = true;
    return ok_status();
  }

  // One round: sign in; when `push_first` (or the outbox holds changes),
  // register local cases, push and purge; then pull.
  Status round(SyncReport& report, const SyncProgressCallback& progress, bool push_first,
               std::chrono::seconds wait) {
    CASEFILE_RETURN_IF_ERROR(report_progress(progress, SyncProgress{SyncPhase::signing_in, 0, std::nullopt}));
    CASEFILE_RETURN_IF_ERROR(refresh_tls_pins(
        *device, client, [this](const HttpsRequest& request) { return call(request, false); }));
    auto signed_in = bearer_token();
    if (!signed_in.ok()) return std::move(signed_in).error();
    bool push_now = push_first;
    if (!push_now) {
      auto depth = device->store().outbox_depth();
      if (!depth.ok()) return std::move(depth).error();
      push_now = *depth > 0;
    }
    if (push_now) {
      auto refused = register_local_cases();
      if (!refused.ok()) return std::move(refused).error();
      CASEFILE_RETURN_IF_ERROR(upload_pending_genesis(*refused));
      // Heal a restored server before pushing: an outbox change may build on
      // an archived one the server lost.
      CASEFILE_RETURN_IF_ERROR(probe_instance_epoch());
      CASEFILE_RETURN_IF_ERROR(heal_if_pending(report, progress));
      CASEFILE_RETURN_IF_ERROR(push(report, progress));
      CASEFILE_RETURN_IF_ERROR(heal_if_pending(report, progress));
      CASEFILE_RETURN_IF_ERROR(purge_refused(*refused, report));
    }
    CASEFILE_RETURN_IF_ERROR(refresh_case_keyrings());
    CASEFILE_RETURN_IF_ERROR(catch_up_on_new_cases());
    CASEFILE_RETURN_IF_ERROR(pull(report, progress, wait));
    // Records first: an attachment goes up only once its record was pushed.
    auto uploaded = upload_pending_attachments(
        *device, [this](const HttpsRequest& request) { return call(request, true); },
        options.attachment_progress, options.attachments);
    if (!uploaded.ok()) return std::move(uploaded).error();
    report.attachments = *uploaded;
    return ok_status();
  }

  // Runs a round and turns the wipe sentinel into wiped = true.
  Result<SyncReport> finish_round(const SyncProgressCallback& progress, bool push_first,
                                  std::chrono::seconds wait) {
    SyncReport report;
    auto done = round(report, progress, push_first, wait);
    if (!done.ok()) {
      if (done.error().code != kWipedCode) return std::move(done).error();
      report.wiped = true;
      return report;
    }
    CASEFILE_RETURN_IF_ERROR(device->record_sync_completed(now_ms()));
    return report;
  }

  FieldDevice* device;
  SyncOptions options;
  HttpsClient client;
  struct RequestAhead {
    HttpsRequest request;                         // as asked, without the token
    std::future<Result<HttpsResponse>> pending;   // while the worker sends it
    std::optional<Result<HttpsResponse>> answer;  // once settled
  };
  // Declared after `client`: destroyed first, waiting for its worker.
  std::optional<RequestAhead> ahead;
  std::mt19937_64 jitter;      // backoff jitter needs no secrecy
  std::string token;           // the bearer token in use
  std::string rejected_token;  // refused with 401: never reused from the store
};

Result<SyncClient> SyncClient::create(FieldDevice& device, SyncOptions options) {
  const DeviceProfile& profile = device.profile();
  if (profile.state != EnrolmentState::certified || !profile.server) {
    return make_error("not_certified", "the device must be enrolled and certified before it syncs");
  }
  if (options.push_batch_size < 1 || options.push_batch_size > sync::kMaxBatchChanges ||
      options.pull_page_size < 1 || options.pull_page_size > 1000 || options.watch_wait.count() < 1 ||
      options.watch_wait.count() > 60 || options.retry.max_attempts < 1 || options.retry.base.count() < 0 ||
      options.retry.cap < options.retry.base) {
    return make_error("invalid_argument", "a sync option is out of range");
  }
  auto client = HttpsClient::create(*profile.server, options.http);
  if (!client.ok()) return std::move(client).error();
  return SyncClient(std::make_unique<State>(device, std::move(options), std::move(*client)));
}

SyncClient::SyncClient(std::unique_ptr<State> state) : state_(std::move(state)) {}
SyncClient::SyncClient(SyncClient&&) noexcept = default;
SyncClient& SyncClient::operator=(SyncClient&&) noexcept = default;
SyncClient::~SyncClient() = default;

Result<SyncReport> SyncClient::sync_once(const SyncProgressCallback& progress) {
  return state_->finish_round(progress, true, std::chrono::seconds(0));
}

Result<SyncReport> SyncClient::watch(const std::function<bool()>& stop,
                                     const SyncProgressCallback& progress) {
  SyncReport total;
  for (bool first = true; !stop(); first = false) {
    auto round =
        state_->finish_round(progress, first, first ? std::chrono::seconds(0) : state_->options.watch_wait);
    if (!round.ok()) return std::move(round).error();
    add_up(total, *round);
    if (total.wiped) break;
  }
  return total;
}

Result<SyncReport> SyncClient::watch_for(std::chrono::milliseconds duration,
                                         const SyncProgressCallback& progress) {
  const auto deadline = std::chrono::steady_clock::now() + duration;
  return watch([deadline] { return std::chrono::steady_clock::now() >= deadline; }, progress);
}

Result<HttpsResponse> SyncClient::send(const HttpsRequest& request) { return state_->call(request, true); }

HttpsClient& SyncClient::transport() { return state_->client; }

}  // namespace casefile::device
