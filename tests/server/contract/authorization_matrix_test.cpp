// Roles (lawyer, supervisor, admin) x member / non-member of a case x every
// authenticated route of the Router casefiled builds: each call is answered
// or refused as docs/security.md §6 and protocol.md say, and no response
// carries the id of a case the caller's user is not a member of (the admin's
// audit log excepted: it is the record of every case by design; and an admin
// managing a case's membership sees that case's id).
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "crypto/x25519.hpp"
#include "server/access/access_administration.hpp"
#include "sync/device_authentication.hpp"
#include "tests/server/contract/casefiled_router.hpp"
#include "tests/server/sync_api/sync_api_test_support.hpp"

namespace casefile::server::testing {
namespace {

namespace json = boost::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

// The error code of a refusal, or the code of the first refused verdict.
std::string code_of(const Response& response) {
  json::error_code error;
  const auto body = json::parse(response.body, error);
  if (error || !body.is_object()) return {};
  const auto& object = body.as_object();
  if (const auto* code = object.if_contains("error")) return std::string(code->as_string());
  if (const auto* verdicts = object.if_contains("verdicts"); verdicts && !verdicts->as_array().empty()) {
    const auto& first = verdicts->as_array().front().as_object();
    if (const auto* code = first.if_contains("code")) return std::string(code->as_string());
    return std::string(first.at("verdict").as_string());
  }
  return {};
}

class AuthorizationMatrixTest : public ::testing::Test {
 protected:
  AuthorizationMatrixTest()
      : casefiled_([this] { return system_clock_ms() + clock_offset_ms_.load(); }),
        administration_(casefiled_.control(), "admin:test") {}

  Response call(const std::string& method, const std::string& target, const Headers& headers,
                std::string body) {
    Request request;
    request.method = method;
    request.target = target;
    const auto question = target.find('?');
    request.path = target.substr(0, question);
    if (question != std::string::npos) request.query = target.substr(question + 1);
    request.headers = headers;
    request.body = std::move(body);
    auto match = casefiled_.router().match(request.method, request.path);
    if (!match.ok()) return error_response(status_of_routing_error(match.error().code), match.error().code, "");
    if (!match->asynchronous) return casefiled_.router().dispatch(*match, request);
    std::optional<Response> answer;
    casefiled_.router().dispatch_async(*match, request, [&answer](Response response) { answer = response; });
    for (int i = 0; i < 500 && !answer; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return answer ? *answer : error_response(500, "no_answer", "");
  }

  static Headers json_with(const std::string& token) {
    Headers headers = {{"Content-Type", "application/json"}};
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    return headers;
  }
  static Headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

  // Enrols, certifies and signs in `device` for `user`; returns its token.
  std::string sign_in(const TestDevice& device, const std::string& user) {
    const auto wrapping = crypto::X25519PrivateKey::generate().value();
    const std::string code = administration_.create_enrolment_code(user, std::chrono::minutes(15)).value().text;
    auto enrolment = sync::make_enrolment_request(*sync::enrolment_code_from_text(code), device.id(),
                                                  device.key(), wrapping.public_key())
                         .value();
    last_enrolment_body_ = sync::encode_enrolment_request(enrolment);
    EXPECT_EQ(call("POST", "/v1/enrol", json_with(""), last_enrolment_body_).status, 202u);
    EXPECT_TRUE(administration_.certify_device(device.id(), casefiled_.authority()).ok());
    auto issued = call("POST", "/v1/auth/challenge", json_with(""), sync::encode_challenge_request(device.id()));
    EXPECT_EQ(issued.status, 200u) << issued.body;
    sync::TokenRequest request;
    request.device = device.id();
    const auto challenge =
        sync::bytes_from_wire_text(json::parse(issued.body).at("challenge").as_string()).value();
    std::copy(challenge.begin(), challenge.end(), request.challenge.begin());
    request.signature =
        device.key().sign(sync::auth_challenge_message(request.challenge, device.id(), casefiled_.tls_pin())).value();
    last_token_request_ = request;
    auto token = call("POST", "/v1/auth/token", json_with(""), sync::encode_token_request(request));
    EXPECT_EQ(token.status, 200u) << token.body;
    return std::string(json::parse(token.body).at("token").as_string());
  }

  std::atomic<std::int64_t> clock_offset_ms_{0};
  CasefiledRouter casefiled_;
  AccessAdministration administration_;
  std::string last_enrolment_body_;
  sync::TokenRequest last_token_request_;
};

struct Caller {
  std::string user;
  Role role;
  bool member;
};

TEST_F(AuthorizationMatrixTest, EachRoleAndMembershipGetsItsDocumentedAnswerAndNoOtherCase) {
  ASSERT_TRUE(administration_.add_user("olga", Role::lawyer).ok());
  ASSERT_TRUE(administration_.add_user("other", Role::lawyer).ok());
  ASSERT_TRUE(administration_.add_user("ghost", Role::lawyer).ok());
  TestDevice olga(1, "olga");
  TestDevice other(2, "other");
  const std::string olga_token = sign_in(olga, "olga");
  const std::string other_token = sign_in(other, "other");
  const std::string case_a = sync::to_text(case_number(1));
  const std::string case_b = sync::to_text(case_number(2));
  ASSERT_EQ(call("POST", "/v1/cases", json_with(olga_token), R"({"case_id":")" + case_a + R"("})").status, 201u);
  ASSERT_EQ(call("POST", "/v1/cases", json_with(other_token), R"({"case_id":")" + case_b + R"("})").status, 201u);
  ASSERT_EQ(code_of(call("POST", "/v1/sync/push", json_with(other_token),
                         other.push_body({other.new_case(case_number(2), record_number(2), "trial")}))),
            "accepted");

  const std::vector<Caller> callers = {
      {"lawyer-member", Role::lawyer, true},          {"lawyer-outsider", Role::lawyer, false},
      {"supervisor-member", Role::supervisor, true},  {"supervisor-outsider", Role::supervisor, false},
      {"admin-member", Role::admin, true},            {"admin-outsider", Role::admin, false}};
  std::uint64_t number = 10;
  for (const auto& caller : callers) {
    SCOPED_TRACE(caller.user);
    ASSERT_TRUE(administration_.add_user(caller.user, caller.role).ok());
    if (caller.member) {
      ASSERT_TRUE(administration_.add_case_member(case_number(1), caller.user).ok());
    }
    TestDevice device(++number, caller.user, caller.role);
    const std::string token = sign_in(device, caller.user);
    const bool admin = caller.role == Role::admin;
    const bool manager = admin || (caller.role == Role::supervisor && caller.member);
    const std::string wraps = R"({"manifest":"AAAA","wraps":[{"device":")" + sync::to_text(device.id()) + R"(","wrap":"AAAA"}]})";

    struct Expectation {
      std::string method, target, body;
      unsigned status;
      std::string code;
    };
    const std::string not_member = admin ? "" : "case_not_member";
    const std::vector<Expectation> expected = {
        {"GET", "/v1/cases", "", 200, ""},
        {"GET", "/v1/cases/" + case_a + "/members", "", (caller.member || admin) ? 200u : 403u,
         (caller.member || admin) ? "" : "case_not_member"},
        {"POST", "/v1/cases/" + case_a + "/members", R"({"user":"olga"})", manager ? 409u : 403u,
         manager ? "already_member" : (caller.member ? "forbidden" : "case_not_member")},
        {"DELETE", "/v1/cases/" + case_a + "/members/ghost", "", manager ? 404u : 403u,
         manager ? "not_member" : (caller.member ? "forbidden" : "case_not_member")},
        {"GET", "/v1/admin/users", "", admin ? 200u : 403u, admin ? "" : "forbidden"},
        {"GET", "/v1/admin/devices", "", admin ? 200u : 403u, admin ? "" : "forbidden"},
        {"GET", "/v1/admin/audit", "", admin ? 200u : 403u, admin ? "" : "forbidden"},
        {"POST", "/v1/admin/devices/" + sync::to_text(olga.id()) + "/revoke", "{}", admin ? 400u : 403u,
         admin ? "wipe_order_required" : "forbidden"},
        {"GET", "/v1/admin/stats?from=2025-01-01&to=2025-12-31", "", admin ? 200u : 403u, admin ? "" : "forbidden"},
        {"GET", "/v1/keys/" + case_a, "", caller.member ? 200u : 403u, caller.member ? "" : "case_not_member"},
        {"PUT", "/v1/keys/" + case_a + "/epochs/" + std::to_string(number), wraps, caller.member ? 201u : 403u,
         caller.member ? "" : "case_not_member"},
        {"GET", "/v1/sync/pull", "", 200, ""},
        {"POST", "/v1/sync/push", device.push_body({device.new_case(case_number(1), record_number(number), "trial")}),
         200, caller.member ? "accepted" : "case_not_member"},
    };
    for (const auto& row : expected) {
      const Response response = call(row.method, row.target, row.body.empty() ? bearer(token) : json_with(token), row.body);
      EXPECT_EQ(response.status, row.status) << row.method << " " << row.target << ": " << response.body.substr(0, 300);
      if (!row.code.empty()) {
        EXPECT_EQ(code_of(response), row.code) << row.method << " " << row.target;
      }
      if (row.target == "/v1/admin/audit") continue;
      EXPECT_EQ(response.body.find(case_b), std::string::npos) << row.method << " " << row.target << " shows case B";
      // Admins manage every case's membership (security.md §6), so they see its id there.
      const bool admin_manages_membership = admin && row.target.find("/members") != std::string::npos;
      if (!caller.member && !admin_manages_membership) {
        EXPECT_EQ(response.body.find(case_a), std::string::npos) << row.method << " " << row.target << " shows case A";
      }
    }
  }
}

}  // namespace
}  // namespace casefile::server::testing
