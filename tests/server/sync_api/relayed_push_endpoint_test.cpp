// POST /v1/sync/push with a relayed batch (another device's signed batch,
// sent by a device healing a restored server), and the instance epoch every
// sync answer carries. Handlers over a real SQLCipher store, no sockets.
#include <gtest/gtest.h>

#include <future>
#include <map>

#include "server/metrics.hpp"
#include "server/sync_api/sync_endpoints.hpp"
#include "sync/response_json.hpp"
#include "sync_api_test_support.hpp"

namespace casefile::server {
namespace {

using namespace casefile::server::testing;

constexpr const char* kEpoch = "00112233445566778899aabbccddeeff";

std::string header_value(const Response& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return {};
}

class RelayedPushEndpointTest : public ::testing::Test {
 protected:
  RelayedPushEndpointTest() {
    crypto::SecretBytes key(32);
    std::fill(key.data(), key.data() + 32, 0x11);
    store_ = std::move(SqlcipherServerStore::open(directory_.path() / "casefile.db", key).value());
    amina_.context().member_cases = {case_a_};
    bruno_.context().member_cases = {case_a_};
    outsider_.context().member_cases = {};
    for (TestDevice* device : {&amina_, &bruno_, &outsider_})
      authenticator_.allow(device->token(), device->context());
    SyncEndpointOptions options;
    options.instance_epoch = kEpoch;
    // amina and bruno are certified; the outsider's key is unknown to the lookup.
    options.relayed_author_key =
        [this](const sync::DeviceId& author) -> Result<std::optional<crypto::Ed25519PublicKey>> {
      for (TestDevice* device : {&amina_, &bruno_}) {
        if (device->id() == author) return std::optional(device->key().public_key());
      }
      return std::optional<crypto::Ed25519PublicKey>();
    };
    endpoints_ = std::make_unique<SyncEndpoints>(
        *store_, notifier_, authenticator_, [](const AuditEvent&) { return ok_status(); }, metrics_, options,
        [] { return kNowMillis; });
  }

  Response push_as(TestDevice& pusher, const std::string& body) {
    return endpoints_->push(pusher.request("POST", "/v1/sync/push", body));
  }

  TemporaryDirectory directory_;
  std::unique_ptr<SqlcipherServerStore> store_;
  ChangeNotifier notifier_;
  FakeAuthenticator authenticator_;
  MetricsRegistry metrics_;
  std::unique_ptr<SyncEndpoints> endpoints_;
  sync::CaseId case_a_ = case_number(1);
  TestDevice amina_{1, "amina"};
  TestDevice bruno_{2, "bruno"};
  TestDevice outsider_{3, "olga"};
};

TEST_F(RelayedPushEndpointTest, AColleaguesSignedBatchIsAcceptedOnceFromTheRelayingDevice) {
  const std::string amina_batch =
      amina_.push_body({amina_.new_case(case_a_, record_number(1), "investigation")});
  const Response relayed = push_as(bruno_, amina_batch);
  ASSERT_EQ(relayed.status, 200u) << relayed.body;
  auto verdicts = sync::decode_push_response(relayed.body);
  ASSERT_TRUE(verdicts.ok());
  EXPECT_EQ(verdicts->verdicts[0].kind, sync::VerdictKind::accepted);
  EXPECT_EQ(header_value(relayed, kInstanceEpochHeader), kEpoch);

  // The author pushing it afterwards is told it is already held.
  const Response own = push_as(amina_, amina_batch);
  auto again = sync::decode_push_response(own.body);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->verdicts[0].kind, sync::VerdictKind::duplicate);
  EXPECT_EQ(again->verdicts[0].sequence, verdicts->verdicts[0].sequence);
}

TEST_F(RelayedPushEndpointTest, ARelayByANonMemberOrOfAnUnknownAuthorIsRefused) {
  const std::string amina_batch =
      amina_.push_body({amina_.new_case(case_a_, record_number(2), "investigation")});
  auto by_outsider = sync::decode_push_response(push_as(outsider_, amina_batch).body);
  ASSERT_TRUE(by_outsider.ok());
  EXPECT_EQ(by_outsider->verdicts[0].reason.code, "case_not_member");
  const std::string outsider_batch =
      outsider_.push_body({outsider_.new_case(case_a_, record_number(3), "investigation")});
  auto unknown = sync::decode_push_response(push_as(bruno_, outsider_batch).body);
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->verdicts[0].reason.code, "author_unknown");
}

TEST_F(RelayedPushEndpointTest, EverySyncAnswerNamesTheInstanceEpochErrorsIncluded) {
  Request anonymous = amina_.request("POST", "/v1/sync/push", "{}");
  anonymous.headers.clear();
  EXPECT_EQ(header_value(endpoints_->push(anonymous), kInstanceEpochHeader), kEpoch);
  auto promise = std::make_shared<std::promise<Response>>();
  auto future = promise->get_future();
  endpoints_->pull(amina_.request("GET", "/v1/sync/pull?cursor=AQAAAAAAAAPo"),
                   [promise](Response response) { promise->set_value(std::move(response)); });
  ASSERT_EQ(future.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  const Response pulled = future.get();
  EXPECT_EQ(pulled.status, 400u);  // a cursor ahead of the log: what a device meets after a restore
  EXPECT_EQ(header_value(pulled, kInstanceEpochHeader), kEpoch);
}

}  // namespace
}  // namespace casefile::server
