// The Router's asynchronous handlers: answered later from any thread,
// exactly once, and never left hanging.
#include <gtest/gtest.h>

#include <thread>

#include "server/router.hpp"

namespace casefile::server {
namespace {

Request get(const std::string& path) {
  Request request;
  request.method = "GET";
  request.target = request.path = path;
  return request;
}

struct Answers {
  std::vector<Response> responses;
  Router::Responder responder() {
    return [this](Response response) { responses.push_back(std::move(response)); };
  }
};

TEST(AsyncRouteTest, AnAsynchronousHandlerAnswersLaterFromAnotherThread) {
  Router router;
  Router::Responder parked;
  ASSERT_TRUE(router
                  .add_async("GET", "/v1/wait/{name}",
                             [&parked](const Request& request, Router::Responder respond) {
                               EXPECT_EQ(request.path_parameters.at("name"), "x");
                               parked = std::move(respond);
                             })
                  .ok());
  auto match = router.match("GET", "/v1/wait/x");
  ASSERT_TRUE(match.ok());
  EXPECT_TRUE(match->asynchronous);
  Answers answers;
  Request request = get("/v1/wait/x");
  router.dispatch_async(*match, request, answers.responder());
  EXPECT_TRUE(answers.responses.empty());
  std::thread([&parked] { parked(json_response(200, boost::json::object{{"late", true}})); }).join();
  parked(error_response(500, "second", "ignored"));  // a second answer is dropped
  ASSERT_EQ(answers.responses.size(), 1u);
  EXPECT_EQ(answers.responses[0].status, 200u);
}

TEST(AsyncRouteTest, AHandlerThatDropsItsResponderAnswers500) {
  Router router;
  ASSERT_TRUE(router.add_async("GET", "/lost", [](const Request&, Router::Responder) {}).ok());
  ASSERT_TRUE(router
                  .add_async("GET", "/throws",
                             [](const Request&, Router::Responder) { throw std::runtime_error("bug"); })
                  .ok());
  for (const char* path : {"/lost", "/throws"}) {
    Answers answers;
    Request request = get(path);
    router.dispatch_async(*router.match("GET", path), request, answers.responder());
    ASSERT_EQ(answers.responses.size(), 1u) << path;
    EXPECT_EQ(answers.responses[0].status, 500u);
  }
}

TEST(AsyncRouteTest, PlainRoutesAndRefusedBodiesAnswerAtOnce) {
  Router router;
  ASSERT_TRUE(
      router.add("GET", "/plain", [](const Request&) { return json_response(200, boost::json::object{}); })
          .ok());
  ASSERT_TRUE(router.add_async("POST", "/async", [](const Request&, Router::Responder) { FAIL(); }).ok());
  Answers answers;
  Request plain = get("/plain");
  router.dispatch_async(*router.match("GET", "/plain"), plain, answers.responder());
  Request wrong_type = get("/async");
  wrong_type.method = "POST";
  wrong_type.body = "x";
  wrong_type.headers = {{"Content-Type", "text/plain"}};
  router.dispatch_async(*router.match("POST", "/async"), wrong_type, answers.responder());
  ASSERT_EQ(answers.responses.size(), 2u);
  EXPECT_EQ(answers.responses[0].status, 200u);
  EXPECT_EQ(answers.responses[1].status, 415u);
}

}  // namespace
}  // namespace casefile::server
