#include "device/https_client.hpp"

#include <fcntl.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>

#include "base/file_descriptor.hpp"
#include "crypto/constant_time.hpp"
#include "crypto/tls_context.hpp"

namespace casefile::device {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using Stream = net::ssl::stream<beast::tcp_stream>;

namespace {

constexpr std::string_view kUserAgent = "casefile-device/1";
// How much of a body file or response file is in memory at once.
constexpr std::size_t kFilePieceBytes = 256 * 1024;
// How much of a downloaded attachment is in memory at once (dev-att, issue #8).
constexpr std::size_t kResponsePieceBytes = 1024 * 1024;

bool equal_ignoring_case(std::string_view left, std::string_view right) {
  if (left.size() != right.size()) return false;
  for (std::size_t i = 0; i < left.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(left[i])) !=
        std::tolower(static_cast<unsigned char>(right[i])))
      return false;
  }
  return true;
}

bool is_connection_loss(const beast::error_code& error) {
  return error == net::error::eof || error == net::ssl::error::stream_truncated ||
         error == net::error::connection_reset || error == net::error::connection_aborted ||
         error == net::error::broken_pipe || error == http::error::end_of_stream ||
         error == http::error::partial_message || error == net::error::operation_aborted;
}

bool is_timeout(const beast::error_code& error) {
  return error == beast::error::timeout || error == net::error::timed_out;
}

Error transport_error(const beast::error_code& error, std::string_view step) {
  if (is_timeout(error)) return make_error("timeout", std::string(step) + " timed out");
  if (is_connection_loss(error))
    return make_error("connection_lost", std::string(step) + ": " + error.message());
  return make_error("connection_lost", std::string(step) + " failed: " + error.message());
}

}  // namespace

struct HttpsClient::Connection {
  Connection(ServerEndpoint server, HttpsClientOptions options, net::ssl::context context)
      : server(std::move(server)), options(options), tls(std::move(context)) {}

  // Starts an asynchronous operation and runs the io_context until its
  // handler ran. Beast's stream timeouts bound the steps on the socket; a
  // timer at `timeout` (plus a second) bounds name resolution too and cancels
  // whatever is still pending. io_context::run() blocks in the reactor, so a
  // wait costs no CPU (run_one_until polls, which starves a server sharing
  // the cores).
  template <class Start>
  beast::error_code run(Start start, std::chrono::milliseconds timeout) {
    std::optional<beast::error_code> result;
    bool timed_out = false;
    net::steady_timer deadline(io, timeout + std::chrono::seconds(1));
    deadline.async_wait([&](beast::error_code error) {
      if (error || result) return;  // cancelled: the operation finished first
      timed_out = true;
      resolver.cancel();
      if (stream) beast::get_lowest_layer(*stream).cancel();
    });
    start([&result, &deadline](beast::error_code error, auto&&...) {
      result = error;
      deadline.cancel();
    });
    io.restart();
    io.run();  // until both handlers have run
    if (timed_out || !result) return net::error::timed_out;
    return *result;
  }

  // Opens under the pinned key, or under the announced next key when the
  // server presents that one (docs/device-sync.md, "TLS pins").
  Status open() {
    under_next_pin = false;
    Status opened = open_with(tls);
    if (!opened.ok() && opened.error().code == "pin_mismatch" && next_tls) {
      opened = open_with(*next_tls);
      if (opened.ok()) under_next_pin = true;
    }
    return opened;
  }

  Status open_with(net::ssl::context& context) {
    close();
    stream.emplace(io, context);
    tcp::resolver::results_type endpoints;
    auto resolved = run(
        [&](auto handler) {
          resolver.async_resolve(
              server.host, std::to_string(server.port),
              [&endpoints, handler](beast::error_code error, tcp::resolver::results_type found) {
                endpoints = std::move(found);
                handler(error);
              });
        },
        options.connect_timeout);
    if (resolved) {
      close();
      return make_error(is_timeout(resolved) ? "timeout" : "connect_failed",
                        "cannot resolve " + server.host + ": " + resolved.message());
    }
    beast::get_lowest_layer(*stream).expires_after(options.connect_timeout);
    auto connected = run(
        [&](auto handler) {
          beast::get_lowest_layer(*stream).async_connect(
              endpoints, [handler](beast::error_code error, const tcp::endpoint&) { handler(error); });
        },
        options.connect_timeout);
    if (connected) {
      close();
      return make_error(is_timeout(connected) ? "timeout" : "connect_failed",
                        "cannot connect to " + server.host + ":" + std::to_string(server.port) + ": " +
                            connected.message());
    }
    // Requests are written whole; waiting for ACKs of their last segment
    // (Nagle with delayed ACK) would only add latency.
    beast::error_code no_delay_error;
    beast::get_lowest_layer(*stream).socket().set_option(tcp::no_delay(true), no_delay_error);
    // SNI carries a host name only, never an address literal (RFC 6066 §3).
    beast::error_code address_error;
    (void)net::ip::make_address(server.host, address_error);
    if (address_error && SSL_set_tlsext_host_name(stream->native_handle(), server.host.c_str()) != 1) {
      close();
      return make_error("tls_failed", "cannot set the TLS server name");
    }
    beast::get_lowest_layer(*stream).expires_after(options.handshake_timeout);
    auto shaken = run([&](auto handler) { stream->async_handshake(net::ssl::stream_base::client, handler); },
                      options.handshake_timeout);
    if (shaken) {
      const long verdict = SSL_get_verify_result(stream->native_handle());
      close();
      if (verdict == X509_V_ERR_CERT_REJECTED) {
        return make_error("pin_mismatch",
                          "the server's TLS key is not the pinned one (if its certificate was rotated, "
                          "re-pin: casefile-admin tls repin-code, then casefile-device repin)");
      }
      if (is_timeout(shaken)) return make_error("timeout", "the TLS handshake timed out");
      return make_error("tls_failed", "TLS handshake failed: " + shaken.message());
    }
    ++handshakes;
    reused = false;
    return ok_status();
  }

  void close() {
    if (stream) {
      beast::error_code ignored;
      beast::get_lowest_layer(*stream).socket().close(ignored);
      stream.reset();
    }
    buffer.clear();
  }

  // Method, target, Host, User-Agent and the request's headers.
  template <class Body>
  void start_message(http::request<Body>& message, const HttpsRequest& request) const {
    message.method_string(request.method);
    message.target(request.target);
    message.version(11);
    const bool ipv6 = server.host.find(':') != std::string::npos;
    message.set(http::field::host,
                (ipv6 ? "[" + server.host + "]" : server.host) + ":" + std::to_string(server.port));
    message.set(http::field::user_agent, kUserAgent);
    for (const auto& [name, value] : request.headers) message.set(name, value);
  }

  // One exchange on the open connection. `answered` tells whether any byte of
  // a response arrived (then the request must not be sent again blindly).
  Result<HttpsResponse> exchange(const HttpsRequest& request, bool& answered) {
    if (request.body_file || request.response_file) return exchange_with_files(request, answered);
    answered = false;
    http::request<http::string_body> message;
    start_message(message, request);
    if (!request.body.empty()) message.set(http::field::content_type, "application/json");
    message.body() = request.body;
    message.prepare_payload();
    message.keep_alive(true);

    beast::get_lowest_layer(*stream).expires_after(options.write_timeout);
    auto written =
        run([&](auto handler) { http::async_write(*stream, message, handler); }, options.write_timeout);
    if (written) return transport_error(written, "sending the request");

    const auto read_timeout = options.read_timeout + request.wait;
    http::response_parser<http::string_body> parser;
    // A HEAD answer's Content-Length describes a body that is never sent.
    parser.skip(request.method == "HEAD");
    parser.body_limit(options.response_body_limit);
    parser.header_limit(static_cast<std::uint32_t>(options.response_header_limit));
    beast::get_lowest_layer(*stream).expires_after(read_timeout);
    auto read = run([&](auto handler) { http::async_read(*stream, buffer, parser, handler); }, read_timeout);
    answered = parser.got_some();
    if (read) return read_error(read);
    auto response = parser.release();
    HttpsResponse result;
    result.status = response.result_int();
    for (const auto& field : response) {
      const auto name = field.name_string();
      const auto value = field.value();
      result.headers.emplace_back(std::string(name.data(), name.size()),
                                  std::string(value.data(), value.size()));
    }
    result.body = std::move(response.body());
    if (!response.keep_alive()) close();
    return result;
  }

  // exchange() for requests with a body file or a response file: the body
  // goes out piece by piece from the file, and a 2xx answer's body into the
  // response file piece by piece (memory flat in the file's size).
  Result<HttpsResponse> exchange_with_files(const HttpsRequest& request, bool& answered) {
    answered = false;
    http::request<http::empty_body> message;
    start_message(message, request);
    message.content_length(request.body_file ? request.body_file->length : 0);
    message.keep_alive(true);

    std::optional<FileDescriptor> body_file;
    if (request.body_file) {
      body_file.emplace(::open(request.body_file->path.c_str(), O_RDONLY | O_CLOEXEC));
      if (body_file->get() < 0) return make_error("io_error", "cannot open the request body file");
    }
    http::request_serializer<http::empty_body> serializer(message);
    beast::get_lowest_layer(*stream).expires_after(options.write_timeout);
    auto written = run([&](auto handler) { http::async_write_header(*stream, serializer, handler); },
                       options.write_timeout);
    if (written) return transport_error(written, "sending the request");
    if (request.body_file) {
      std::vector<std::uint8_t> piece(kFilePieceBytes);
      std::uint64_t sent = 0;
      while (sent < request.body_file->length) {
        const auto want =
            static_cast<std::size_t>(std::min<std::uint64_t>(piece.size(), request.body_file->length - sent));
        const ssize_t got = ::pread(body_file->get(), piece.data(), want,
                                    static_cast<off_t>(request.body_file->offset + sent));
        if (got <= 0) return make_error("io_error", "cannot read the request body file");
        beast::get_lowest_layer(*stream).expires_after(options.write_timeout);
        written = run(
            [&](auto handler) {
              net::async_write(*stream, net::buffer(piece.data(), static_cast<std::size_t>(got)), handler);
            },
            options.write_timeout);
        if (written) return transport_error(written, "sending the request body");
        sent += static_cast<std::uint64_t>(got);
      }
    }

    const auto read_timeout = options.read_timeout + request.wait;
    http::response_parser<http::buffer_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.response_header_limit));
    // Checked against Content-Length with the header; an answer kept in
    // memory is held to response_body_limit below.
    parser.body_limit(request.response_file
                          ? std::max<std::uint64_t>(request.response_file_limit, options.response_body_limit)
                          : options.response_body_limit);
    beast::get_lowest_layer(*stream).expires_after(read_timeout);
    auto read =
        run([&](auto handler) { http::async_read_header(*stream, buffer, parser, handler); }, read_timeout);
    answered = parser.got_some();
    if (read) return read_error(read);
    HttpsResponse result;
    result.status = parser.get().result_int();
    for (const auto& field : parser.get()) {
      const auto name = field.name_string();
      const auto value = field.value();
      result.headers.emplace_back(std::string(name.data(), name.size()),
                                  std::string(value.data(), value.size()));
    }
    const bool into_file = request.response_file && result.status / 100 == 2;
    std::optional<FileDescriptor> file;
    std::uint64_t position = 0;
    if (into_file) {
      file.emplace(::open(request.response_file->c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
      if (file->get() < 0) return make_error("io_error", "cannot open the response file");
      position = result.status == 206 ? request.response_file_offset : 0;
    }
    // --- attachment download body (dev-att, issue #8) ---
    // A file answer of known length is read straight from the TLS stream in
    // large pieces, after the bytes the header read already buffered:
    // Beast's parser would run its read chain once per TLS record, and that
    // chain, not TLS, bounded the download (docs/benchmarks.md, "Attachments").
    if (into_file && parser.content_length()) {
      std::uint64_t remaining = *parser.content_length();
      if (remaining > request.response_file_limit)
        return make_error("response_too_large", "the response is over the client's limit");
      std::vector<char> piece(kResponsePieceBytes);
      while (remaining > 0) {
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(piece.size(), remaining));
        std::size_t got = net::buffer_copy(net::buffer(piece.data(), want), buffer.data());
        buffer.consume(got);
        if (got == 0) {
          beast::get_lowest_layer(*stream).expires_after(read_timeout);
          read =
              run([&](auto handler) { net::async_read(*stream, net::buffer(piece.data(), want), handler); },
                  read_timeout);
          if (read) return read_error(read);
          got = want;
        }
        if (!write_all_at(file->get(), piece.data(), got, position))
          return make_error("io_error", "cannot write the response file");
        position += got;
        result.file_bytes += got;
        remaining -= got;
      }
      return finish_response_file(result, *file, position, parser.get().keep_alive());
    }
    // --- end of attachment download body ---
    std::vector<char> piece(kFilePieceBytes);
    while (!parser.is_done()) {
      parser.get().body().data = piece.data();
      parser.get().body().size = piece.size();
      beast::get_lowest_layer(*stream).expires_after(read_timeout);
      read = run([&](auto handler) { http::async_read(*stream, buffer, parser, handler); }, read_timeout);
      if (read == http::error::need_buffer) read = {};
      const std::size_t got = piece.size() - parser.get().body().size;
      if (got > 0 && into_file) {
        if (!write_all_at(file->get(), piece.data(), got, position))
          return make_error("io_error", "cannot write the response file");
        position += got;
        result.file_bytes += got;
        if (result.file_bytes > request.response_file_limit)
          return make_error("response_too_large", "the response is over the client's limit");
      } else if (got > 0) {
        result.body.append(piece.data(), got);
        if (result.body.size() > options.response_body_limit)
          return make_error("response_too_large", "the response is over the client's limit");
      }
      if (read) return read_error(read);
    }
    if (into_file) return finish_response_file(result, *file, position, parser.get().keep_alive());
    if (!parser.get().keep_alive()) close();
    return result;
  }

  // A 200 is the whole entity: the file is cut to it. Closes the connection
  // unless the answer kept it alive.
  Result<HttpsResponse> finish_response_file(HttpsResponse& result, FileDescriptor& file,
                                             std::uint64_t position, bool keep_alive) {
    if (result.status == 200 && ::ftruncate(file.get(), static_cast<off_t>(position)) != 0)
      return make_error("io_error", "cannot cut the response file");
    if (!file.close()) return make_error("io_error", "cannot write the response file");
    if (!keep_alive) close();
    return std::move(result);
  }

  static bool write_all_at(int descriptor, const char* data, std::size_t size, std::uint64_t position) {
    while (size > 0) {
      const ssize_t wrote = ::pwrite(descriptor, data, size, static_cast<off_t>(position));
      if (wrote <= 0) return false;
      data += wrote;
      size -= static_cast<std::size_t>(wrote);
      position += static_cast<std::uint64_t>(wrote);
    }
    return true;
  }

  static Error read_error(const beast::error_code& read) {
    if (read == http::error::body_limit || read == http::error::header_limit ||
        read == http::error::buffer_overflow) {
      return make_error("response_too_large", "the response is over the client's limit");
    }
    if (is_timeout(read) || is_connection_loss(read)) return transport_error(read, "reading the response");
    return make_error("bad_response", "the response is not valid HTTP/1.1: " + read.message());
  }

  ServerEndpoint server;
  HttpsClientOptions options;
  net::io_context io;
  net::ssl::context tls;                      // trusts server.pin
  std::optional<net::ssl::context> next_tls;  // trusts next_pin
  std::optional<crypto::Sha256Digest> next_pin;
  bool under_next_pin = false;  // the open connection is under next_pin
  tcp::resolver resolver{io};
  std::optional<Stream> stream;
  beast::flat_buffer buffer;
  std::uint64_t handshakes = 0;
  bool reused = false;  // the open connection already carried a request
};

std::optional<std::string> HttpsResponse::header(std::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (equal_ignoring_case(field, name)) return value;
  }
  return std::nullopt;
}

Result<HttpsClient> HttpsClient::create(const ServerEndpoint& server, const HttpsClientOptions& options) {
  auto handle = crypto::make_pinned_client_tls_context(server.pin);
  if (!handle.ok()) return make_error("tls_failed", handle.error().message);
  return HttpsClient(std::make_unique<Connection>(server, options, net::ssl::context(handle->release())));
}

namespace {

Result<net::ssl::context> pinned_context(const crypto::Sha256Digest& pin) {
  auto handle = crypto::make_pinned_client_tls_context(pin);
  if (!handle.ok()) return make_error("tls_failed", handle.error().message);
  return net::ssl::context(handle->release());
}

}  // namespace

Status HttpsClient::set_pins(const crypto::Sha256Digest& pin,
                             const std::optional<crypto::Sha256Digest>& next_pin) {
  Connection& connection = *connection_;
  const bool same_pin = crypto::constant_time_equal(pin, connection.server.pin);
  const bool same_next = next_pin.has_value() == connection.next_pin.has_value() &&
                         (!next_pin || crypto::constant_time_equal(*next_pin, *connection.next_pin));
  if (same_pin && same_next) return ok_status();
  std::optional<net::ssl::context> next_context;
  if (next_pin) {
    auto made = pinned_context(*next_pin);
    if (!made.ok()) return std::move(made).error();
    next_context.emplace(std::move(made).value());
  }
  if (!same_pin) {
    auto made = pinned_context(pin);
    if (!made.ok()) return std::move(made).error();
    // An open connection under the old pin is dropped: every later one is checked against the new.
    connection.close();
    connection.tls = std::move(made).value();
    connection.server.pin = pin;
  }
  connection.next_tls = std::move(next_context);
  connection.next_pin = next_pin;
  if (!same_pin) connection.under_next_pin = false;
  return ok_status();
}

bool HttpsClient::connected_under_next_pin() const {
  return connection_->stream.has_value() && connection_->under_next_pin;
}

HttpsClient::HttpsClient(std::unique_ptr<Connection> connection) : connection_(std::move(connection)) {}
HttpsClient::HttpsClient(HttpsClient&&) noexcept = default;
HttpsClient& HttpsClient::operator=(HttpsClient&&) noexcept = default;
HttpsClient::~HttpsClient() = default;

Result<HttpsResponse> HttpsClient::send(const HttpsRequest& request) {
  Connection& connection = *connection_;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool was_reused = connection.stream.has_value() && connection.reused;
    if (!connection.stream) CASEFILE_RETURN_IF_ERROR(connection.open());
    bool answered = false;
    auto response = connection.exchange(request, answered);
    if (response.ok()) {
      connection.reused = true;
      return response;
    }
    connection.close();
    // A keep-alive connection the server closed while idle: send again once.
    if (!(was_reused && !answered && response.error().code == "connection_lost")) return response;
  }
  return make_error("connection_lost", "the connection dropped twice");
}

void HttpsClient::disconnect() { connection_->close(); }

bool HttpsClient::connected() const { return connection_->stream.has_value(); }

std::uint64_t HttpsClient::connections_opened() const { return connection_->handshakes; }

}  // namespace casefile::device
