// PUT /v1/keys/{case_id}/epochs/{epoch} and GET /v1/keys/{case_id} over a
// real keys.db: no sockets.
#include "server/sync_api/key_wrap_endpoints.hpp"

#include <gtest/gtest.h>

#include "server/sync_api/sqlcipher_key_wrap_store.hpp"
#include "sync/device_authentication.hpp"
#include "sync_api_test_support.hpp"

namespace casefile::server {
namespace {

using namespace casefile::server::testing;
namespace json = boost::json;

std::string wire(const std::string& text) { return sync::bytes_to_wire_text(crypto::as_bytes(text)); }
std::string text(const json::value& value) { return std::string(value.as_string()); }

class KeyWrapEndpointsTest : public ::testing::Test {
 protected:
  KeyWrapEndpointsTest() {
    crypto::SecretBytes key(32);
    std::fill(key.data(), key.data() + 32, 0x22);
    store_ = std::move(SqlcipherKeyWrapStore::open(directory_.path() / "keys.db", key).value());
    amina_.context().member_cases = {case_};
    bruno_.context().member_cases = {case_};
    carla_.context().member_cases = {case_};
    for (TestDevice* device : {&amina_, &bruno_, &outsider_, &carla_})
      authenticator_.allow(device->token(), device->context());
    endpoints_ = std::make_unique<KeyWrapEndpoints>(*store_, authenticator_, nullptr, recipients(),
                                                    KeyWrapLimits{}, [] { return kNowMillis; });
  }

  std::string upload(const std::string& manifest, const std::string& amina_wrap,
                     const std::string& bruno_wrap) {
    return json::serialize(json::object{
        {"manifest", wire(manifest)},
        {"wraps",
         json::array{json::object{{"device", sync::to_text(amina_.id())}, {"wrap", wire(amina_wrap)}},
                     json::object{{"device", sync::to_text(bruno_.id())}, {"wrap", wire(bruno_wrap)}}}}});
  }

  Response put(TestDevice& device, std::uint32_t epoch, const std::string& body,
               const sync::CaseId* case_id = nullptr) {
    Request request = device.request(
        "PUT", "/v1/keys/" + sync::to_text(case_id ? *case_id : case_) + "/epochs/" + std::to_string(epoch),
        body);
    request.path_parameters = {{"case_id", sync::to_text(case_id ? *case_id : case_)},
                               {"epoch", std::to_string(epoch)}};
    return endpoints_->put_epoch(request);
  }

  // The recipient check casefiled builds from control.db, over `allowed_`.
  CaseKeyRecipients recipients() {
    return [this](const sync::CaseId& case_id) -> Result<std::vector<sync::DeviceId>> {
      if (case_id != case_) return std::vector<sync::DeviceId>{};
      return allowed_;
    };
  }

  Response post_wraps(TestDevice& device, const std::string& epoch, const std::string& body,
                      const std::string& case_text = "") {
    const std::string case_path = case_text.empty() ? sync::to_text(case_) : case_text;
    Request request = device.request("POST", "/v1/keys/" + case_path + "/epochs/" + epoch + "/wraps", body);
    request.path_parameters = {{"case_id", case_path}, {"epoch", epoch}};
    return endpoints_->add_wraps(request);
  }

  static std::string wraps_body(const std::vector<std::pair<sync::DeviceId, std::string>>& wraps) {
    json::array items;
    for (const auto& [device, wrap] : wraps) {
      items.push_back(json::object{{"device", sync::to_text(device)}, {"wrap", wire(wrap)}});
    }
    return json::serialize(json::object{{"wraps", std::move(items)}});
  }

  std::string upload_to(const std::string& manifest,
                        const std::vector<std::pair<sync::DeviceId, std::string>>& wraps) {
    json::object body = json::parse(wraps_body(wraps)).as_object();
    body["manifest"] = wire(manifest);
    return json::serialize(body);
  }

  Response list(TestDevice& device) { return endpoints_->list_heads(device.request("GET", "/v1/keys")); }

  Response get(TestDevice& device) {
    Request request = device.request("GET", "/v1/keys/" + sync::to_text(case_));
    request.path_parameters = {{"case_id", sync::to_text(case_)}};
    return endpoints_->get_keys(request);
  }

  TemporaryDirectory directory_;
  std::unique_ptr<SqlcipherKeyWrapStore> store_;
  FakeAuthenticator authenticator_;
  std::unique_ptr<KeyWrapEndpoints> endpoints_;
  sync::CaseId case_ = case_number(7);
  TestDevice amina_{1, "amina"};
  TestDevice bruno_{2, "bruno"};
  TestDevice outsider_{3, "olga"};
  TestDevice carla_{4, "carla"};  // a member's new device, certified after epoch 1
  std::vector<sync::DeviceId> allowed_ = {amina_.id(), bruno_.id(), carla_.id()};
};

TEST_F(KeyWrapEndpointsTest, AMemberFetchesTheManifestChainAndOnlyItsOwnWraps) {
  EXPECT_EQ(put(amina_, 1, upload("manifest-1", "wrap-a-1", "wrap-b-1")).status, 201u);
  EXPECT_EQ(put(amina_, 2, upload("manifest-2", "wrap-a-2", "wrap-b-2")).status, 201u);

  const Response response = get(bruno_);
  ASSERT_EQ(response.status, 200u) << response.body;
  const auto body = body_json(response);
  EXPECT_EQ(text(body.at("case")), sync::to_text(case_));
  const auto& epochs = body.at("epochs").as_array();
  ASSERT_EQ(epochs.size(), 2u);
  EXPECT_EQ(epochs[0].at("epoch"), 1);
  EXPECT_EQ(text(epochs[0].at("manifest")), wire("manifest-1"));
  EXPECT_EQ(text(epochs[0].at("wrap")), wire("wrap-b-1"));
  EXPECT_EQ(text(epochs[1].at("wrap")), wire("wrap-b-2"));
  EXPECT_EQ(response.body.find(wire("wrap-a-1")), std::string::npos);
  EXPECT_EQ(response.body.find(wire("wrap-a-2")), std::string::npos);
}

TEST_F(KeyWrapEndpointsTest, EpochsOnlyGoUpAndARetriedUploadIsAccepted) {
  const std::string first = upload("manifest-3", "a", "b");
  EXPECT_EQ(put(amina_, 3, first).status, 201u);
  const Response retried = put(amina_, 3, first);
  EXPECT_EQ(retried.status, 200u);
  EXPECT_EQ(body_json(retried).at("stored"), "already_stored");

  const Response rewritten = put(amina_, 3, upload("manifest-3", "a", "other"));
  EXPECT_EQ(rewritten.status, 409u);
  EXPECT_EQ(error_of(rewritten), "epoch_not_monotonic");
  const Response older = put(bruno_, 2, upload("manifest-2", "a", "b"));
  EXPECT_EQ(older.status, 409u);
  EXPECT_EQ(error_of(older), "epoch_not_monotonic");
  EXPECT_EQ(body_json(get(amina_)).at("epochs").as_array().size(), 1u);
}

TEST_F(KeyWrapEndpointsTest, ANonMemberCanNeitherUploadNorFetch) {
  EXPECT_EQ(put(amina_, 1, upload("manifest-1", "wrap-a", "wrap-b")).status, 201u);
  const Response upload_refused = put(outsider_, 2, upload("manifest-x", "x", "y"));
  EXPECT_EQ(upload_refused.status, 403u);
  EXPECT_EQ(error_of(upload_refused), "case_not_member");
  const Response fetch_refused = get(outsider_);
  EXPECT_EQ(fetch_refused.status, 403u);
  EXPECT_EQ(error_of(fetch_refused), "case_not_member");
  EXPECT_EQ(fetch_refused.body.find(wire("manifest-1")), std::string::npos);
  EXPECT_EQ(body_json(get(amina_)).at("epochs").as_array().size(), 1u);
}

TEST_F(KeyWrapEndpointsTest, MalformedUploadsAreRefused) {
  const std::string device = sync::to_text(amina_.id());
  const std::vector<std::string> bodies = {
      "{}",
      R"({"manifest": "", "wraps": []})",
      R"({"manifest": "bWFu", "wraps": [{"device": ")" + device + R"(", "wrap": "d3JhcA=="}]})",  // padded
      R"({"manifest": "bWFu", "wraps": [{"device": "not-a-device", "wrap": "d3JhcA"}]})",
      R"({"manifest": "bWFu", "wraps": [{"device": ")" + device + R"(", "wrap": "d3JhcA"},
                                        {"device": ")" +
          device + R"(", "wrap": "d3JhcA"}]})",
      R"({"manifest": "bWFu", "wraps": [], "extra": 1})",
  };
  for (const auto& body : bodies) {
    const Response response = put(amina_, 1, body);
    EXPECT_EQ(response.status, 400u) << body;
  }
  Request zero = amina_.request("PUT", "/v1/keys/x/epochs/0", upload("m", "a", "b"));
  zero.path_parameters = {{"case_id", sync::to_text(case_)}, {"epoch", "0"}};
  EXPECT_EQ(error_of(endpoints_->put_epoch(zero)), "invalid_epoch");
  KeyWrapEndpoints tight(*store_, authenticator_, nullptr, recipients(),
                         KeyWrapLimits{.max_manifest_bytes = 4});
  Request large = amina_.request("PUT", "/v1/keys/x/epochs/1", upload("manifest too long", "a", "b"));
  large.path_parameters = {{"case_id", sync::to_text(case_)}, {"epoch", "1"}};
  EXPECT_EQ(tight.put_epoch(large).status, 400u);
  EXPECT_TRUE(body_json(get(amina_)).at("epochs").as_array().empty());
}

TEST_F(KeyWrapEndpointsTest, EachEpochListsItsRecipientsAscending) {
  const sync::DeviceId recovery{};
  ASSERT_EQ(put(amina_, 1, upload_to("manifest-1", {{bruno_.id(), "b"}, {recovery, "r"}, {amina_.id(), "a"}}))
                .status,
            201u);
  const auto body = body_json(get(amina_));
  const auto& recipients = body.at("epochs").as_array()[0].at("recipients").as_array();
  ASSERT_EQ(recipients.size(), 3u);
  EXPECT_EQ(text(recipients[0]), sync::to_text(recovery));
  EXPECT_EQ(text(recipients[1]), sync::to_text(amina_.id()));
  EXPECT_EQ(text(recipients[2]), sync::to_text(bruno_.id()));
}

TEST_F(KeyWrapEndpointsTest, TheHeadListNamesEveryMemberCaseWithAStoredEpoch) {
  const sync::CaseId other = case_number(8), empty = case_number(9);
  amina_.context().member_cases = {case_, other, empty};
  authenticator_.allow(amina_.token(), amina_.context());
  ASSERT_EQ(put(amina_, 1, upload("m1", "a", "b")).status, 201u);
  ASSERT_EQ(put(amina_, 2, upload("m2", "a", "b")).status, 201u);
  ASSERT_EQ(put(amina_, 1, upload("other-1", "a", "b"), &other).status, 201u);

  const Response response = list(amina_);
  ASSERT_EQ(response.status, 200u) << response.body;
  const auto cases = body_json(response).at("cases").as_array();
  ASSERT_EQ(cases.size(), 2u);  // the case without an epoch is not listed
  std::map<std::string, std::int64_t> heads;
  for (const auto& item : cases) heads[text(item.at("case"))] = item.at("head_epoch").as_int64();
  EXPECT_EQ(heads.at(sync::to_text(case_)), 2);
  EXPECT_EQ(heads.at(sync::to_text(other)), 1);
  // Bruno is a member of case_ only: he does not learn of the other case.
  const auto bruno_cases = body_json(list(bruno_)).at("cases").as_array();
  ASSERT_EQ(bruno_cases.size(), 1u);
  EXPECT_EQ(text(bruno_cases[0].at("case")), sync::to_text(case_));
  EXPECT_EQ(list(outsider_).status, 200u);
  EXPECT_TRUE(body_json(list(outsider_)).at("cases").as_array().empty());
}

TEST_F(KeyWrapEndpointsTest, AMemberAddsWrapsOfAStoredEpochForANewMemberDevice) {
  ASSERT_EQ(put(amina_, 1, upload("manifest-1", "wrap-a", "wrap-b")).status, 201u);
  const Response added = post_wraps(bruno_, "1", wraps_body({{carla_.id(), "wrap-c"}}));
  ASSERT_EQ(added.status, 201u) << added.body;
  EXPECT_EQ(body_json(added).at("stored"), "created");
  const auto epochs = body_json(get(carla_)).at("epochs").as_array();
  ASSERT_EQ(epochs.size(), 1u);
  EXPECT_EQ(text(epochs[0].at("wrap")), wire("wrap-c"));
  EXPECT_EQ(epochs[0].at("recipients").as_array().size(), 3u);

  // The same wrap again is a retry; another wrap for the same device is refused.
  const Response retried = post_wraps(bruno_, "1", wraps_body({{carla_.id(), "wrap-c"}}));
  EXPECT_EQ(retried.status, 200u);
  EXPECT_EQ(body_json(retried).at("stored"), "already_stored");
  const Response replaced = post_wraps(bruno_, "1", wraps_body({{carla_.id(), "forged"}}));
  EXPECT_EQ(replaced.status, 409u);
  EXPECT_EQ(error_of(replaced), "wrap_exists");
  const Response over_existing = post_wraps(bruno_, "1", wraps_body({{amina_.id(), "forged"}}));
  EXPECT_EQ(error_of(over_existing), "wrap_exists");
  EXPECT_EQ(text(body_json(get(carla_)).at("epochs").as_array()[0].at("wrap")), wire("wrap-c"));
  EXPECT_EQ(text(body_json(get(amina_)).at("epochs").as_array()[0].at("wrap")), wire("wrap-a"));
}

TEST_F(KeyWrapEndpointsTest, AddedWrapsGoOnlyToCurrentRecipientsOfTheCase) {
  ASSERT_EQ(put(amina_, 1, upload("manifest-1", "wrap-a", "wrap-b")).status, 201u);
  // A device of a non-member, a revoked device (no longer among the
  // recipients), and the recovery id are all refused.
  const sync::DeviceId recovery{};
  for (const sync::DeviceId& device : {outsider_.id(), recovery}) {
    const Response refused = post_wraps(amina_, "1", wraps_body({{device, "w"}}));
    EXPECT_EQ(refused.status, 403u);
    EXPECT_EQ(error_of(refused), "recipient_not_member");
  }
  allowed_ = {amina_.id(), bruno_.id()};  // carla's device was revoked
  const Response revoked = post_wraps(amina_, "1", wraps_body({{carla_.id(), "w"}}));
  EXPECT_EQ(error_of(revoked), "recipient_not_member");
  // A caller outside the case is refused before anything else.
  const Response outsider = post_wraps(outsider_, "1", wraps_body({{bruno_.id(), "w"}}));
  EXPECT_EQ(outsider.status, 403u);
  EXPECT_EQ(error_of(outsider), "case_not_member");
  EXPECT_EQ(body_json(get(amina_)).at("epochs").as_array()[0].at("recipients").as_array().size(), 2u);
}

TEST_F(KeyWrapEndpointsTest, AddingWrapsIsAllOrNothing) {
  ASSERT_EQ(put(amina_, 1, upload("manifest-1", "wrap-a", "wrap-b")).status, 201u);
  TestDevice dora{5, "dora"};
  allowed_.push_back(dora.id());
  // carla's wrap is new, amina's conflicts: neither is stored.
  const Response conflict = post_wraps(bruno_, "1", wraps_body({{carla_.id(), "c"}, {amina_.id(), "x"}}));
  EXPECT_EQ(error_of(conflict), "wrap_exists");
  // carla's wrap is allowed, the outsider's is not: neither is stored.
  const Response mixed = post_wraps(bruno_, "1", wraps_body({{carla_.id(), "c"}, {outsider_.id(), "o"}}));
  EXPECT_EQ(error_of(mixed), "recipient_not_member");
  EXPECT_TRUE(body_json(get(carla_)).at("epochs").as_array()[0].at("wrap").is_null());
  EXPECT_EQ(body_json(get(amina_)).at("epochs").as_array()[0].at("recipients").as_array().size(), 2u);
  // Both new: both stored.
  ASSERT_EQ(post_wraps(bruno_, "1", wraps_body({{carla_.id(), "c"}, {dora.id(), "d"}})).status, 201u);
  EXPECT_EQ(body_json(get(amina_)).at("epochs").as_array()[0].at("recipients").as_array().size(), 4u);
}

TEST_F(KeyWrapEndpointsTest, HostileWrapAdditionsAreRefusedWithTheirCodes) {
  ASSERT_EQ(put(amina_, 1, upload("manifest-1", "wrap-a", "wrap-b")).status, 201u);
  const std::string carla = sync::to_text(carla_.id());
  const Response unknown_epoch = post_wraps(amina_, "2", wraps_body({{carla_.id(), "c"}}));
  EXPECT_EQ(unknown_epoch.status, 404u);
  EXPECT_EQ(error_of(unknown_epoch), "epoch_unknown");
  for (const std::string epoch : {"0", "01", "-1", "x", "2147483648", ""}) {
    const Response response = post_wraps(amina_, epoch, wraps_body({{carla_.id(), "c"}}));
    EXPECT_EQ(error_of(response), "invalid_epoch") << epoch;
  }
  for (const std::string case_text : {"not-a-case", "CA000000-0000-4000-8000-000000000007", "00"}) {
    const Response response = post_wraps(amina_, "1", wraps_body({{carla_.id(), "c"}}), case_text);
    EXPECT_EQ(error_of(response), "invalid_case_id") << case_text;
  }
  const std::vector<std::string> bodies = {
      "",
      "[]",
      "{}",
      R"({"wraps": []})",
      R"({"wraps": [{"device": ")" + carla + R"(", "wrap": "Yw=="}]})",  // padded base64
      R"({"wraps": [{"device": ")" + carla + R"(", "wrap": "Y*"}]})",    // not base64url
      R"({"wraps": [{"device": ")" + carla + R"(", "wrap": ""}]})",
      R"({"wraps": [{"device": ")" + carla + R"(", "wrap": 7}]})",
      R"({"wraps": [{"device": "not-a-device", "wrap": "Yw"}]})",
      R"({"wraps": [{"device": ")" + carla + R"(", "wrap": "Yw", "extra": 1}]})",
      R"({"wraps": [{"device": ")" + carla + R"(", "wrap": "Yw"}, {"device": ")" + carla +
          R"(", "wrap": "Yw"}]})",
      R"({"wraps": [{"device": ")" + carla + R"(", "wrap": "Yw"}], "manifest": "bQ"})",
      R"({"wraps": [{"device": ")" + carla + R"(", "wrap": ")" + std::string(2000, 'A') + R"("}]})",
  };
  for (const std::string& body : bodies) {
    const Response response = post_wraps(amina_, "1", body);
    EXPECT_EQ(response.status, 400u) << body;
  }
  // Too many wraps: over the limit of one epoch's recipients.
  std::vector<std::pair<sync::DeviceId, std::string>> many;
  for (std::uint64_t i = 0; i < 4097; ++i) many.emplace_back(numbered<sync::DeviceId>(0xdd, i + 1), "w");
  const Response too_many = post_wraps(amina_, "1", wraps_body(many));
  EXPECT_EQ(too_many.status, 400u);
  EXPECT_EQ(error_of(too_many), "invalid_key_upload");
  EXPECT_TRUE(body_json(get(carla_)).at("epochs").as_array()[0].at("wrap").is_null());
}

TEST_F(KeyWrapEndpointsTest, AddedWrapsAreAuditedOnceAndRetriesAreNot) {
  std::vector<AuditEvent> events;
  KeyWrapEndpoints audited(
      *store_, authenticator_,
      [&events](const AuditEvent& event) {
        events.push_back(event);
        return ok_status();
      },
      recipients(), KeyWrapLimits{}, [] { return kNowMillis; });
  ASSERT_EQ(put(amina_, 1, upload("manifest-1", "wrap-a", "wrap-b")).status, 201u);
  Request request = bruno_.request("POST", "/v1/keys/x/epochs/1/wraps", wraps_body({{carla_.id(), "c"}}));
  request.path_parameters = {{"case_id", sync::to_text(case_)}, {"epoch", "1"}};
  ASSERT_EQ(audited.add_wraps(request).status, 201u);
  ASSERT_EQ(audited.add_wraps(request).status, 200u);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event, "case_key_wraps_added");
  EXPECT_EQ(events[0].actor, "device:" + sync::to_text(bruno_.id()));
  EXPECT_EQ(events[0].subject, "case:" + sync::to_text(case_));
  EXPECT_EQ(events[0].details.at("epoch"), 1);
  EXPECT_EQ(json::serialize(events[0].details.at("recipients")), "[\"" + sync::to_text(carla_.id()) + "\"]");
}

}  // namespace
}  // namespace casefile::server
