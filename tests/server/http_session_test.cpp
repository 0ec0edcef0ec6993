// One connection's HTTP behaviour, without sockets: the session runs over
// beast::test::stream, driven by polling the io_context (Beast's own
// session tests work this way). TLS and timeouts are proven end to end in
// casefiled_end_to_end_test.cpp.
#include "server/internal/http_session.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/json/parse.hpp>
#include <condition_variable>
#include <mutex>

namespace casefile::server::internal {
namespace {

namespace test = boost::beast::test;
using Session = HttpSession<test::stream>;
using HttpResponse = http::response<http::string_body>;

// A gate that blocking handlers wait at until the test opens it.
class Gate {
 public:
  void pass(int* entered_out = nullptr) {
    std::unique_lock lock(mutex_);
    ++entered_;
    if (entered_out != nullptr) *entered_out = entered_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return open_; });
  }
  void wait_for_entered(int count) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return entered_ >= count; });
  }
  int entered() {
    const std::lock_guard lock(mutex_);
    return entered_;
  }
  void open() {
    const std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int entered_ = 0;
  bool open_ = false;
};

ServerTimeouts long_timeouts() {
  ServerTimeouts timeouts;
  const auto hour = std::chrono::hours(1);
  timeouts.handshake = timeouts.header_read = timeouts.body_read = timeouts.keep_alive_idle = timeouts.write =
      timeouts.drain = hour;
  return timeouts;
}

class HttpSessionTest : public ::testing::Test {
 protected:
  HttpSessionTest() {
    limits_.header_limit_bytes = 1024;
    limits_.body_limit_bytes = 1024;
    limits_.max_pipelined_requests = 2;
    limits_.blocking_threads = 1;
    limits_.blocking_queue = 4;
    EXPECT_TRUE(router_
                    .add("GET", "/hello",
                         [](const Request& request) {
                           Response response;
                           response.content_type = "text/plain";
                           response.body = "hello " + request.query;
                           return response;
                         })
                    .ok());
    EXPECT_TRUE(router_
                    .add("POST", "/echo",
                         [](const Request& request) {
                           Response response;
                           response.body = request.body;
                           return response;
                         })
                    .ok());
    RouteOptions blocking;
    blocking.execution = RouteExecution::blocking_pool;
    EXPECT_TRUE(router_
                    .add(
                        "GET", "/slow",
                        [this](const Request& request) {
                          gate_.pass();
                          Response response;
                          response.content_type = "text/plain";
                          response.body = "slow " + request.query;
                          return response;
                        },
                        blocking)
                    .ok());
  }

  ~HttpSessionTest() override {
    gate_.open();
    if (pool_) pool_->stop();
  }

  void make_environment() {
    pool_ = std::make_unique<BlockingWorkPool>(limits_.blocking_threads, limits_.blocking_queue);
    environment_ = std::make_unique<SessionEnvironment>(
        SessionEnvironment{router_, limits_, long_timeouts(), *pool_, metrics_, logger_, tracker_});
  }

  std::shared_ptr<Session> start_session() {
    make_environment();
    test::stream server(io_);
    server.connect(client_);
    auto session = std::make_shared<Session>(std::move(server), *environment_);
    session->start();
    run_until_idle();
    return session;
  }

  void send(std::string_view bytes) {
    net::write(client_, net::buffer(bytes));
    run_until_idle();
  }

  void run_until_idle() {
    io_.restart();
    while (io_.poll() > 0) {
    }
  }

  // Runs the io_context until `count` complete responses have arrived, and
  // returns every response received so far. Gives up after a minute so a
  // broken session fails the test instead of hanging it.
  std::vector<HttpResponse> responses(std::size_t count = 0) {
    for (int round = 0; round < 6000 && parse_responses().size() < count; ++round) {
      io_.restart();
      io_.run_one_for(std::chrono::milliseconds(10));
    }
    run_until_idle();
    return parse_responses();
  }

  std::vector<HttpResponse> parse_responses() {
    std::vector<HttpResponse> parsed;
    std::string_view rest = client_.str();
    while (!rest.empty()) {
      http::response_parser<http::string_body> parser;
      parser.eager(true);
      beast::error_code error;
      const std::size_t used = parser.put(net::buffer(rest.data(), rest.size()), error);
      if (error || !parser.is_done()) break;
      parsed.push_back(parser.release());
      rest.remove_prefix(used);
    }
    return parsed;
  }

  // True once the session has closed its end and every byte was read.
  bool client_sees_close() {
    char byte = 0;
    bool done = false;
    beast::error_code result;
    client_.clear();
    client_.async_read_some(net::buffer(&byte, 1), [&](beast::error_code error, std::size_t) {
      done = true;
      result = error;
    });
    run_until_idle();
    if (!done) {
      client_.close();  // ends the read we started; the test has failed
      run_until_idle();
      return false;
    }
    return result == net::error::eof;
  }

  static std::string error_code_of(const HttpResponse& response) {
    return std::string(boost::json::parse(response.body()).at("error").as_string());
  }

  Router router_;
  MetricsRegistry registry_;
  TransportMetrics metrics_{registry_};
  JsonLogger logger_{LogLevel::error, [](std::string_view) {}};
  SessionTracker tracker_;
  ServerLimits limits_;
  Gate gate_;
  std::unique_ptr<SessionEnvironment> environment_;
  net::io_context io_;
  test::stream client_{io_};
  std::unique_ptr<BlockingWorkPool> pool_;  // declared last: stopped first, while sessions' referents live
};

TEST_F(HttpSessionTest, AnswersRequestsInOrderOnOneKeptAliveConnection) {
  auto session = start_session();
  send("GET /hello?a HTTP/1.1\r\nHost: x\r\n\r\nGET /hello?b HTTP/1.1\r\nHost: x\r\n\r\n");
  auto answered = responses(2);
  ASSERT_EQ(answered.size(), 2u);
  EXPECT_EQ(answered[0].result_int(), 200u);
  EXPECT_EQ(answered[0].body(), "hello a");
  EXPECT_EQ(answered[1].body(), "hello b");
  EXPECT_TRUE(answered[1].keep_alive());
  EXPECT_EQ(answered[0][http::field::cache_control], "no-store");
  EXPECT_FALSE(client_sees_close());
}

TEST_F(HttpSessionTest, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  auto session = start_session();
  send("GET /nope HTTP/1.1\r\nHost: x\r\n\r\nDELETE /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  auto answered = responses(2);
  ASSERT_EQ(answered.size(), 2u);
  EXPECT_EQ(answered[0].result_int(), 404u);
  EXPECT_EQ(error_code_of(answered[0]), "not_found");
  EXPECT_EQ(answered[1].result_int(), 405u);
  EXPECT_EQ(error_code_of(answered[1]), "method_not_allowed");
  EXPECT_EQ(answered[1][http::field::allow], "GET");
}

TEST_F(HttpSessionTest, BodyOfTheWrongMediaTypeIs415) {
  auto session = start_session();
  send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi");
  auto answered = responses(1);
  ASSERT_EQ(answered.size(), 1u);
  EXPECT_EQ(answered[0].result_int(), 415u);
  EXPECT_EQ(error_code_of(answered[0]), "unsupported_media_type");
}

TEST_F(HttpSessionTest, ConnectionCloseIsHonouredAfterTheAnswer) {
  auto session = start_session();
  send("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto answered = responses(1);
  ASSERT_EQ(answered.size(), 1u);
  EXPECT_FALSE(answered[0].keep_alive());
  EXPECT_TRUE(client_sees_close());
}

TEST_F(HttpSessionTest, ContentLengthBeyondTheBodyLimitIs413BeforeAnyBodyArrives) {
  auto session = start_session();
  send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
      "1073741824\r\n\r\n");
  auto answered = responses(1);
  ASSERT_EQ(answered.size(), 1u);
  EXPECT_EQ(answered[0].result_int(), 413u);
  EXPECT_EQ(error_code_of(answered[0]), "payload_too_large");
  EXPECT_FALSE(answered[0].keep_alive());
  EXPECT_TRUE(client_sees_close());
}

TEST_F(HttpSessionTest, ChunkedBodyBeyondTheBodyLimitIs413) {
  auto session = start_session();
  const std::string chunk(2000, 'x');
  send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: "
      "chunked\r\n\r\n7d0\r\n" +
      chunk + "\r\n0\r\n\r\n");
  auto answered = responses(1);
  ASSERT_EQ(answered.size(), 1u);
  EXPECT_EQ(answered[0].result_int(), 413u);
  EXPECT_TRUE(client_sees_close());
}

TEST_F(HttpSessionTest, HeaderBeyondTheHeaderLimitIs431) {
  auto session = start_session();
  send("GET /hello HTTP/1.1\r\nHost: x\r\nX-Filler: " + std::string(4096, 'a') + "\r\n\r\n");
  auto answered = responses(1);
  ASSERT_EQ(answered.size(), 1u);
  EXPECT_EQ(answered[0].result_int(), 431u);
  EXPECT_EQ(error_code_of(answered[0]), "header_too_large");
  EXPECT_TRUE(client_sees_close());
}

TEST_F(HttpSessionTest, MalformedRequestIs400AndCloses) {
  auto session = start_session();
  send("GET /hello HTTP/1.1\r\nHost x\r\n\r\n");
  auto answered = responses(1);
  ASSERT_EQ(answered.size(), 1u);
  EXPECT_EQ(answered[0].result_int(), 400u);
  EXPECT_EQ(error_code_of(answered[0]), "bad_request");
  EXPECT_TRUE(client_sees_close());
}

TEST_F(HttpSessionTest, PipelinedRequestsBeyondTheCapWaitUntilAnswersAreWritten) {
  auto session = start_session();
  std::string five;
  for (int i = 1; i <= 5; ++i) five += "GET /slow?" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
  send(five);
  gate_.wait_for_entered(1);
  run_until_idle();
  // One request runs, one waits in the pool's queue; with two unanswered the
  // session stops reading, though three more requests sit in its buffer.
  EXPECT_EQ(metrics_.pipeline_stalls.value(), 1u);
  EXPECT_EQ(pool_->queued(), 1u);
  EXPECT_EQ(gate_.entered(), 1);

  gate_.open();
  auto answered = responses(5);
  ASSERT_EQ(answered.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(answered[i].body(), "slow " + std::to_string(i + 1));
}

TEST_F(HttpSessionTest, FullBlockingQueueIsAnswered503ServerBusy) {
  limits_.max_pipelined_requests = 8;
  limits_.blocking_queue = 1;
  make_environment();
  // Another connection occupies the pool's only thread.
  test::stream other_client(io_);
  test::stream other_server(io_);
  other_server.connect(other_client);
  auto other = std::make_shared<Session>(std::move(other_server), *environment_);
  other->start();
  net::write(other_client, net::buffer(std::string_view("GET /slow?0 HTTP/1.1\r\nHost: x\r\n\r\n")));
  run_until_idle();
  gate_.wait_for_entered(1);

  test::stream server(io_);
  server.connect(client_);
  auto session = std::make_shared<Session>(std::move(server), *environment_);
  session->start();
  send("GET /slow?1 HTTP/1.1\r\nHost: x\r\n\r\nGET /slow?2 HTTP/1.1\r\nHost: x\r\n\r\n");
  gate_.open();
  auto answered = responses(2);
  ASSERT_EQ(answered.size(), 2u);
  EXPECT_EQ(answered[0].body(), "slow 1");  // queued behind the other connection's request
  EXPECT_EQ(answered[1].result_int(), 503u);
  EXPECT_EQ(answered[1].body().find("server_busy") != std::string::npos, true) << answered[1].body();
  EXPECT_EQ(answered[1][http::field::retry_after], "1");
  EXPECT_EQ(metrics_.busy_refusals.value(), 1u);
}

TEST_F(HttpSessionTest, DrainClosesAnIdleConnection) {
  auto session = start_session();
  send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(responses(1).size(), 1u);
  tracker_.drain_all();
  run_until_idle();
  EXPECT_TRUE(client_sees_close());
}

TEST_F(HttpSessionTest, DrainLetsTheRequestInFlightFinishWithConnectionClose) {
  auto session = start_session();
  send("GET /slow?last HTTP/1.1\r\nHost: x\r\n\r\n");
  gate_.wait_for_entered(1);
  tracker_.drain_all();
  run_until_idle();
  gate_.open();
  auto answered = responses(1);
  ASSERT_EQ(answered.size(), 1u);
  EXPECT_EQ(answered[0].body(), "slow last");
  EXPECT_FALSE(answered[0].keep_alive());
  EXPECT_TRUE(client_sees_close());
}

TEST_F(HttpSessionTest, OverTheConnectionCapEveryRequestIsAnswered503TooManyConnections) {
  make_environment();
  test::stream server(io_);
  server.connect(client_);
  auto session = std::make_shared<Session>(std::move(server), *environment_, SessionMode::refuse);
  session->start();
  send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  auto answered = responses(1);
  ASSERT_EQ(answered.size(), 1u);
  EXPECT_EQ(answered[0].result_int(), 503u);
  EXPECT_EQ(error_code_of(answered[0]), "too_many_connections");
  EXPECT_TRUE(client_sees_close());
}

}  // namespace
}  // namespace casefile::server::internal
