#include "server/router.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace casefile::server {
namespace {

Response text(std::string body) {
  Response response;
  response.content_type = "text/plain";
  response.body = std::move(body);
  return response;
}

Router::Handler answer(std::string body) {
  return [body](const Request&) { return text(body); };
}

Request request(std::string method, std::string path) {
  Request request;
  request.method = std::move(method);
  request.path = std::move(path);
  request.target = request.path;
  return request;
}

TEST(RouterTest, MatchesLiteralPathsAndExtractsDecodedParameters) {
  Router router;
  ASSERT_TRUE(router.add("GET", "/healthz", answer("health")).ok());
  ASSERT_TRUE(router.add("GET", "/v1/cases/{case_id}/records/{record_id}", answer("record")).ok());

  auto health = router.match("GET", "/healthz");
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->path_template, "/healthz");

  auto record = router.match("GET", "/v1/cases/c%2D1/records/r2");
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->path_template, "/v1/cases/{case_id}/records/{record_id}");
  EXPECT_EQ(record->path_parameters.at("case_id"), "c-1");
  EXPECT_EQ(record->path_parameters.at("record_id"), "r2");

  Request incoming = request("GET", "/v1/cases/c%2D1/records/r2");
  EXPECT_EQ(router.dispatch(*record, incoming).body, "record");
  EXPECT_EQ(incoming.path_parameters.at("case_id"), "c-1");
}

TEST(RouterTest, LiteralSegmentBeatsParameterWhateverTheOrderOfRegistration) {
  Router router;
  ASSERT_TRUE(router.add("GET", "/v1/cases/{case_id}", answer("one case")).ok());
  ASSERT_TRUE(router.add("GET", "/v1/cases/new", answer("new case form")).ok());
  auto found = router.match("GET", "/v1/cases/new");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->path_template, "/v1/cases/new");
  EXPECT_EQ(router.match("GET", "/v1/cases/c1")->path_template, "/v1/cases/{case_id}");
}

TEST(RouterTest, UnknownPathIsNotFoundAndWrongMethodIsNotAllowedWithTheAllowedList) {
  Router router;
  ASSERT_TRUE(router.add("GET", "/v1/things", answer("list")).ok());
  ASSERT_TRUE(router.add("POST", "/v1/things", answer("create")).ok());

  auto missing = router.match("GET", "/v1/other");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "not_found");
  EXPECT_EQ(status_of_routing_error(missing.error().code), 404u);

  auto wrong = router.match("DELETE", "/v1/things");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, "method_not_allowed");
  EXPECT_EQ(status_of_routing_error(wrong.error().code), 405u);
  EXPECT_EQ(router.allowed_methods("/v1/things"), "GET, POST");
}

TEST(RouterTest, RefusesTargetsThatAreNotAbsolutePathsAndBadPercentEncoding) {
  Router router;
  ASSERT_TRUE(router.add("GET", "/v1/cases/{case_id}", answer("x")).ok());
  for (const char* target : {"", "v1/cases/x", "http://evil/v1/cases/x", "*"}) {
    auto found = router.match("GET", target);
    ASSERT_FALSE(found.ok()) << target;
    EXPECT_EQ(found.error().code, "bad_request") << target;
  }
  for (const char* path : {"/v1/cases/%zz", "/v1/cases/%2", "/v1/cases/a%2Fb", "/v1/cases/a%00"}) {
    auto found = router.match("GET", path);
    ASSERT_FALSE(found.ok()) << path;
    EXPECT_EQ(found.error().code, "bad_request") << path;
  }
  EXPECT_EQ(router.match("GET", "/v1/cases/").error().code, "not_found");  // a parameter is never empty
}

TEST(RouterTest, RefusesMalformedAndDuplicateRoutes) {
  Router router;
  EXPECT_EQ(router.add("GET", "no-slash", answer("x")).error().code, "invalid_route");
  EXPECT_EQ(router.add("GET", "/a//b", answer("x")).error().code, "invalid_route");
  EXPECT_EQ(router.add("GET", "/a/{b", answer("x")).error().code, "invalid_route");
  EXPECT_EQ(router.add("", "/a", answer("x")).error().code, "invalid_route");
  ASSERT_TRUE(router.add("GET", "/a/{b}", answer("x")).ok());
  EXPECT_EQ(router.add("GET", "/a/{other}", answer("y")).error().code, "duplicate_route");
  EXPECT_TRUE(router.add("PUT", "/a/{other}", answer("y")).ok());
}

TEST(RouterTest, BodyOfAnUnacceptedMediaTypeIsAnswered415) {
  Router router;
  ASSERT_TRUE(router.add("POST", "/v1/push", answer("pushed")).ok());
  auto found = router.match("POST", "/v1/push");
  ASSERT_TRUE(found.ok());

  Request form = request("POST", "/v1/push");
  form.body = "a=1";
  form.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  const Response refused = router.dispatch(*found, form);
  EXPECT_EQ(refused.status, 415u);
  EXPECT_EQ(boost::json::parse(refused.body).at("error"), "unsupported_media_type");

  Request json = request("POST", "/v1/push");
  json.body = "{}";
  json.headers = {{"content-type", "Application/JSON; charset=utf-8"}};
  EXPECT_EQ(router.dispatch(*found, json).body, "pushed");
}

TEST(RouterTest, HandlerThatThrowsIsAnswered500WithAStableCode) {
  Router router;
  ASSERT_TRUE(
      router.add("GET", "/boom", [](const Request&) -> Response { throw std::runtime_error("bug"); }).ok());
  Request incoming = request("GET", "/boom");
  const Response response = router.dispatch(*router.match("GET", "/boom"), incoming);
  EXPECT_EQ(response.status, 500u);
  EXPECT_EQ(boost::json::parse(response.body).at("error"), "internal_error");
}

}  // namespace
}  // namespace casefile::server
