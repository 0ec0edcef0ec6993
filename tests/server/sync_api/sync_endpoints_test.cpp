// POST /v1/sync/push and GET /v1/sync/pull as Request -> Response handlers
// over a real SQLCipher store: no sockets.
#include "server/sync_api/sync_endpoints.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>

#include "server/metrics.hpp"
#include "sync/cursor.hpp"
#include "sync/response_json.hpp"
#include "sync_api_test_support.hpp"

namespace casefile::server {
namespace {

using namespace casefile::server::testing;

constexpr auto kBound = std::chrono::seconds(60);  // a broken wake fails instead of hanging

class SyncEndpointsTest : public ::testing::Test {
 protected:
  SyncEndpointsTest() {
    crypto::SecretBytes key(32);
    std::fill(key.data(), key.data() + 32, 0x11);
    store_ = std::move(SqlcipherServerStore::open(directory_.path() / "casefile.db", key).value());
    amina_.context().member_cases = {case_a_};
    bruno_.context().member_cases = {case_a_, case_b_};
    outsider_.context().member_cases = {case_b_};
    for (TestDevice* device : {&amina_, &bruno_, &outsider_})
      authenticator_.allow(device->token(), device->context());
    endpoints_ = std::make_unique<SyncEndpoints>(
        *store_, notifier_, authenticator_,
        [this](const AuditEvent& event) {
          const std::lock_guard lock(audit_mutex_);
          audit_.push_back(event);
          return ok_status();
        },
        metrics_, SyncEndpointOptions{}, [] { return kNowMillis; });
  }

  Response push(TestDevice& device, std::vector<sync::Change> changes) {
    return endpoints_->push(device.request("POST", "/v1/sync/push", device.push_body(std::move(changes))));
  }

  sync::PushResponse verdicts(const Response& response) {
    EXPECT_EQ(response.status, 200u) << response.body;
    return std::move(sync::decode_push_response(response.body).value());
  }

  std::future<Response> start_pull(TestDevice& device, const std::string& query) {
    auto promise = std::make_shared<std::promise<Response>>();
    auto future = promise->get_future();
    endpoints_->pull(device.request("GET", "/v1/sync/pull?" + query),
                     [promise](Response response) { promise->set_value(std::move(response)); });
    return future;
  }

  sync::PullPage pull(TestDevice& device, const std::string& query) {
    auto future = start_pull(device, query);
    EXPECT_EQ(future.wait_for(kBound), std::future_status::ready);
    Response response = future.get();
    EXPECT_EQ(response.status, 200u) << response.body;
    return std::move(sync::decode_pull_page(response.body).value());
  }

  TemporaryDirectory directory_;
  std::unique_ptr<SqlcipherServerStore> store_;
  ChangeNotifier notifier_;
  FakeAuthenticator authenticator_;
  MetricsRegistry metrics_;
  std::mutex audit_mutex_;
  std::vector<AuditEvent> audit_;
  std::unique_ptr<SyncEndpoints> endpoints_;
  sync::CaseId case_a_ = case_number(1);
  sync::CaseId case_b_ = case_number(2);
  TestDevice amina_{1, "amina"};
  TestDevice bruno_{2, "bruno"};
  TestDevice outsider_{3, "olga"};
};

TEST_F(SyncEndpointsTest, PushCommitsASignedBatchAndAnswersAVerdictPerChange) {
  const auto answer = verdicts(push(amina_, {amina_.new_case(case_a_, record_number(1), "trial"),
                                             amina_.new_case(case_a_, record_number(2), "appeal")}));
  ASSERT_EQ(answer.verdicts.size(), 2u);
  EXPECT_EQ(answer.server_time_millis, kNowMillis);
  EXPECT_EQ(answer.verdicts[0].kind, sync::VerdictKind::accepted);
  EXPECT_EQ(answer.verdicts[0].sequence, 1u);
  EXPECT_EQ(answer.verdicts[1].sequence, 2u);
  EXPECT_TRUE(store_->load_record({case_a_, "cases", record_number(2)})->has_value());
}

TEST_F(SyncEndpointsTest, RepeatedPushIsAnsweredWithTheFirstAnswer) {
  const std::string body = amina_.push_body({amina_.new_case(case_a_, record_number(1), "trial")});
  const auto first = verdicts(endpoints_->push(amina_.request("POST", "/v1/sync/push", body)));
  const auto second = verdicts(endpoints_->push(amina_.request("POST", "/v1/sync/push", body)));
  ASSERT_EQ(second.verdicts.size(), 1u);
  EXPECT_EQ(first.verdicts[0].kind, sync::VerdictKind::accepted);
  EXPECT_EQ(second.verdicts[0].kind, sync::VerdictKind::duplicate);
  EXPECT_EQ(second.verdicts[0].sequence, first.verdicts[0].sequence);
  EXPECT_EQ(pull(bruno_, "").entries.size(), 1u);  // committed once
}

TEST_F(SyncEndpointsTest, ARefusedChangeDoesNotBlockTheRestOfItsBatch) {
  const auto answer = verdicts(push(
      amina_, {amina_.change(case_a_, "cases", record_number(1), {TestDevice::set("no_such_field", true)}),
               amina_.new_case(case_a_, record_number(2), "trial"),
               amina_.change(case_a_, "cases", record_number(3),
                             {TestDevice::set("stage", std::string("not_a_stage"))})}));
  ASSERT_EQ(answer.verdicts.size(), 3u);
  EXPECT_EQ(answer.verdicts[0].kind, sync::VerdictKind::refused);
  EXPECT_EQ(answer.verdicts[0].reason.code, "unknown_field");
  EXPECT_EQ(answer.verdicts[1].kind, sync::VerdictKind::accepted);
  EXPECT_EQ(answer.verdicts[2].kind, sync::VerdictKind::refused);
  EXPECT_EQ(answer.verdicts[2].reason.code, "not_in_enumeration");
}

TEST_F(SyncEndpointsTest, ANonMemberIsRefusedAndSeesNoForeignDataInAnyBody) {
  ASSERT_EQ(verdicts(push(amina_, {amina_.new_case(case_a_, record_number(1), "trial")})).verdicts[0].kind,
            sync::VerdictKind::accepted);
  const Response refused = push(outsider_, {outsider_.new_case(case_a_, record_number(9), "trial")});
  const auto answer = verdicts(refused);
  EXPECT_EQ(answer.verdicts[0].reason.code, "case_not_member");

  auto pulled = start_pull(outsider_, "");
  ASSERT_EQ(pulled.wait_for(kBound), std::future_status::ready);
  const Response page = pulled.get();
  EXPECT_TRUE(sync::decode_pull_page(page.body)->entries.empty());
  for (const Response* body : {&refused, &page}) {
    EXPECT_EQ(body->body.find(sync::to_text(record_number(1))), std::string::npos) << body->body;
    EXPECT_EQ(body->body.find(sync::to_text(amina_.id())), std::string::npos) << body->body;
  }
  EXPECT_EQ(page.body.find(sync::to_text(case_a_)), std::string::npos);
  EXPECT_FALSE(store_->load_record({case_a_, "cases", record_number(9)})->has_value());
}

TEST_F(SyncEndpointsTest, PullReturnsOnlyMemberCasesAndItsCursorNeverGoesBack) {
  (void)verdicts(push(bruno_, {bruno_.new_case(case_a_, record_number(1), "trial"),
                               bruno_.new_case(case_b_, record_number(2), "trial"),
                               bruno_.new_case(case_a_, record_number(3), "trial")}));
  const auto first = pull(amina_, "limit=1");
  ASSERT_EQ(first.entries.size(), 1u);
  EXPECT_EQ(first.entries[0].change.change.record.record_id, record_number(1));
  EXPECT_TRUE(first.has_more);
  const auto second = pull(amina_, "limit=1&cursor=" + first.next_cursor);
  ASSERT_EQ(second.entries.size(), 1u);
  EXPECT_EQ(second.entries[0].change.change.record.record_id, record_number(3));  // case B skipped
  EXPECT_GT(*sync::decode_cursor(second.next_cursor), *sync::decode_cursor(first.next_cursor));
  const auto third = pull(amina_, "cursor=" + second.next_cursor);
  EXPECT_TRUE(third.entries.empty());
  EXPECT_GE(*sync::decode_cursor(third.next_cursor), *sync::decode_cursor(second.next_cursor));
  EXPECT_EQ(pull(outsider_, "").entries.size(), 1u);
}

TEST_F(SyncEndpointsTest, LongPollIsWokenByACommitInOneOfItsCases) {
  auto parked = start_pull(amina_, "wait=30");
  EXPECT_EQ(notifier_.waiting(), 1u);
  EXPECT_EQ(parked.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);

  // A commit in a case the waiter cannot read does not answer it.
  (void)verdicts(push(outsider_, {outsider_.new_case(case_b_, record_number(5), "trial")}));
  EXPECT_EQ(parked.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);

  (void)verdicts(push(bruno_, {bruno_.new_case(case_a_, record_number(6), "trial")}));
  ASSERT_EQ(parked.wait_for(kBound), std::future_status::ready);
  const Response response = parked.get();
  ASSERT_EQ(response.status, 200u);
  const auto page = sync::decode_pull_page(response.body).value();
  ASSERT_EQ(page.entries.size(), 1u);
  EXPECT_EQ(page.entries[0].change.change.record.record_id, record_number(6));
}

TEST_F(SyncEndpointsTest, LongPollWithNothingNewAnswersAnEmptyPageAtItsDeadline) {
  (void)verdicts(push(amina_, {amina_.new_case(case_a_, record_number(1), "trial")}));
  const auto caught_up = pull(amina_, "");
  const auto page = pull(amina_, "wait=1&cursor=" + caught_up.next_cursor);
  EXPECT_TRUE(page.entries.empty());
  EXPECT_FALSE(page.has_more);
  EXPECT_EQ(page.next_cursor, caught_up.next_cursor);
  EXPECT_EQ(notifier_.waiting(), 0u);
}

TEST_F(SyncEndpointsTest, StoppingAnswersParkedPullsAtOnce) {
  auto parked = start_pull(amina_, "wait=60");
  endpoints_->stop();
  ASSERT_EQ(parked.wait_for(kBound), std::future_status::ready);
  EXPECT_EQ(parked.get().status, 200u);
  // Later pulls are not parked.
  EXPECT_TRUE(pull(amina_, "wait=60").entries.empty());
}

TEST_F(SyncEndpointsTest, ARevocationDuringALongPollAnswersWithTheRefusal) {
  auto parked = start_pull(amina_, "wait=30");
  authenticator_.refuse(amina_.token(), make_error("device_revoked", "wipe"));
  (void)verdicts(push(bruno_, {bruno_.new_case(case_a_, record_number(6), "trial")}));
  ASSERT_EQ(parked.wait_for(kBound), std::future_status::ready);
  const Response response = parked.get();
  EXPECT_EQ(response.status, 403u);
  EXPECT_EQ(error_of(response), "device_revoked");
  EXPECT_EQ(response.body.find(sync::to_text(record_number(6))), std::string::npos);
}

TEST_F(SyncEndpointsTest, UnauthenticatedRequestsGetTheAuthenticatorsRefusal) {
  Request request = amina_.request("POST", "/v1/sync/push",
                                   amina_.push_body({amina_.new_case(case_a_, record_number(1), "trial")}));
  request.headers[0].second = "Bearer nobody";
  const Response push_refusal = endpoints_->push(request);
  EXPECT_EQ(push_refusal.status, 401u);
  EXPECT_EQ(error_of(push_refusal), "unauthenticated");
  authenticator_.refuse(bruno_.token(), make_error("device_revoked", "this device is revoked"));
  auto pulled = start_pull(bruno_, "");
  ASSERT_EQ(pulled.wait_for(kBound), std::future_status::ready);
  EXPECT_EQ(pulled.get().status, 403u);
  EXPECT_FALSE(store_->load_record({case_a_, "cases", record_number(1)})->has_value());
}

TEST_F(SyncEndpointsTest, MalformedRequestsAreRefusedWithStableCodes) {
  const Response not_json = endpoints_->push(amina_.request("POST", "/v1/sync/push", "{\"batch\": 1"));
  EXPECT_EQ(not_json.status, 400u);
  EXPECT_EQ(error_of(not_json), "json_syntax");

  SyncEndpoints small(*store_, notifier_, authenticator_, nullptr, metrics_,
                      SyncEndpointOptions{.max_push_body_bytes = 64}, [] { return kNowMillis; });
  const Response too_large = small.push(amina_.request(
      "POST", "/v1/sync/push", amina_.push_body({amina_.new_case(case_a_, record_number(1), "trial")})));
  EXPECT_EQ(too_large.status, 413u);
  EXPECT_EQ(error_of(too_large), "json_too_large");

  for (const std::string query :
       {"cursor=%%%", "limit=0", "limit=1001", "wait=61", "colour=blue", "limit=1&limit=2"}) {
    auto answer = start_pull(amina_, query);
    ASSERT_EQ(answer.wait_for(kBound), std::future_status::ready);
    const Response response = answer.get();
    EXPECT_EQ(response.status, 400u) << query;
    EXPECT_EQ(error_of(response), "invalid_query") << query;
  }
  auto bad_cursor = start_pull(amina_, "cursor=not-a-cursor");
  ASSERT_EQ(bad_cursor.wait_for(kBound), std::future_status::ready);
  EXPECT_EQ(error_of(bad_cursor.get()), "invalid_cursor");
}

TEST_F(SyncEndpointsTest, PushesAreCountedAndAuditedWithTheirChangeIds) {
  Request request = amina_.request("POST", "/v1/sync/push",
                                   amina_.push_body({amina_.new_case(case_a_, record_number(1), "trial"),
                                                     amina_.change(case_a_, "cases", record_number(2),
                                                                   {TestDevice::set("bogus", true)})}));
  request.headers.emplace_back(std::string(kOutboxDepthHeader), "42");
  (void)verdicts(endpoints_->push(request));

  const std::string text = metrics_.render_prometheus();
  EXPECT_NE(text.find("casefile_sync_pushed_changes_total{verdict=\"accepted\"} 1"), std::string::npos)
      << text;
  EXPECT_NE(text.find("casefile_sync_pushed_changes_total{verdict=\"refused\"} 1"), std::string::npos);
  EXPECT_NE(text.find("casefile_sync_device_outbox_depth_bucket{le=\"100\"} 1"), std::string::npos);
  EXPECT_NE(text.find("casefile_sync_push_commit_seconds_count 1"), std::string::npos);

  const std::lock_guard lock(audit_mutex_);
  ASSERT_EQ(audit_.size(), 1u);
  EXPECT_EQ(audit_[0].event, "sync_push");
  EXPECT_EQ(audit_[0].actor, "device:" + sync::to_text(amina_.id()));
  EXPECT_EQ(std::string(audit_[0].details.at("accepted").as_array().at(0).as_string()),
            sync::to_text(amina_.id()) + ":1");
  EXPECT_EQ(audit_[0].details.at("refused").as_array().at(0).at("code"), "unknown_field");

  request.headers.back().second = "-3";
  const Response bad_depth = endpoints_->push(request);
  EXPECT_EQ(bad_depth.status, 400u);
  EXPECT_EQ(error_of(bad_depth), "invalid_outbox_depth");
}

}  // namespace
}  // namespace casefile::server
