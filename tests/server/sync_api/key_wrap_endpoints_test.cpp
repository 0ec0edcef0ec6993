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
    for (TestDevice* device : {&amina_, &bruno_, &outsider_})
      authenticator_.allow(device->token(), device->context());
    endpoints_ = std::make_unique<KeyWrapEndpoints>(*store_, authenticator_, nullptr, KeyWrapLimits{},
                                                    [] { return kNowMillis; });
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
  KeyWrapEndpoints tight(*store_, authenticator_, nullptr, KeyWrapLimits{.max_manifest_bytes = 4});
  Request large = amina_.request("PUT", "/v1/keys/x/epochs/1", upload("manifest too long", "a", "b"));
  large.path_parameters = {{"case_id", sync::to_text(case_)}, {"epoch", "1"}};
  EXPECT_EQ(tight.put_epoch(large).status, 400u);
  EXPECT_TRUE(body_json(get(amina_)).at("epochs").as_array().empty());
}

}  // namespace
}  // namespace casefile::server
