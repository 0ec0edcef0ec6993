#include "server/router.hpp"

#include <algorithm>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "server/query_string.hpp"

namespace casefile::server {

struct Router::Route {
  std::string method;
  std::string path_template;
  std::vector<std::string> segments;  // "{name}" for a parameter
  Handler handler;
  AsyncHandler async_handler;          // set instead of handler by add_async
  StreamingHandler streaming_handler;  // set instead of handler by add_streaming
  RouteOptions options;
};

namespace {

bool is_parameter(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// Splits "/a/b" into {"a", "b"}; "/" into {}. REQUIRES: path starts with '/'.
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  if (path == "/") return segments;
  std::size_t start = 1;
  while (true) {
    const std::size_t end = path.find('/', start);
    segments.push_back(
        path.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return segments;
}

// Literal-before-parameter specificity, left to right: true if a beats b.
bool more_specific(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const bool a_literal = !is_parameter(a[i]);
    const bool b_literal = !is_parameter(b[i]);
    if (a_literal != b_literal) return a_literal;
  }
  return false;
}

bool segments_match(const std::vector<std::string>& pattern, const std::vector<std::string_view>& path) {
  if (pattern.size() != path.size()) return false;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (is_parameter(pattern[i])) {
      if (path[i].empty()) return false;
    } else if (pattern[i] != path[i]) {
      return false;
    }
  }
  return true;
}

bool valid_path(std::string_view path) { return !path.empty() && path.front() == '/'; }

// Holds a Responder until it is called; answers 500 if it never is (a
// handler that lost its request must not leave the connection hanging).
class OnceResponder {
 public:
  explicit OnceResponder(Router::Responder respond) : respond_(std::move(respond)) {}
  ~OnceResponder() {
    if (respond_) {
      respond_(
          error_response(500, transport_error::kInternalError, "the server failed to handle the request"));
    }
  }
  OnceResponder(const OnceResponder&) = delete;
  OnceResponder& operator=(const OnceResponder&) = delete;

  void respond(Response response) {
    Router::Responder respond;
    {
      const std::lock_guard lock(mutex_);
      respond.swap(respond_);
    }
    if (respond) respond(std::move(response));
  }

 private:
  std::mutex mutex_;
  Router::Responder respond_;  // GUARDED_BY(mutex_); empty once called
};

Response refused_body(const RouteOptions& options, const Request& request) {
  const std::string type = request.media_type();
  if (request.body.empty() || std::find(options.body_media_types.begin(), options.body_media_types.end(),
                                        type) != options.body_media_types.end()) {
    return Response{0, {}, {}, {}, {}};
  }
  return error_response(415, transport_error::kUnsupportedMediaType,
                        "this resource does not accept a body of type '" + type + "'");
}

}  // namespace

Router::Router() = default;
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

Status Router::add(std::string_view method, std::string_view path_template, Handler handler,
                   RouteOptions options) {
  if (!handler) return make_error("invalid_route", "a route needs a handler");
  return add_route(method, path_template, std::move(handler), nullptr, nullptr, std::move(options));
}

Status Router::add_async(std::string_view method, std::string_view path_template, AsyncHandler handler,
                         RouteOptions options) {
  if (!handler) return make_error("invalid_route", "a route needs a handler");
  return add_route(method, path_template, nullptr, std::move(handler), nullptr, std::move(options));
}

Status Router::add_streaming(std::string_view method, std::string_view path_template,
                             StreamingHandler handler) {
  if (!handler) return make_error("invalid_route", "a route needs a handler");
  RouteOptions options;
  options.execution = Execution::blocking_pool;
  return add_route(method, path_template, nullptr, nullptr, std::move(handler), std::move(options));
}

Status Router::add_route(std::string_view method, std::string_view path_template, Handler handler,
                         AsyncHandler async_handler, StreamingHandler streaming_handler,
                         RouteOptions options) {
  if (method.empty() || !valid_path(path_template)) {
    return make_error("invalid_route", "a route needs a method, a handler and a path starting with '/'");
  }
  auto route = std::make_unique<Route>();
  route->method = std::string(method);
  route->path_template = std::string(path_template);
  for (std::string_view segment : split_path(path_template)) {
    const bool has_brace = segment.find_first_of("{}") != std::string_view::npos;
    if (segment.empty() || (has_brace && !is_parameter(segment))) {
      return make_error("invalid_route", "malformed segment in " + route->path_template);
    }
    route->segments.emplace_back(segment);
  }
  for (const auto& existing : routes_) {
    if (existing->method == route->method && existing->segments.size() == route->segments.size()) {
      bool same_shape = true;
      for (std::size_t i = 0; i < route->segments.size() && same_shape; ++i) {
        const bool both_parameters = is_parameter(existing->segments[i]) && is_parameter(route->segments[i]);
        same_shape = both_parameters || existing->segments[i] == route->segments[i];
      }
      if (same_shape) {
        return make_error("duplicate_route",
                          route->method + " " + route->path_template + " is already routed");
      }
    }
  }
  route->handler = std::move(handler);
  route->async_handler = std::move(async_handler);
  route->streaming_handler = std::move(streaming_handler);
  route->options = std::move(options);
  routes_.push_back(std::move(route));
  return ok_status();
}

Result<Router::Match> Router::match(std::string_view method, std::string_view path) const {
  if (!valid_path(path)) return make_error("bad_request", "the request target must be an absolute path");
  const auto segments = split_path(path);
  const Route* best = nullptr;
  bool path_known = false;
  for (const auto& route : routes_) {
    if (!segments_match(route->segments, segments)) continue;
    path_known = true;
    if (route->method != method) continue;
    if (best == nullptr || more_specific(route->segments, best->segments)) best = route.get();
  }
  if (best == nullptr) {
    if (path_known) {
      return make_error("method_not_allowed",
                        std::string(method) + " is not allowed here; allowed: " + allowed_methods(path));
    }
    return make_error("not_found", "no such resource");
  }
  Match found;
  found.route = best;
  found.path_template = best->path_template;
  found.execution = best->options.execution;
  found.asynchronous = static_cast<bool>(best->async_handler);
  found.streaming = static_cast<bool>(best->streaming_handler);
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (!is_parameter(best->segments[i])) continue;
    auto value = percent_decode(segments[i], PercentDecoding::path_segment);
    if (!value) return make_error("bad_request", "bad percent-encoding in the path");
    const std::string& name = best->segments[i];
    found.path_parameters.emplace(name.substr(1, name.size() - 2), std::move(*value));
  }
  return found;
}

std::vector<std::pair<std::string, std::string>> Router::routes() const {
  std::vector<std::pair<std::string, std::string>> listed;
  listed.reserve(routes_.size());
  for (const auto& route : routes_) listed.emplace_back(route->method, route->path_template);
  return listed;
}

std::string Router::allowed_methods(std::string_view path) const {
  if (!valid_path(path)) return {};
  const auto segments = split_path(path);
  std::vector<std::string> methods;
  for (const auto& route : routes_) {
    if (segments_match(route->segments, segments) &&
        std::find(methods.begin(), methods.end(), route->method) == methods.end()) {
      methods.push_back(route->method);
    }
  }
  std::sort(methods.begin(), methods.end());
  std::string joined;
  for (const auto& method : methods) joined.append(joined.empty() ? "" : ", ").append(method);
  return joined;
}

Response Router::dispatch(const Match& match, Request& request) const {
  if (Response refusal = refused_body(match.route->options, request); refusal.status != 0) return refusal;
  request.path_parameters = match.path_parameters;
  try {
    return match.route->handler(request);
  } catch (const std::exception&) {
    return error_response(500, transport_error::kInternalError, "the server failed to handle the request");
  }
}

void Router::dispatch_async(const Match& match, Request& request, Responder respond) const {
  if (!match.route->async_handler) {
    respond(dispatch(match, request));
    return;
  }
  if (Response refusal = refused_body(match.route->options, request); refusal.status != 0) {
    respond(std::move(refusal));
    return;
  }
  request.path_parameters = match.path_parameters;
  auto once = std::make_shared<OnceResponder>(std::move(respond));
  try {
    match.route->async_handler(request, [once](Response response) { once->respond(std::move(response)); });
  } catch (const std::exception&) {
    once->respond(
        error_response(500, transport_error::kInternalError, "the server failed to handle the request"));
  }
}

BodyStart Router::start_body(const Match& match, Request& request) const {
  request.path_parameters = match.path_parameters;
  try {
    return match.route->streaming_handler(request);
  } catch (const std::exception&) {
    return error_response(500, transport_error::kInternalError, "the server failed to handle the request");
  }
}

unsigned status_of_routing_error(std::string_view code) {
  if (code == "not_found") return 404;
  if (code == "method_not_allowed") return 405;
  return 400;
}

}  // namespace casefile::server
