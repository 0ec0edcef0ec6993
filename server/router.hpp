// Router: method + path template -> handler.
//
// A template is a path of '/'-separated segments; a segment "{name}" matches
// any one non-empty segment and hands its percent-decoded value to the
// handler in Request::path_parameters. When several templates match a path,
// the one with a literal segment where the others have a parameter wins
// (compared left to right), so "/v1/cases/new" beats "/v1/cases/{case_id}".
//
// Handlers run on an I/O thread unless registered with
// Execution::blocking_pool; anything that may block (SQLite, files) must use
// the pool, or it stalls every connection sharing that thread.
//
// An asynchronous handler (add_async) answers later, through its Responder,
// from any thread: a long-poll parks its request without holding an I/O or
// pool thread. The connection's later answers wait behind it, in order.
//
// A streaming handler (add_streaming) sees the headers first and answers
// with a BodySink that receives the body piece by piece, so an upload of any
// size takes memory independent of its size; its route has no body limit
// (the sink enforces its own). Streaming handlers and sinks run on the
// blocking pool.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "base/result.hpp"
#include "server/http_message.hpp"

namespace casefile::server {

enum class RouteExecution { io_thread, blocking_pool };

struct RouteOptions {
  RouteExecution execution = RouteExecution::io_thread;
  // Media types accepted for a request body; a request with a body of any
  // other type is answered 415 unsupported_media_type.
  std::vector<std::string> body_media_types = {"application/json"};
};

// A request body delivered in pieces (tus PATCH). Its calls come from the
// blocking pool, one at a time, in order: write()* then finish() or abort().
class BodySink {
 public:
  virtual ~BodySink() = default;
  // One piece of the body. An answer ends the request early: it is sent, the
  // rest of the body is not read, and the connection closes after it.
  virtual std::optional<Response> write(std::string_view piece) = 0;
  // The whole body arrived: the answer.
  virtual Response finish() = 0;
  // The body will not arrive whole (the connection dropped or timed out, the
  // pool was full); nothing is sent.
  virtual void abort() = 0;
};

// A streaming handler's answer to the headers: a Response (no body is read
// and the connection closes after it, unless the body is empty) or a sink.
using BodyStart = std::variant<Response, std::unique_ptr<BodySink>>;

class Router {
 public:
  using Handler = std::function<Response(const Request&)>;
  // Sends the answer of an asynchronous handler. Call it once, from any
  // thread; if every copy is dropped uncalled, 500 internal_error is sent.
  using Responder = std::function<void(Response)>;
  using AsyncHandler = std::function<void(const Request&, Responder)>;
  using StreamingHandler = std::function<BodyStart(const Request&)>;
  using Execution = RouteExecution;

  struct Route;  // defined in router.cpp

  // What match() found: the route (for dispatch) and its template (a metrics
  // label of bounded cardinality, unlike the path).
  struct Match {
    const Route* route = nullptr;
    std::string path_template;
    Execution execution = Execution::io_thread;
    bool asynchronous = false;  // added with add_async: dispatch with dispatch_async
    bool streaming = false;     // added with add_streaming: start with start_body
    std::map<std::string, std::string, std::less<>> path_parameters;
  };

  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  // Errors: "invalid_route" (empty method, template not starting with '/',
  // empty or malformed segment), "duplicate_route".
  Status add(std::string_view method, std::string_view path_template, Handler handler,
             RouteOptions options = RouteOptions());

  // The same for a handler that answers through its Responder; it starts on
  // the thread `options.execution` names.
  Status add_async(std::string_view method, std::string_view path_template, AsyncHandler handler,
                   RouteOptions options = RouteOptions());

  // The same for a handler whose body streams through a BodySink; it runs
  // on the blocking pool, whatever the options say.
  Status add_streaming(std::string_view method, std::string_view path_template, StreamingHandler handler);

  // Errors, each ready to send with error_response():
  //   "bad_request" (target not in origin form, bad percent-encoding),
  //   "not_found", "method_not_allowed" (message lists the allowed methods).
  Result<Match> match(std::string_view method, std::string_view path) const;

  // The methods registered for `path`, comma-separated, for a 405's Allow header.
  std::string allowed_methods(std::string_view path) const;

  // Every registered route as (method, path template), in registration order:
  // what the OpenAPI contract test compares with docs/openapi.yaml.
  std::vector<std::pair<std::string, std::string>> routes() const;

  // Checks the body's media type, fills request.path_parameters and calls the
  // handler. A handler that throws (a programming error) gets a logged-by-caller
  // 500 internal_error, never a crashed process.
  // REQUIRES: !match.asynchronous.
  Response dispatch(const Match& match, Request& request) const;
  // Dispatches any route: `respond` is called once, at once for a plain
  // handler (or a refused body), later for an asynchronous one.
  void dispatch_async(const Match& match, Request& request, Responder respond) const;
  // Fills request.path_parameters and calls a streaming handler with the
  // headers (request.body is empty). A throwing handler gets 500.
  // REQUIRES: match.streaming.
  BodyStart start_body(const Match& match, Request& request) const;

 private:
  Status add_route(std::string_view method, std::string_view path_template, Handler handler,
                   AsyncHandler async_handler, StreamingHandler streaming_handler, RouteOptions options);

  std::vector<std::unique_ptr<Route>> routes_;
};

// The HTTP status of an error code returned by Router::match().
unsigned status_of_routing_error(std::string_view code);

}  // namespace casefile::server
