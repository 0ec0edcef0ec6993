// One HTTP/1.1 connection, after Beast's advanced_server_flex: one object a
// connection, every handler on the connection's strand, a deadline before
// every handshake, read, write and shutdown, a fresh parser per message with
// header and body limits, a bounded read-ahead of pipelined requests, and
// ssl::error::stream_truncated treated as a normal close.
//
// Internal: included by http_server.cpp (over TLS) and by the session tests
// (over beast::test::stream), the only two places these templates compile.
//
// A streaming route (Router::add_streaming) switches the parser to a
// buffer_body once its headers are read: each piece of the body goes to the
// route's BodySink on the blocking pool before the next is read, so one
// connection holds at most kBodyPieceSize of body. The body_read timeout
// applies to each piece, not to the whole body, and no body limit applies.
// A file response (Response::file) is sent through FileRangeBody, read from
// disk kFilePieceSize at a time.
//
// Read deadlines are two-layered. A soft timer on the strand ends a read that
// overran its timeout by cancelling it, so the client can still be told 408
// when it had started a request; the stream's own expires_after is the hard
// cap behind it (timeout + kHardDeadlineMargin). The idle keep-alive wait ends
// at the first byte of the next request, and the header timeout starts there:
// a client dripping a byte at a time cannot stretch it.
#pragma once

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "server/blocking_work_pool.hpp"
#include "server/config.hpp"
#include "server/http_message.hpp"
#include "server/internal/session_tracker.hpp"
#include "server/internal/transport_metrics.hpp"
#include "server/json_logger.hpp"
#include "server/router.hpp"

namespace casefile::server::internal {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;

// Everything the sessions of one server share. Outlives every session.
struct SessionEnvironment {
  const Router& router;
  ServerLimits limits;
  ServerTimeouts timeouts;
  BlockingWorkPool& blocking_pool;
  TransportMetrics& metrics;
  const JsonLogger& logger;
  SessionTracker& tracker;
};

inline constexpr std::chrono::seconds kHardDeadlineMargin{5};
inline constexpr std::size_t kFirstReadSize = 4096;
// close_notify exchange; a peer that never answers it is simply cut off.
inline constexpr std::chrono::seconds kShutdownTimeout{5};

template <class Stream>
struct IsTlsStream : std::false_type {};
template <class Next>
struct IsTlsStream<net::ssl::stream<Next>> : std::true_type {};
template <class Next>
struct IsTlsStream<beast::ssl_stream<Next>> : std::true_type {};

// Whether a read error ends the connection without an answer: the peer left
// or we cancelled (stream_truncated is a peer that closed without close_notify).
inline bool is_http_parse_error(const beast::error_code& error) {
  return &error.category() == &http::make_error_code(http::error::bad_method).category();
}

inline bool is_quiet_close(const beast::error_code& error) {
  return error == http::error::end_of_stream || error == net::error::eof ||
         error == net::ssl::error::stream_truncated || error == net::error::connection_reset ||
         error == net::error::operation_aborted || error == beast::error::timeout ||
         error == net::error::broken_pipe || error == http::error::partial_message;
}

inline constexpr std::size_t kBodyPieceSize = 256 * 1024;
inline constexpr std::size_t kFilePieceSize = 256 * 1024;

// A Beast body that sends `length` bytes of an open file from its current
// position, a buffer at a time.
struct FileRangeBody {
  struct value_type {
    beast::file file;
    std::uint64_t length = 0;
  };

  static std::uint64_t size(const value_type& body) { return body.length; }

  class writer {
   public:
    using const_buffers_type = net::const_buffer;

    template <bool isRequest, class Fields>
    writer(http::header<isRequest, Fields>&, value_type& body) : body_(body), remaining_(body.length) {}

    void init(beast::error_code& error) {
      buffer_.resize(kFilePieceSize);
      error = {};
    }

    boost::optional<std::pair<const_buffers_type, bool>> get(beast::error_code& error) {
      const auto amount = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, buffer_.size()));
      if (amount == 0) {
        error = {};
        return boost::none;
      }
      const std::size_t read = body_.file.read(buffer_.data(), amount, error);
      if (error) return boost::none;
      if (read == 0) {
        error = http::error::short_read;
        return boost::none;
      }
      remaining_ -= read;
      return {{const_buffers_type(buffer_.data(), read), remaining_ > 0}};
    }

   private:
    value_type& body_;
    std::uint64_t remaining_;
    std::vector<char> buffer_;
  };
};

// Mode::refuse answers every request 503 too_many_connections and closes:
// a client over the connection cap learns why instead of seeing a reset.
enum class SessionMode { serve, refuse };

template <class Stream>
class HttpSession : public DrainableSession, public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  static constexpr bool kTls = IsTlsStream<Stream>::value;

  // `anchor` is kept until the stream is gone: the TLS context the stream was
  // made with, which a certificate reload must not pull away.
  HttpSession(Stream stream, SessionEnvironment& environment, SessionMode mode = SessionMode::serve,
              std::shared_ptr<const void> anchor = {})
      : anchor_(std::move(anchor)),
        stream_(std::move(stream)),
        environment_(environment),
        mode_(mode),
        soft_deadline_(stream_.get_executor()) {
    if (mode_ == SessionMode::serve) environment_.metrics.open_connections.add(1);
  }

  ~HttpSession() override {
    if (sink_) sink_->abort();  // a body cut off by a session that ended some other way
    if (tracker_id_ != 0) environment_.tracker.remove(tracker_id_);
    if (mode_ == SessionMode::serve) environment_.metrics.open_connections.add(-1);
  }

  void start() {
    tracker_id_ = environment_.tracker.add(this->weak_from_this());
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->handshake(); });
  }

  void drain() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->on_drain(); });
  }

  Stream& stream() { return stream_; }

 private:
  enum class Phase { idle, header, body };

  struct Exchange {
    std::unique_ptr<http::response<http::string_body>> response;   // null until the handler answers
    std::unique_ptr<http::response<FileRangeBody>> file_response;  // instead, for Response::file
    std::string route = "unmatched";
    std::string method = "other";
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    std::uint64_t id = 0;
    unsigned version = 11;
    bool keep_alive = true;
    bool head = false;  // a HEAD request: the answer's header only (RFC 9110 §9.3.2)
  };

  // --- deadlines -----------------------------------------------------------

  void set_hard_deadline(std::chrono::milliseconds timeout) {
    if constexpr (kTls) beast::get_lowest_layer(stream_).expires_after(timeout);
  }

  void arm_read_deadline(std::chrono::milliseconds timeout) {
    set_hard_deadline(timeout + kHardDeadlineMargin);
    read_timed_out_ = false;
    soft_deadline_.expires_after(timeout);
    soft_deadline_.async_wait(
        [self = this->shared_from_this(), generation = ++deadline_generation_](beast::error_code error) {
          if (!error && generation == self->deadline_generation_) self->on_read_deadline();
        });
  }

  void on_read_deadline() {
    if (!reading_) return;
    read_timed_out_ = true;
    environment_.metrics.read_timeouts.increment();
    cancel_io();
  }

  void cancel_io() {
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).cancel();
    } else {
      stream_.close();
    }
  }

  void close_now() {
    closed_ = true;
    soft_deadline_.cancel();
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).close();
    } else {
      stream_.close();
    }
  }

  // --- handshake and reads -------------------------------------------------

  void handshake() {
    if constexpr (kTls) {
      handshaking_ = true;
      set_hard_deadline(environment_.timeouts.handshake);
      stream_.async_handshake(
          net::ssl::stream_base::server,
          [self = this->shared_from_this()](beast::error_code error) { self->on_handshake(error); });
    } else {
      read_next();
    }
  }

  void on_handshake(beast::error_code error) {
    handshaking_ = false;
    if (error) {
      environment_.metrics.handshake_failures.increment();
      if (environment_.logger.enabled(LogLevel::debug)) {
        environment_.logger.log(LogLevel::debug, "tls_handshake_failed", {{"reason", error.message()}});
      }
      close_now();
      return;
    }
    read_next();
  }

  // Reads the next request. Reading ahead of owed answers (pipelining) only
  // uses bytes already received: the idle wait for a new request starts when
  // nothing is owed, so a slow handler never trips the keep-alive timeout.
  void read_next() {
    if (closing_ || closed_ || reading_) return;
    if (buffer_.size() == 0 && (writing_ || !pending_.empty())) return;  // on_write resumes
    if (draining_ && buffer_.size() == 0) {
      closing_ = true;
      return finish_if_done();
    }
    if (pending_.size() >= environment_.limits.max_pipelined_requests) {
      environment_.metrics.pipeline_stalls.increment();
      return;
    }
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(environment_.limits.header_limit_bytes));
    // The body limit is set once the route is known (on_header): streaming routes have none.
    parser_->body_limit(boost::none);
    reading_ = true;
    if (buffer_.size() == 0) {
      phase_ = Phase::idle;
      arm_read_deadline(requests_read_ == 0 ? environment_.timeouts.header_read
                                            : environment_.timeouts.keep_alive_idle);
      stream_.async_read_some(buffer_.prepare(kFirstReadSize),
                              [self = this->shared_from_this()](beast::error_code error, std::size_t bytes) {
                                self->on_first_bytes(error, bytes);
                              });
      return;
    }
    read_header();
  }

  void on_first_bytes(beast::error_code error, std::size_t bytes) {
    buffer_.commit(bytes);
    if (error) return on_read_error(error);
    read_header();
  }

  void read_header() {
    phase_ = Phase::header;
    header_started_ = std::chrono::steady_clock::now();
    arm_read_deadline(environment_.timeouts.header_read);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code error, std::size_t) { self->on_header(error); });
  }

  void on_header(beast::error_code error) {
    if (error) return on_read_error(error);
    if (mode_ == SessionMode::serve && start_streaming()) return;
    const auto declared = parser_->content_length();
    if (declared && *declared > environment_.limits.body_limit_bytes) {
      return on_read_error(http::error::body_limit);
    }
    parser_->body_limit(environment_.limits.body_limit_bytes);
    if (parser_->is_done()) return on_request();
    phase_ = Phase::body;
    arm_read_deadline(environment_.timeouts.body_read);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code error, std::size_t) { self->on_body(error); });
  }

  void on_body(beast::error_code error) {
    if (error) return on_read_error(error);
    on_request();
  }

  void on_read_error(beast::error_code error) {
    reading_ = false;
    soft_deadline_.cancel();
    closing_ = true;
    const bool started_request = phase_ != Phase::idle || buffer_.size() > 0;
    if (read_timed_out_ && started_request && pending_.empty() && !writing_) {
      answer_transport_error(408, transport_error::kTimeout, "the request did not arrive in time");
    } else if (error == http::error::header_limit) {
      answer_transport_error(431, transport_error::kHeaderTooLarge, "the request header is too large");
    } else if (error == http::error::body_limit) {
      answer_transport_error(413, transport_error::kPayloadTooLarge, "the request body is too large");
    } else if (!read_timed_out_ && !is_quiet_close(error) && is_http_parse_error(error)) {
      answer_transport_error(400, transport_error::kBadRequest, "malformed HTTP request");
    } else if (read_timed_out_ && (writing_ || !pending_.empty())) {
      // A client that stopped mid-request while we still owe it responses.
      close_now();
      return;
    }
    finish_if_done();
  }

  // --- requests ------------------------------------------------------------

  void on_request() {
    reading_ = false;
    soft_deadline_.cancel();
    ++requests_read_;
    auto message = parser_->release();
    parser_.reset();

    Exchange exchange = exchange_for(message);
    Request request = request_for(message);
    request.body = std::move(message.body());

    const std::uint64_t id = exchange.id;
    if (mode_ == SessionMode::refuse) {
      closing_ = true;
      exchange.keep_alive = false;
      pending_.push_back(std::move(exchange));
      auto response = error_response(503, transport_error::kTooManyConnections,
                                     "the server has too many open connections; retry later");
      response.headers.emplace_back("Retry-After", "1");
      return complete(id, std::move(response));
    }

    auto match = environment_.router.match(request.method, request.path);
    if (match.ok()) exchange.route = match->path_template;
    pending_.push_back(std::move(exchange));

    if (!match.ok()) {
      const std::string& code = match.error().code;
      Response response = error_response(status_of_routing_error(code), code, match.error().message);
      if (code == "method_not_allowed") {
        response.headers.emplace_back("Allow", environment_.router.allowed_methods(request.path));
      }
      complete(id, std::move(response));
    } else if (match->execution == Router::Execution::io_thread) {
      if (match->asynchronous) {
        environment_.router.dispatch_async(*match, request, responder(id));
      } else {
        complete(id, environment_.router.dispatch(*match, request));
      }
    } else {
      run_blocking(id, std::move(match).value(), std::move(request));
    }
    read_next();
  }

  template <class Message>
  Exchange exchange_for(const Message& message) {
    Exchange exchange;
    exchange.id = next_exchange_id_++;
    exchange.started = header_started_;
    exchange.version = message.version();
    exchange.keep_alive = message.keep_alive() && !draining_;
    exchange.method = std::string(method_label(message.method_string()));
    exchange.head = message.method() == http::verb::head;
    if (!exchange.keep_alive) closing_ = true;
    return exchange;
  }

  template <class Message>
  static Request request_for(const Message& message) {
    Request request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    const auto question = request.target.find('?');
    request.path = request.target.substr(0, question);
    if (question != std::string::npos) request.query = request.target.substr(question + 1);
    for (const auto& field : message) request.headers.emplace_back(field.name_string(), field.value());
    return request;
  }

  // --- streaming request bodies --------------------------------------------

  // After the headers: true when the route streams its body (the request is
  // then this code's to finish).
  bool start_streaming() {
    const auto& header = parser_->get();
    const std::string_view target = header.target();
    auto match = environment_.router.match(std::string(header.method_string()),
                                           std::string(target.substr(0, target.find('?'))));
    if (!match.ok() || !match->streaming) return false;
    soft_deadline_.cancel();
    ++requests_read_;
    stream_parser_.emplace(std::move(*parser_));
    parser_.reset();
    Exchange exchange = exchange_for(stream_parser_->get());
    exchange.route = match->path_template;
    Request request = request_for(stream_parser_->get());
    stream_id_ = exchange.id;
    pending_.push_back(std::move(exchange));
    auto work = net::prefer(stream_.get_executor(), net::execution::outstanding_work.tracked);
    const bool accepted = environment_.blocking_pool.try_submit([self = this->shared_from_this(), work,
                                                                 match = std::move(match).value(),
                                                                 request = std::move(request)]() mutable {
      auto start = std::make_shared<BodyStart>(self->environment_.router.start_body(match, request));
      net::post(work, [self = std::move(self), start] { self->on_body_start(std::move(*start)); });
    });
    if (!accepted) {
      end_stream_early();
      refuse_busy(stream_id_);
    }
    return true;
  }

  // Ends a streaming request before its body was read: the connection closes
  // after the answer (unless the body was empty).
  void end_stream_early() {
    reading_ = false;
    soft_deadline_.cancel();
    const bool body_read = stream_parser_ && stream_parser_->is_done();
    stream_parser_.reset();
    sink_.reset();
    if (body_read) return;
    closing_ = true;
    for (auto& exchange : pending_) {
      if (exchange.id == stream_id_) exchange.keep_alive = false;
    }
  }

  void on_body_start(BodyStart start) {
    if (closed_) {
      if (auto* sink = std::get_if<std::unique_ptr<BodySink>>(&start)) (*sink)->abort();
      return;
    }
    if (auto* answer = std::get_if<Response>(&start)) {
      end_stream_early();
      complete(stream_id_, std::move(*answer));
      read_next();
      return;
    }
    sink_ = std::shared_ptr<BodySink>(std::move(std::get<std::unique_ptr<BodySink>>(start)));
    body_piece_.resize(kBodyPieceSize);
    read_body_piece();
  }

  void read_body_piece() {
    if (stream_parser_->is_done()) return finish_body();
    auto& body = stream_parser_->get().body();
    body.data = body_piece_.data();
    body.size = body_piece_.size();
    body.more = true;
    phase_ = Phase::body;
    arm_read_deadline(environment_.timeouts.body_read);
    http::async_read(stream_, buffer_, *stream_parser_,
                     [self = this->shared_from_this()](beast::error_code error, std::size_t) {
                       self->on_body_piece(error);
                     });
  }

  void on_body_piece(beast::error_code error) {
    if (error == http::error::need_buffer) error = {};
    const std::size_t filled = body_piece_.size() - stream_parser_->get().body().size;
    if (error || closed_) {
      // The peer left, timed out or sent a malformed body: the sink gets what
      // arrived and keeps what its rules allow; nobody is left to answer.
      if (sink_ && filled > 0) {
        auto sink = std::move(sink_);
        auto piece = std::make_shared<std::string>(body_piece_.data(), filled);
        if (!environment_.blocking_pool.try_submit([sink, piece] {
              if (!sink->write(*piece)) sink->abort();
            })) {
          sink->abort();
        }
      }
      abort_sink();
      reading_ = false;
      stream_parser_.reset();
      close_now();
      return;
    }
    if (filled == 0) return read_body_piece();
    soft_deadline_.cancel();
    auto work = net::prefer(stream_.get_executor(), net::execution::outstanding_work.tracked);
    const bool accepted = environment_.blocking_pool.try_submit(
        [self = this->shared_from_this(), work, sink = sink_, filled]() mutable {
          auto answer = std::make_shared<std::optional<Response>>(
              sink->write(std::string_view(self->body_piece_.data(), filled)));
          net::post(work, [self = std::move(self), answer] { self->on_piece_written(std::move(*answer)); });
        });
    if (!accepted) {
      abort_sink();
      end_stream_early();
      refuse_busy(stream_id_);
    }
  }

  void on_piece_written(std::optional<Response> answer) {
    if (closed_) {
      abort_sink();
      return;
    }
    if (answer) {
      sink_.reset();  // the sink answered: it has cleaned up after itself
      end_stream_early();
      complete(stream_id_, std::move(*answer));
      return;
    }
    read_body_piece();
  }

  void finish_body() {
    reading_ = false;
    soft_deadline_.cancel();
    stream_parser_.reset();
    auto work = net::prefer(stream_.get_executor(), net::execution::outstanding_work.tracked);
    const std::uint64_t id = stream_id_;
    auto sink = std::move(sink_);
    const bool accepted = environment_.blocking_pool.try_submit([self = this->shared_from_this(), work, sink,
                                                                 id]() mutable {
      auto response = std::make_shared<Response>(sink->finish());
      net::post(work, [self = std::move(self), response, id] { self->complete(id, std::move(*response)); });
    });
    if (!accepted) {
      sink->abort();
      refuse_busy(id);
    }
    read_next();
  }

  // Aborts the sink on the pool (it may block), or here when the pool is full.
  void abort_sink() {
    if (!sink_) return;
    auto sink = std::move(sink_);
    if (!environment_.blocking_pool.try_submit([sink] { sink->abort(); })) sink->abort();
  }

  void run_blocking(std::uint64_t id, Router::Match match, Request request) {
    // The tracked executor keeps io_context::run() from returning while the
    // job runs, so its answer always finds a running strand.
    auto work = net::prefer(stream_.get_executor(), net::execution::outstanding_work.tracked);
    if (match.asynchronous) {
      const bool accepted = environment_.blocking_pool.try_submit(
          [self = this->shared_from_this(), match = std::move(match), request = std::move(request),
           respond = responder(id)]() mutable {
            self->environment_.router.dispatch_async(match, request, std::move(respond));
          });
      if (!accepted) refuse_busy(id);
      return;
    }
    const bool accepted = environment_.blocking_pool.try_submit([self = this->shared_from_this(), id, work,
                                                                 match = std::move(match),
                                                                 request = std::move(request)]() mutable {
      Response response = self->environment_.router.dispatch(match, request);
      net::post(work, [self = std::move(self), id, response = std::move(response)]() mutable {
        self->complete(id, std::move(response));
      });
    });
    if (!accepted) refuse_busy(id);
  }

  void refuse_busy(std::uint64_t id) {
    environment_.metrics.busy_refusals.increment();
    Response response = error_response(503, transport_error::kServerBusy, "the server is busy; retry later");
    response.headers.emplace_back("Retry-After", "1");
    complete(id, std::move(response));
  }

  // Completes exchange `id` on this connection's strand, from any thread.
  // The tracked executor keeps io_context::run() from returning while an
  // asynchronous handler holds it: whoever parks a request must answer it
  // before the server's drain deadline (HttpServer::Options::on_drain).
  Router::Responder responder(std::uint64_t id) {
    auto work = net::prefer(stream_.get_executor(), net::execution::outstanding_work.tracked);
    return [self = this->shared_from_this(), id, work](Response response) {
      net::post(work, [self, id, response = std::move(response)]() mutable {
        self->complete(id, std::move(response));
      });
    };
  }

  // An error from the transport itself ends the connection after its answer.
  void answer_transport_error(unsigned status, std::string_view code, std::string_view message) {
    Exchange exchange;
    exchange.id = next_exchange_id_++;
    exchange.started = header_started_;
    exchange.route = "transport";
    exchange.keep_alive = false;
    if (parser_ && parser_->get().method() != http::verb::unknown) {
      exchange.method = std::string(method_label(parser_->get().method_string()));
    }
    pending_.push_back(std::move(exchange));
    complete(pending_.back().id, error_response(status, code, message));
  }

  template <class Body>
  static void fill_header(http::response<Body>& message, Response& response) {
    message.set(http::field::content_type, response.content_type);
    message.set(http::field::cache_control, "no-store");
    message.set("X-Content-Type-Options", "nosniff");
    for (auto& [name, value] : response.headers) {
      // A handler may make its answer cacheable (GET /v1/schema); no-store otherwise.
      if (beast::iequals(name, "Cache-Control")) {
        message.set(http::field::cache_control, value);
      } else {
        message.insert(name, value);
      }
    }
  }

  // The file of a Response::file, opened and positioned; nullptr (and the
  // answer becomes 500) when it cannot be read.
  static std::unique_ptr<http::response<FileRangeBody>> file_message(Response& response, unsigned version) {
    auto message =
        std::make_unique<http::response<FileRangeBody>>(static_cast<http::status>(response.status), version);
    beast::error_code error;
    auto& body = message->body();
    body.file.open(response.file->path.c_str(), beast::file_mode::scan, error);
    if (!error) body.file.seek(response.file->offset, error);
    if (error) return nullptr;
    body.length = response.file->length;
    fill_header(*message, response);
    return message;
  }

  void complete(std::uint64_t id, Response response) {
    if (closed_) return;
    for (auto& exchange : pending_) {
      if (exchange.id != id) continue;
      if (response.file) {
        exchange.file_response = file_message(response, exchange.version);
        if (exchange.file_response) {
          exchange.file_response->keep_alive(exchange.keep_alive);
          exchange.file_response->prepare_payload();
          break;
        }
        environment_.logger.error("response_file_unreadable", {{"route", exchange.route}});
        response =
            error_response(500, transport_error::kInternalError, "the server failed to read the content");
      }
      auto message = std::make_unique<http::response<http::string_body>>(
          static_cast<http::status>(response.status), exchange.version);
      fill_header(*message, response);
      message->body() = std::move(response.body);
      message->keep_alive(exchange.keep_alive);
      message->prepare_payload();
      if (exchange.head) message->body().clear();  // Content-Length still says what GET would send
      exchange.response = std::move(message);
      break;
    }
    write_next();
  }

  // --- writes --------------------------------------------------------------

  void write_next() {
    if (writing_ || closed_ || pending_.empty()) return;
    Exchange& front = pending_.front();
    if (!front.response && !front.file_response) return;
    writing_ = true;
    // Draining: the last answer owed closes the connection, unless another
    // request is already half-read (it will get the Connection: close).
    if (draining_ && pending_.size() == 1 && !(reading_ && phase_ != Phase::idle)) {
      if (front.response) front.response->keep_alive(false);
      if (front.file_response) front.file_response->keep_alive(false);
    }
    if constexpr (kTls) {
      // Only the write direction's timer: a read may be outstanding.
      beast::get_lowest_layer(stream_).expires_after(environment_.timeouts.write);
    }
    auto on_written = [self = this->shared_from_this()](beast::error_code error, std::size_t) {
      self->on_write(error);
    };
    if (front.file_response) {
      http::async_write(stream_, *front.file_response, std::move(on_written));
    } else {
      http::async_write(stream_, *front.response, std::move(on_written));
    }
  }

  void on_write(beast::error_code error) {
    writing_ = false;
    Exchange done = std::move(pending_.front());
    pending_.pop_front();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - done.started).count();
    const unsigned status = done.response ? done.response->result_int() : done.file_response->result_int();
    const bool keep_alive = done.response ? done.response->keep_alive() : done.file_response->keep_alive();
    environment_.metrics.record_request(done.route, done.method, status, seconds);
    if (error) {
      close_now();
      return;
    }
    if (!keep_alive) closing_ = true;
    write_next();
    read_next();
    finish_if_done();
  }

  // --- closing -------------------------------------------------------------

  void on_drain() {
    draining_ = true;
    if (closed_ || handshaking_) return;  // read_next() sees draining_ after the handshake
    if (reading_) {
      // Idle between requests: nothing in flight to finish. A request being
      // read is finished and answered with Connection: close.
      if (phase_ == Phase::idle) cancel_io_for_drain();
      return;
    }
    // Bytes of a next request already received are in flight too: read_next()
    // reads them once the answers owed are written.
    if (buffer_.size() == 0) closing_ = true;
    finish_if_done();
  }

  void cancel_io_for_drain() {
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).socket().cancel();
    } else {
      stream_.close();
    }
  }

  // Closes once nothing is read, owed or being written.
  void finish_if_done() {
    if (!closing_ || closed_ || reading_ || writing_ || !pending_.empty() || shutting_down_) return;
    shutting_down_ = true;
    soft_deadline_.cancel();
    if constexpr (kTls) {
      set_hard_deadline(std::min<std::chrono::milliseconds>(environment_.timeouts.write, kShutdownTimeout));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) { self->close_now(); });
    } else {
      close_now();
    }
  }

  std::shared_ptr<const void> anchor_;  // before stream_: destroyed after it
  Stream stream_;
  SessionEnvironment& environment_;
  const SessionMode mode_;
  net::steady_timer soft_deadline_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::request_parser<http::buffer_body>> stream_parser_;  // a streaming route's body
  std::shared_ptr<BodySink> sink_;                                        // while a streaming body is read
  std::vector<char> body_piece_;  // the piece being read; the sink reads it on the pool
  std::uint64_t stream_id_ = 0;   // the exchange of the streaming request
  std::deque<Exchange> pending_;  // answers owed, in request order
  std::chrono::steady_clock::time_point header_started_ = std::chrono::steady_clock::now();
  std::uint64_t tracker_id_ = 0;
  std::uint64_t next_exchange_id_ = 1;
  std::uint64_t requests_read_ = 0;
  std::uint64_t deadline_generation_ = 0;
  Phase phase_ = Phase::idle;
  bool handshaking_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool read_timed_out_ = false;
  bool closing_ = false;  // read no more; close once every answer is written
  bool shutting_down_ = false;
  bool closed_ = false;
  bool draining_ = false;
};

}  // namespace casefile::server::internal
