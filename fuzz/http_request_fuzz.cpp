// libFuzzer target: raw bytes from a client, as one connection's byte stream,
// through the real HTTP session (server/internal/http_session.hpp: Beast's
// parser with the configured header and body limits, pipelining, the 4xx
// answers) and the real Router (matching, percent-decoding, media types,
// dispatch) over beast::test::stream, as tests/server/http_session_test.cpp
// runs it. A minimal route table stands in for casefiled's: a literal route,
// a parameter route, a body route, an asynchronous one. The stream is then
// closed and the session run until it has nothing left to do.
#include <boost/beast/_experimental/test/stream.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "server/internal/http_session.hpp"

namespace {

using namespace casefile::server;
using namespace casefile::server::internal;
using Session = HttpSession<boost::beast::test::stream>;

Router make_router() {
  Router router;
  bool added = router
                   .add("GET", "/v1/hello",
                        [](const Request& request) {
                          Response response;
                          response.content_type = "text/plain";
                          response.body = "hello " + request.query;
                          return response;
                        })
                   .ok();
  added = added && router
                       .add("GET", "/v1/cases/{case_id}/records/{record_id}",
                            [](const Request& request) {
                              Response response;
                              response.content_type = "text/plain";
                              response.body = request.path_parameters.at("case_id") + "/" +
                                              request.path_parameters.at("record_id");
                              return response;
                            })
                       .ok();
  added = added && router
                       .add("POST", "/v1/echo",
                            [](const Request& request) {
                              Response response;
                              response.body = request.body;
                              return response;
                            })
                       .ok();
  added = added && router
                       .add_async("POST", "/v1/later",
                                  [](const Request& request, Router::Responder respond) {
                                    Response response;
                                    response.body = std::to_string(request.body.size());
                                    respond(std::move(response));
                                  })
                       .ok();
  if (!added) std::abort();
  return router;
}

ServerTimeouts hour_timeouts() {
  ServerTimeouts timeouts;
  const auto hour = std::chrono::hours(1);
  timeouts.handshake = timeouts.header_read = timeouts.body_read = timeouts.keep_alive_idle = timeouts.write =
      timeouts.drain = hour;
  return timeouts;
}

// What every connection shares, built once: the process is one fuzzing run.
struct Shared {
  Router router = make_router();
  MetricsRegistry registry;
  TransportMetrics metrics{registry};
  JsonLogger logger{LogLevel::error, [](std::string_view) {}};
  SessionTracker tracker;
  ServerLimits limits = [] {
    ServerLimits limits;
    limits.header_limit_bytes = 2048;
    limits.body_limit_bytes = 4096;
    limits.max_pipelined_requests = 4;
    limits.blocking_threads = 1;
    return limits;
  }();
  BlockingWorkPool pool{limits.blocking_threads, limits.blocking_queue};
  SessionEnvironment environment{router, limits, hour_timeouts(), pool, metrics, logger, tracker};
};

void run_until_idle(net::io_context& io) {
  io.restart();
  while (io.poll() > 0) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Shared* shared = new Shared();  // never destroyed: the pool's thread lives to exit
  net::io_context io;
  boost::beast::test::stream client(io);
  {
    boost::beast::test::stream server(io);
    server.connect(client);
    auto session = std::make_shared<Session>(std::move(server), shared->environment);
    session->start();
  }
  run_until_idle(io);
  net::write(client, net::buffer(data, size));
  run_until_idle(io);
  client.close();
  // run(), not poll(): a route's answer comes back from the blocking pool's
  // thread through tracked work, which run() waits for; it returns once the
  // session has answered, closed and cancelled its timers.
  io.restart();
  io.run();
  return 0;
}
