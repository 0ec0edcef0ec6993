// The identity and access flows at handler level (Request -> Response, no
// sockets): enrol, certify, sign in, use a token, revoke, and each refusal
// with its code.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "server/access/access_administration.hpp"
#include "server/access/access_routes.hpp"
#include "server/access/access_service.hpp"
#include "sync/device_authentication.hpp"
#include "sync/device_certificate.hpp"
#include "sync/recovery_key_statement.hpp"
#include "sync/wipe_order.hpp"
#include "tests/server/access/access_test_support.hpp"

namespace casefile::server {
namespace {

namespace json = boost::json;
using testing::random_id;
using testing::TestDevice;

Request make_request(std::string method, std::string path, std::string body = "", std::string token = "") {
  Request request;
  request.method = std::move(method);
  request.path = path;
  const auto question = path.find('?');
  if (question != std::string::npos) {
    request.path = path.substr(0, question);
    request.query = path.substr(question + 1);
  }
  request.target = std::move(path);
  request.body = std::move(body);
  if (!request.body.empty()) request.headers.emplace_back("Content-Type", "application/json");
  if (!token.empty()) request.headers.emplace_back("Authorization", "Bearer " + token);
  return request;
}

json::object body_of(const Response& response) { return json::parse(response.body).as_object(); }
std::string error_of(const Response& response) {
  auto body = body_of(response);
  return body.contains("error") ? std::string(body["error"].as_string()) : std::string();
}

class AccessFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = SqlCipherControlStore::open(directory_.path() / "control.db", testing::random_key()).value();
    ASSERT_TRUE(crypto::fill_random(tls_pin_).ok());
    service_ = std::make_unique<AccessService>(*store_, authority_.public_key(), tls_pin_, clock_.function());
    administration_ = std::make_unique<AccessAdministration>(*store_, "admin:test", clock_.function());
    ASSERT_TRUE(register_access_routes(router_, *service_).ok());
    ASSERT_TRUE(administration_->add_user("ana", Role::lawyer).ok());
    ASSERT_TRUE(administration_->add_user("sam", Role::supervisor).ok());
    ASSERT_TRUE(administration_->add_user("root", Role::admin).ok());
  }

  // Through the Router, as casefiled will call it.
  Response call(const std::string& method, const std::string& path, const std::string& body = "",
                const std::string& token = "") {
    Request request = make_request(method, path, body, token);
    auto match = router_.match(request.method, request.path);
    if (!match.ok())
      return error_response(status_of_routing_error(match.error().code), match.error().code, "");
    EXPECT_EQ(match->execution, RouteExecution::blocking_pool);
    return router_.dispatch(*match, request);
  }

  std::string new_code(const std::string& user) {
    return administration_->create_enrolment_code(user, std::chrono::minutes(15)).value().text;
  }

  Response enrol(const TestDevice& device, const std::string& code) {
    auto request = sync::make_enrolment_request(*sync::enrolment_code_from_text(code), device.id,
                                                device.signing, device.wrapping.public_key())
                       .value();
    return call("POST", "/v1/enrol", sync::encode_enrolment_request(request));
  }

  void enrol_and_certify(const TestDevice& device, const std::string& user) {
    ASSERT_EQ(enrol(device, new_code(user)).status, 202u);
    ASSERT_TRUE(administration_->certify_device(device.id, authority_).ok());
  }

  Response challenge(const TestDevice& device) {
    return call("POST", "/v1/auth/challenge", sync::encode_challenge_request(device.id));
  }

  Response token_for_challenge(const TestDevice& device, const std::string& challenge_text,
                               const crypto::Sha256Digest& pin) {
    sync::TokenRequest request;
    request.device = device.id;
    auto bytes = sync::bytes_from_wire_text(challenge_text).value();
    std::copy(bytes.begin(), bytes.end(), request.challenge.begin());
    request.signature =
        device.signing.sign(sync::auth_challenge_message(request.challenge, device.id, pin)).value();
    return call("POST", "/v1/auth/token", sync::encode_token_request(request));
  }

  std::string sign_in(const TestDevice& device) {
    auto issued = challenge(device);
    EXPECT_EQ(issued.status, 200u) << issued.body;
    auto answer =
        token_for_challenge(device, std::string(body_of(issued)["challenge"].as_string()), tls_pin_);
    EXPECT_EQ(answer.status, 200u) << answer.body;
    return answer.status == 200 ? std::string(body_of(answer)["token"].as_string()) : std::string();
  }

  std::size_t audit_count(const std::string& event) {
    AuditQuery query;
    query.event = event;
    return store_->query_audit(query).value().size();
  }

  testing::ScratchDirectory directory_;
  testing::ManualClock clock_;
  crypto::Ed25519PrivateKey authority_ = crypto::Ed25519PrivateKey::generate().value();
  crypto::Sha256Digest tls_pin_{};
  std::unique_ptr<SqlCipherControlStore> store_;
  std::unique_ptr<AccessService> service_;
  std::unique_ptr<AccessAdministration> administration_;
  Router router_;
};

TEST_F(AccessFlowTest, EnrolCertifySignInUseRevokeAndReceiveAVerifiableWipeOrder) {
  TestDevice device;
  Response enrolled = enrol(device, new_code("ana"));
  ASSERT_EQ(enrolled.status, 202u) << enrolled.body;
  EXPECT_EQ(body_of(enrolled)["state"], "pending");
  EXPECT_EQ(call("GET", "/v1/enrol/" + sync::to_text(device.id)).status, 202u);
  EXPECT_EQ(error_of(challenge(device)), "device_not_certified");

  ASSERT_TRUE(administration_->certify_device(device.id, authority_).ok());
  Response polled = call("GET", "/v1/enrol/" + sync::to_text(device.id));
  ASSERT_EQ(polled.status, 200u);
  auto certificate = sync::certificate_from_json(body_of(polled)["certificate"]).value();
  EXPECT_TRUE(sync::verify_certificate(certificate, authority_.public_key(), clock_.now_ms).ok());
  EXPECT_EQ(certificate.signing_public_key, device.signing.public_key());
  EXPECT_EQ(certificate.user, "ana");

  const std::string token = sign_in(device);
  auto context = service_->authenticator().authenticate(make_request("GET", "/v1/cases", "", token));
  ASSERT_TRUE(context.ok()) << context.error().message;
  EXPECT_EQ(context->device, device.id);
  EXPECT_EQ(context->user, "ana");
  EXPECT_EQ(context->role, Role::lawyer);
  EXPECT_EQ(context->signing_key, device.signing.public_key());

  ASSERT_TRUE(administration_->revoke_device(device.id, authority_, "seized at the gate").ok());
  const Request after = make_request("GET", "/v1/cases", "", token);
  auto refused = service_->authenticator().authenticate(after);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "device_revoked");
  const Response refusal = service_->authenticator().refusal_response(after, refused.error());
  EXPECT_EQ(refusal.status, 403u);
  auto order = sync::wipe_order_from_json(body_of(refusal)["wipe_order"]).value();
  EXPECT_TRUE(sync::verify_wipe_order(order, authority_.public_key()).ok());
  EXPECT_EQ(order.device, device.id);
  EXPECT_EQ(order.reason, "seized at the gate");

  // A revoked device that signs in afresh meets the same order.
  Response again = challenge(device);
  EXPECT_EQ(again.status, 403u);
  EXPECT_TRUE(body_of(again).contains("wipe_order"));
  EXPECT_EQ(call("GET", "/v1/cases", "", token).status, 403u);
  EXPECT_EQ(audit_count("device_enrolled"), 1u);
  EXPECT_EQ(audit_count("device_certified"), 1u);
  EXPECT_EQ(audit_count("token_issued"), 1u);
  EXPECT_EQ(audit_count("device_revoked"), 1u);
  EXPECT_GE(audit_count("request_refused"), 1u);
  EXPECT_TRUE(store_->verify_audit_chain().ok());
}

TEST_F(AccessFlowTest, AnExpiredCodeIsRefusedAndAudited) {
  const std::string code = new_code("ana");
  clock_.now_ms += std::chrono::milliseconds(std::chrono::minutes(16)).count();
  Response response = enrol(TestDevice{}, code);
  EXPECT_EQ(response.status, 403u);
  EXPECT_EQ(error_of(response), "enrolment_code_invalid");
  EXPECT_EQ(audit_count("enrolment_refused"), 1u);
}

TEST_F(AccessFlowTest, AReusedCodeIsRefusedWithTheSameCode) {
  const std::string code = new_code("ana");
  ASSERT_EQ(enrol(TestDevice{}, code).status, 202u);
  Response second = enrol(TestDevice{}, code);
  EXPECT_EQ(second.status, 403u);
  EXPECT_EQ(error_of(second), "enrolment_code_invalid");
}

TEST_F(AccessFlowTest, AProofByAnotherKeyIsRefusedWithoutBurningTheCode) {
  const std::string code = new_code("ana");
  TestDevice device;
  auto request = sync::make_enrolment_request(*sync::enrolment_code_from_text(code), device.id,
                                              device.signing, device.wrapping.public_key())
                     .value();
  request.signing_public_key = TestDevice{}.signing.public_key();  // keys swapped after signing
  Response response = call("POST", "/v1/enrol", sync::encode_enrolment_request(request));
  EXPECT_EQ(response.status, 400u);
  EXPECT_EQ(error_of(response), "enrolment_proof_invalid");
  EXPECT_EQ(enrol(device, code).status, 202u);
}

TEST_F(AccessFlowTest, MalformedEnrolmentBodiesAreBadRequests) {
  for (const std::string body : {"", "[]", "{\"code\":1}", "{\"code\":\"x\",\"device_id\":\"y\"}"}) {
    Response response = call("POST", "/v1/enrol", body.empty() ? "{}" : body);
    EXPECT_EQ(response.status, 400u) << body;
    EXPECT_EQ(error_of(response), "bad_request") << body;
  }
}

TEST_F(AccessFlowTest, ASecondDeviceWithATakenIdIsRefused) {
  TestDevice device;
  ASSERT_EQ(enrol(device, new_code("ana")).status, 202u);
  Response response = enrol(device, new_code("ana"));
  EXPECT_EQ(response.status, 409u);
  EXPECT_EQ(error_of(response), "device_exists");
}

TEST_F(AccessFlowTest, AWrongSignatureGetsNoTokenAndIsAudited) {
  TestDevice device;
  enrol_and_certify(device, "ana");
  Response issued = challenge(device);
  crypto::Sha256Digest other_pin = tls_pin_;
  other_pin[0] ^= 1;  // signed for another server
  Response response =
      token_for_challenge(device, std::string(body_of(issued)["challenge"].as_string()), other_pin);
  EXPECT_EQ(response.status, 401u);
  EXPECT_EQ(error_of(response), "signature_invalid");
  EXPECT_EQ(audit_count("token_refused"), 1u);
}

TEST_F(AccessFlowTest, AfterATlsKeyReloadSignInAcceptsTheNewPinAndThePreviousOneOnly) {
  TestDevice device;
  enrol_and_certify(device, "ana");
  const crypto::Sha256Digest first_pin = tls_pin_;
  crypto::Sha256Digest second_pin = tls_pin_;
  second_pin[1] ^= 1;
  crypto::Sha256Digest third_pin = tls_pin_;
  third_pin[2] ^= 1;
  const auto sign_in_over = [&](const crypto::Sha256Digest& pin) {
    return token_for_challenge(device, std::string(body_of(challenge(device))["challenge"].as_string()), pin);
  };
  EXPECT_EQ(error_of(sign_in_over(second_pin)), "signature_invalid");  // not the server's key yet

  service_->rotate_tls_pin(second_pin);
  EXPECT_EQ(sign_in_over(second_pin).status, 200u);  // a connection to the new key
  EXPECT_EQ(sign_in_over(first_pin).status, 200u);   // one opened before the reload

  service_->rotate_tls_pin(third_pin);
  EXPECT_EQ(sign_in_over(third_pin).status, 200u);
  EXPECT_EQ(sign_in_over(second_pin).status, 200u);
  EXPECT_EQ(error_of(sign_in_over(first_pin)), "signature_invalid");  // two keys ago
}

TEST_F(AccessFlowTest, AReplayedChallengeGetsNoSecondToken) {
  TestDevice device;
  enrol_and_certify(device, "ana");
  const std::string challenge_text = std::string(body_of(challenge(device))["challenge"].as_string());
  ASSERT_EQ(token_for_challenge(device, challenge_text, tls_pin_).status, 200u);
  Response replay = token_for_challenge(device, challenge_text, tls_pin_);
  EXPECT_EQ(replay.status, 401u);
  EXPECT_EQ(error_of(replay), "challenge_invalid");
}

TEST_F(AccessFlowTest, AnExpiredChallengeGetsNoToken) {
  TestDevice device;
  enrol_and_certify(device, "ana");
  const std::string challenge_text = std::string(body_of(challenge(device))["challenge"].as_string());
  clock_.now_ms += std::chrono::milliseconds(std::chrono::minutes(3)).count();
  EXPECT_EQ(error_of(token_for_challenge(device, challenge_text, tls_pin_)), "challenge_invalid");
}

TEST_F(AccessFlowTest, AnExpiredTokenIsRefused) {
  TestDevice device;
  enrol_and_certify(device, "ana");
  const std::string token = sign_in(device);
  clock_.now_ms += std::chrono::milliseconds(std::chrono::hours(1)).count() + 1;
  Response response = call("GET", "/v1/cases", "", token);
  EXPECT_EQ(response.status, 401u);
  EXPECT_EQ(error_of(response), "token_expired");
}

TEST_F(AccessFlowTest, UnknownOrMalformedTokensAreUnauthenticated) {
  EXPECT_EQ(error_of(call("GET", "/v1/cases")), "unauthenticated");
  EXPECT_EQ(error_of(call("GET", "/v1/cases", "", "not-a-token")), "unauthenticated");
  EXPECT_EQ(error_of(call("GET", "/v1/cases", "", std::string(43, 'A'))), "unauthenticated");
}

TEST_F(AccessFlowTest, ADisabledUserIsRefusedAtOnceAndCannotSignIn) {
  TestDevice device;
  enrol_and_certify(device, "ana");
  const std::string token = sign_in(device);
  ASSERT_EQ(call("GET", "/v1/cases", "", token).status, 200u);
  ASSERT_TRUE(administration_->set_user_disabled("ana", true).ok());
  Response response = call("GET", "/v1/cases", "", token);
  EXPECT_EQ(response.status, 403u);
  EXPECT_EQ(error_of(response), "user_disabled");
  EXPECT_EQ(error_of(challenge(device)), "user_disabled");
}

TEST_F(AccessFlowTest, NonAdminsAreForbiddenOnAdminRoutes) {
  TestDevice lawyer;
  enrol_and_certify(lawyer, "ana");
  const std::string token = sign_in(lawyer);
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/v1/admin/users"},
           {"GET", "/v1/admin/devices"},
           {"GET", "/v1/admin/audit"},
           {"POST", "/v1/admin/devices/" + sync::to_text(lawyer.id) + "/revoke"}}) {
    Response response = call(method, path, method == "POST" ? "{}" : "", token);
    EXPECT_EQ(response.status, 403u) << path;
    EXPECT_EQ(error_of(response), "forbidden") << path;
  }
}

TEST_F(AccessFlowTest, AdminsListUsersDevicesAndTheAuditLog) {
  TestDevice admin;
  enrol_and_certify(admin, "root");
  const std::string token = sign_in(admin);
  Response users = call("GET", "/v1/admin/users", "", token);
  ASSERT_EQ(users.status, 200u);
  EXPECT_EQ(body_of(users)["users"].as_array().size(), 3u);
  Response devices = call("GET", "/v1/admin/devices", "", token);
  ASSERT_EQ(devices.status, 200u);
  EXPECT_EQ(body_of(devices)["devices"].as_array()[0].as_object()["state"], "certified");
  Response audit = call("GET", "/v1/admin/audit?event=token_issued&limit=10", "", token);
  ASSERT_EQ(audit.status, 200u) << audit.body;
  auto entries = body_of(audit)["entries"].as_array();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].as_object()["subject"], json::value("device:" + sync::to_text(admin.id)));
  Response by_device = call("GET", "/v1/admin/audit?device=" + sync::to_text(admin.id), "", token);
  EXPECT_GE(body_of(by_device)["entries"].as_array().size(), 3u);  // enrolled, certified, token issued
  EXPECT_EQ(error_of(call("GET", "/v1/admin/audit?colour=red", "", token)), "bad_request");
  EXPECT_EQ(audit_count("admin_audit_read"), 2u);
}

TEST_F(AccessFlowTest, RevokeOverHttpNeedsAWipeOrderSignedByTheAuthority) {
  TestDevice admin;
  TestDevice lost;
  enrol_and_certify(admin, "root");
  enrol_and_certify(lost, "ana");
  const std::string token = sign_in(admin);
  const std::string path = "/v1/admin/devices/" + sync::to_text(lost.id) + "/revoke";
  EXPECT_EQ(error_of(call("POST", path, "{}", token)), "wipe_order_required");
  auto forged =
      administration_->sign_wipe_order(lost.id, crypto::Ed25519PrivateKey::generate().value(), "x").value();
  EXPECT_EQ(
      error_of(call("POST", path,
                    json::serialize(json::object{{"wipe_order", sync::wipe_order_to_json(forged)}}), token)),
      "wipe_order_wrong_authority");
  auto other = administration_->sign_wipe_order(admin.id, authority_, "x").value();
  EXPECT_EQ(
      error_of(call("POST", path,
                    json::serialize(json::object{{"wipe_order", sync::wipe_order_to_json(other)}}), token)),
      "wipe_order_device_mismatch");
  auto order = administration_->sign_wipe_order(lost.id, authority_, "lost").value();
  const std::string body = json::serialize(json::object{{"wipe_order", sync::wipe_order_to_json(order)}});
  Response revoked = call("POST", path, body, token);
  ASSERT_EQ(revoked.status, 200u) << revoked.body;
  EXPECT_EQ(store_->find_device(lost.id).value()->state, DeviceState::revoked);
  EXPECT_EQ(call("POST", path, body, token).status, 409u);
}

TEST_F(AccessFlowTest, ADeviceCreatesACaseAndBecomesItsFirstMember) {
  TestDevice device;
  enrol_and_certify(device, "ana");
  const std::string token = sign_in(device);
  const auto case_id = random_id<sync::CaseId>();
  const std::string body = json::serialize(json::object{{"case_id", sync::to_text(case_id)}});
  Response created = call("POST", "/v1/cases", body, token);
  ASSERT_EQ(created.status, 201u) << created.body;
  EXPECT_EQ(error_of(call("POST", "/v1/cases", body, token)), "case_exists");
  Response listed = call("GET", "/v1/cases", "", token);
  EXPECT_EQ(body_of(listed)["cases"].as_array(), json::array{json::value(sync::to_text(case_id))});
  auto context = service_->authenticator().authenticate(make_request("GET", "/", "", token)).value();
  EXPECT_TRUE(context.member_cases.contains(case_id));
}

TEST_F(AccessFlowTest, MembershipIsManagedBySupervisorMembersAndAdminsOnly) {
  TestDevice lawyer, supervisor, admin;
  enrol_and_certify(lawyer, "ana");
  enrol_and_certify(supervisor, "sam");
  enrol_and_certify(admin, "root");
  ASSERT_TRUE(administration_->add_user("bea", Role::lawyer).ok());
  const std::string lawyer_token = sign_in(lawyer), supervisor_token = sign_in(supervisor),
                    admin_token = sign_in(admin);
  const auto case_id = random_id<sync::CaseId>();
  const std::string members = "/v1/cases/" + sync::to_text(case_id) + "/members";
  ASSERT_EQ(call("POST", "/v1/cases", json::serialize(json::object{{"case_id", sync::to_text(case_id)}}),
                 lawyer_token)
                .status,
            201u);
  const std::string add_bea = R"({"user":"bea"})";
  EXPECT_EQ(error_of(call("POST", members, add_bea, lawyer_token)), "forbidden");  // a lawyer member
  EXPECT_EQ(error_of(call("POST", members, add_bea, supervisor_token)), "case_not_member");  // not a member
  EXPECT_EQ(error_of(call("GET", members, "", supervisor_token)), "case_not_member");
  ASSERT_EQ(call("POST", members, R"({"user":"sam"})", admin_token).status, 201u);  // admin: any case
  ASSERT_EQ(call("POST", members, add_bea, supervisor_token).status, 201u);         // now a member supervisor
  Response listed = call("GET", members, "", lawyer_token);
  EXPECT_EQ(body_of(listed)["members"].as_array().size(), 3u);
  EXPECT_EQ(call("DELETE", members + "/bea", "", supervisor_token).status, 200u);
  EXPECT_EQ(error_of(call("DELETE", members + "/bea", "", supervisor_token)), "not_member");
  // Managing membership gave the admin no membership of its own.
  auto admin_context =
      service_->authenticator().authenticate(make_request("GET", "/", "", admin_token)).value();
  EXPECT_FALSE(admin_context.member_cases.contains(case_id));
  EXPECT_EQ(audit_count("case_member_added"), 2u);
  EXPECT_EQ(audit_count("case_member_removed"), 1u);
}

TEST_F(AccessFlowTest, AuthenticationErrorsMapToTheirStatuses) {
  EXPECT_EQ(authentication_error_status("unauthenticated"), 401u);
  EXPECT_EQ(authentication_error_status("token_expired"), 401u);
  EXPECT_EQ(authentication_error_status("device_revoked"), 403u);
  EXPECT_EQ(authentication_error_status("device_not_certified"), 403u);
  EXPECT_EQ(authentication_error_status("user_disabled"), 403u);
  EXPECT_EQ(authentication_error_status("control_store_unavailable"), 500u);
  Response response = service_->authenticator().refusal_response(make_request("GET", "/"),
                                                                 make_error("unauthenticated", "no token"));
  EXPECT_EQ(response.status, 401u);
  EXPECT_EQ(error_of(response), "unauthenticated");
}

TEST_F(AccessFlowTest, TheAuthorityRouteServesTheRecoveryKeyStatementOrNulls) {
  const auto before = body_of(call("GET", "/v1/authority"));
  EXPECT_TRUE(before.at("recovery_public_key").is_null());
  EXPECT_TRUE(before.at("recovery_key_signature").is_null());

  const auto recovery = crypto::X25519PrivateKey::generate().value();
  AccessServiceOptions options;
  options.recovery_key_statement = RecoveryKeyStatement{
      recovery.public_key(), sync::sign_recovery_key_statement(recovery.public_key(), authority_).value()};
  AccessService with_statement(*store_, authority_.public_key(), tls_pin_, clock_.function(), options);
  const auto body = body_of(with_statement.authority(make_request("GET", "/v1/authority")));
  crypto::Bytes public_key, signature;
  ASSERT_TRUE(crypto::from_hex(std::string(body.at("recovery_public_key").as_string()), public_key));
  ASSERT_TRUE(crypto::from_hex(std::string(body.at("recovery_key_signature").as_string()), signature));
  ASSERT_EQ(public_key.size(), 32u);
  crypto::X25519PublicKey served{};
  std::copy(public_key.begin(), public_key.end(), served.begin());
  EXPECT_EQ(served, recovery.public_key());
  EXPECT_TRUE(sync::verify_recovery_key_statement(served, signature, authority_.public_key()).ok());
}

}  // namespace
}  // namespace casefile::server
