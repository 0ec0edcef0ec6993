// The sync API end to end: the real casefiled on a real instance, devices
// enrolled, certified and signed in through the real routes over pinned TLS,
// a signed batch pushed by one device and pulled by another, a long-poll
// woken by the other device's push, and casefile-admin stats over the result.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>
#include <memory>

#include "../casefiled_process.hpp"
#include "crypto/key_file.hpp"
#include "crypto/random.hpp"
#include "crypto/x25519.hpp"
#include "server/access/access_administration.hpp"
#include "server/access/sqlcipher_control_store.hpp"
#include "server/instance.hpp"
#include "sync/change_json.hpp"
#include "sync/device_authentication.hpp"
#include "sync/response_json.hpp"
#include "sync_api_test_support.hpp"

namespace casefile::server {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace casefile::server::testing;

constexpr const char* kPassphrase = "correct horse battery staple";

// A device as the field app is: its own keys, a bearer token once signed in.
struct FieldDevice {
  sync::DeviceId id;
  crypto::Ed25519PrivateKey signing = *crypto::Ed25519PrivateKey::generate();
  crypto::X25519PrivateKey wrapping = *crypto::X25519PrivateKey::generate();
  std::string token;
  std::uint64_t next_sequence = 1;
};

HttpResponse send(TlsClient& client, const std::string& method, const std::string& target,
                  const std::string& token = {}, const std::string& body = {}) {
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: casefiled\r\n";
  if (!token.empty()) request += "Authorization: Bearer " + token + "\r\n";
  if (!body.empty()) request += "Content-Type: application/json\r\n";
  request += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  if (auto error = client.write(request)) throw std::runtime_error("write failed: " + error.message());
  HttpResponse response;
  if (auto error = client.read(response)) throw std::runtime_error("read failed: " + error.message());
  return response;
}

class SyncApiEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InstanceRequest request;
    request.root = directory_.path() / "instance";
    request.admin_passphrase = kPassphrase;
    auto summary = create_instance(request);
    ASSERT_TRUE(summary.ok()) << summary.error().message;
    root_ = request.root;
    pin_ = summary->tls_spki_pin;
    control_ = std::move(SqlCipherControlStore::open_in_instance(root_).value());
    administration_ = std::make_unique<AccessAdministration>(*control_, "admin:test");
    ASSERT_TRUE(administration_->add_user("amina", Role::lawyer).ok());
    ASSERT_TRUE(administration_->add_user("bruno", Role::lawyer).ok());
    auto seed = crypto::load_key_file(InstanceLayout(root_).authority_key(), kPassphrase,
                                      crypto::kKeyFilePurposeOrgAuthority);
    ASSERT_TRUE(seed.ok()) << seed.error().message;
    authority_ =
        std::make_unique<crypto::Ed25519PrivateKey>(*crypto::Ed25519PrivateKey::from_seed(seed->view()));
    server_ = std::make_unique<CasefiledProcess>(InstanceLayout(root_).config(),
                                                 directory_.path() / "casefiled.log", pin_);
    context_ = std::make_unique<net::ssl::context>(pinned_client_context(pin_));
  }

  std::unique_ptr<TlsClient> connect() {
    auto client = std::make_unique<TlsClient>(*context_, server_->port());
    if (auto error = client->connect()) throw std::runtime_error("connect failed: " + error.message());
    return client;
  }

  // Enrols over HTTP with a code the admin made, is certified by the admin
  // (in-process, with the authority key), and signs in over HTTP.
  FieldDevice enrol(TlsClient& client, const std::string& user, std::uint64_t number) {
    FieldDevice device;
    device.id = numbered<sync::DeviceId>(0xd0, number);
    auto code_text = administration_->create_enrolment_code(user, std::chrono::minutes(15)).value().text;
    auto code = sync::enrolment_code_from_text(code_text).value();
    auto enrolment =
        sync::make_enrolment_request(code, device.id, device.signing, device.wrapping.public_key()).value();
    const auto enrolled = send(client, "POST", "/v1/enrol", {}, sync::encode_enrolment_request(enrolment));
    EXPECT_EQ(enrolled.result_int(), 202u) << enrolled.body();
    EXPECT_TRUE(administration_->certify_device(device.id, *authority_).ok());

    const auto challenge =
        send(client, "POST", "/v1/auth/challenge", {}, sync::encode_challenge_request(device.id));
    EXPECT_EQ(challenge.result_int(), 200u) << challenge.body();
    const auto challenge_bytes =
        sync::bytes_from_wire_text(json::parse(challenge.body()).at("challenge").as_string()).value();
    sync::TokenRequest token_request;
    token_request.device = device.id;
    std::copy(challenge_bytes.begin(), challenge_bytes.end(), token_request.challenge.begin());
    token_request.signature =
        device.signing.sign(sync::auth_challenge_message(token_request.challenge, device.id, pin_)).value();
    const auto token = send(client, "POST", "/v1/auth/token", {}, sync::encode_token_request(token_request));
    EXPECT_EQ(token.result_int(), 200u) << token.body();
    device.token = std::string(json::parse(token.body()).at("token").as_string());
    return device;
  }

  std::string push_body(FieldDevice& device, const sync::CaseId& case_id, const sync::RecordId& record) {
    sync::Change change{
        sync::ChangeId{device.id, device.next_sequence++},
        sync::RecordKey{case_id, "cases", record},
        sync::Hlc::from_parts(wall_clock_millis(), 0),
        {TestDevice::set("channel", std::string("duty_lawyer")),
         TestDevice::set("opened_on", std::string("2025-03-10")),
         TestDevice::set("province", std::string("north")), TestDevice::set("stage", std::string("trial")),
         TestDevice::set("summary",
                         TestDevice::sealed(case_id, "cases", record, "summary", "held since Tuesday"))}};
    sync::canonicalize_change(change);
    auto batch = sync::seal_batch(numbered<sync::BatchId>(0xba, device.next_sequence), device.signing,
                                  device.id, {change});
    return sync::encode_push_request(batch.value());
  }

  std::int64_t metric(TlsClient& client, const std::string& name) {
    const auto text = send(client, "GET", "/metrics").body();
    const auto at = text.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stoll(text.substr(at + name.size() + 2));
  }

  TemporaryDirectory directory_;
  fs::path root_;
  crypto::Sha256Digest pin_{};
  std::unique_ptr<SqlCipherControlStore> control_;
  std::unique_ptr<AccessAdministration> administration_;
  std::unique_ptr<crypto::Ed25519PrivateKey> authority_;
  std::unique_ptr<CasefiledProcess> server_;
  std::unique_ptr<net::ssl::context> context_;
};

TEST_F(SyncApiEndToEndTest, ADevicePushesOverTlsAndAnotherPullsItAndIsWokenByAPush) {
  auto amina_connection = connect();
  auto bruno_connection = connect();
  FieldDevice amina = enrol(*amina_connection, "amina", 1);
  FieldDevice bruno = enrol(*bruno_connection, "bruno", 2);

  const sync::CaseId case_id = case_number(1);
  const auto created = send(*amina_connection, "POST", "/v1/cases", amina.token,
                            json::serialize(json::object{{"case_id", sync::to_text(case_id)}}));
  ASSERT_EQ(created.result_int(), 201u) << created.body();
  ASSERT_TRUE(administration_->add_case_member(case_id, "bruno").ok());

  // Public schema, revalidated by its ETag.
  const auto schema = send(*bruno_connection, "GET", "/v1/schema");
  EXPECT_EQ(schema.result_int(), 200u);
  EXPECT_EQ(schema[http::field::cache_control], "public, max-age=300");

  // Amina pushes; Bruno pulls it back.
  const auto pushed = send(*amina_connection, "POST", "/v1/sync/push", amina.token,
                           push_body(amina, case_id, record_number(1)));
  ASSERT_EQ(pushed.result_int(), 200u) << pushed.body();
  const auto verdicts = sync::decode_push_response(pushed.body()).value();
  ASSERT_EQ(verdicts.verdicts.size(), 1u);
  EXPECT_EQ(verdicts.verdicts[0].kind, sync::VerdictKind::accepted);

  const auto pulled = send(*bruno_connection, "GET", "/v1/sync/pull", bruno.token);
  ASSERT_EQ(pulled.result_int(), 200u) << pulled.body();
  const auto page = sync::decode_pull_page(pulled.body()).value();
  ASSERT_EQ(page.entries.size(), 1u);
  EXPECT_EQ(page.entries[0].change.change.id.device, amina.id);
  ASSERT_EQ(page.batches.size(), 1u);
  EXPECT_TRUE(sync::verify_batch_signature(page.batches[0], amina.signing.public_key()).ok());
  EXPECT_TRUE(sync::verify_change_inclusion(page.entries[0].change, page.batches[0]).ok());

  // Bruno long-polls from there; Amina's next push wakes him.
  const std::string wait_target = "/v1/sync/pull?wait=50&cursor=" + page.next_cursor;
  ASSERT_FALSE(bruno_connection->write("GET " + wait_target +
                                       " HTTP/1.1\r\nHost: casefiled\r\nAuthorization: Bearer " +
                                       bruno.token + "\r\n\r\n"));
  auto observer = connect();
  for (int attempt = 0; attempt < 600 && metric(*observer, "casefile_sync_pulls_waiting") != 1; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(metric(*observer, "casefile_sync_pulls_waiting"), 1);
  const auto second_push = send(*amina_connection, "POST", "/v1/sync/push", amina.token,
                                push_body(amina, case_id, record_number(2)));
  ASSERT_EQ(second_push.result_int(), 200u);
  HttpResponse woken;
  ASSERT_FALSE(bruno_connection->read(woken));
  ASSERT_EQ(woken.result_int(), 200u) << woken.body();
  const auto woken_page = sync::decode_pull_page(woken.body()).value();
  ASSERT_EQ(woken_page.entries.size(), 1u);
  EXPECT_EQ(woken_page.entries[0].change.change.record.record_id, record_number(2));

  // A device outside the case sees none of it.
  ASSERT_TRUE(administration_->add_user("olga", Role::lawyer).ok());
  FieldDevice olga = enrol(*observer, "olga", 3);
  const auto foreign = send(*observer, "GET", "/v1/sync/pull", olga.token);
  EXPECT_EQ(foreign.result_int(), 200u);
  EXPECT_TRUE(sync::decode_pull_page(foreign.body()).value().entries.empty());
  EXPECT_EQ(send(*observer, "GET", "/v1/keys/" + sync::to_text(case_id), olga.token).result_int(), 403u);

  // casefile-admin reads the same figures from the instance's files while casefiled runs.
  const std::string command = std::string(CASEFILE_ADMIN_BINARY) + " stats --instance " + root_.string() +
                              " --from 2025-01-01 --to 2025-12-31 --json";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  while (std::size_t read = std::fread(buffer, 1, sizeof buffer, pipe.get())) output.append(buffer, read);
  const auto statistics = json::parse(output);
  EXPECT_EQ(statistics.at("ok"), true);
  EXPECT_EQ(statistics.at("cases_represented").at("total").to_number<int>(), 2) << output;
}

TEST_F(SyncApiEndToEndTest, SigtermAnswersAParkedLongPollAndExits) {
  auto connection = connect();
  FieldDevice amina = enrol(*connection, "amina", 1);
  ASSERT_FALSE(
      connection->write("GET /v1/sync/pull?wait=60 HTTP/1.1\r\nHost: casefiled\r\nAuthorization: Bearer " +
                        amina.token + "\r\n\r\n"));
  auto observer = connect();
  for (int attempt = 0; attempt < 600 && metric(*observer, "casefile_sync_pulls_waiting") != 1; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(metric(*observer, "casefile_sync_pulls_waiting"), 1);
  (void)observer->shutdown();
  server_->signal(SIGTERM);
  HttpResponse answer;
  ASSERT_FALSE(connection->read(answer));
  EXPECT_EQ(answer.result_int(), 200u);
  EXPECT_TRUE(sync::decode_pull_page(answer.body()).value().entries.empty());
  EXPECT_EQ(server_->wait_for_exit(), 0);
  EXPECT_EQ(server_->log().find("drain_timeout"), std::string::npos);
}

}  // namespace
}  // namespace casefile::server
