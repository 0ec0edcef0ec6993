// A fixture over the Router casefiled builds (casefiled_router.hpp): calls it
// as casefiled would, and enrols, certifies and signs in devices through its
// own routes. The access service's clock is the system's plus
// clock_offset_ms_, so a test can expire tokens.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "crypto/x25519.hpp"
#include "server/access/access_administration.hpp"
#include "sync/device_authentication.hpp"
#include "tests/server/contract/casefiled_router.hpp"
#include "tests/server/sync_api/sync_api_test_support.hpp"

namespace casefile::server::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;

// The error code of a refusal, or the code of the first refused verdict.
inline std::string code_of(const Response& response) {
  boost::json::error_code error;
  const auto body = boost::json::parse(response.body, error);
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

class CasefiledRouterTest : public ::testing::Test {
 protected:
  CasefiledRouterTest()
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
        sync::bytes_from_wire_text(boost::json::parse(issued.body).at("challenge").as_string()).value();
    std::copy(challenge.begin(), challenge.end(), request.challenge.begin());
    request.signature =
        device.key().sign(sync::auth_challenge_message(request.challenge, device.id(), casefiled_.tls_pin())).value();
    last_token_request_ = request;
    auto token = call("POST", "/v1/auth/token", json_with(""), sync::encode_token_request(request));
    EXPECT_EQ(token.status, 200u) << token.body;
    return std::string(boost::json::parse(token.body).at("token").as_string());
  }

  std::atomic<std::int64_t> clock_offset_ms_{0};
  CasefiledRouter casefiled_;
  AccessAdministration administration_;
  std::string last_enrolment_body_;
  sync::TokenRequest last_token_request_;
};

}  // namespace casefile::server::testing
