#include "tests/support/tls_test_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <stdexcept>

#include "crypto/tls_context.hpp"

namespace casefile::server::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

namespace {

tcp::endpoint loopback(unsigned short port) { return {net::ip::make_address("127.0.0.1"), port}; }

// Runs `io` until `done` holds or nothing is left to run.
template <class Done>
void run_until(net::io_context& io, Done done) {
  io.restart();
  while (!done() && io.run_one() > 0) {
  }
}

}  // namespace

net::ssl::context pinned_client_context(const crypto::Sha256Digest& pin) {
  auto handle = crypto::make_pinned_client_tls_context(pin);
  if (!handle.ok()) throw std::runtime_error(handle.error().message);
  return net::ssl::context(handle->release());
}

struct TlsClient::Connection {
  Connection(net::ssl::context& context, unsigned short port) : stream(io, context), port(port) {}

  // Starts one operation with a handler that records its error, and runs the
  // io_context until it has finished (or the deadline cancelled it).
  template <class Start>
  ErrorCode run(Start start) {
    std::optional<ErrorCode> result;
    beast::get_lowest_layer(stream).expires_after(kTestDeadline);
    start([&result](ErrorCode error, auto&&...) { result = error; });
    run_until(io, [&] { return result.has_value(); });
    return result.value_or(net::error::timed_out);
  }

  net::io_context io;
  net::ssl::stream<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  unsigned short port;
  std::optional<ErrorCode> started_read_result;
  bool read_started = false;
};

TlsClient::TlsClient(net::ssl::context& context, unsigned short port)
    : connection_(std::make_unique<Connection>(context, port)) {}

TlsClient::~TlsClient() = default;

SSL* TlsClient::native() { return connection_->stream.native_handle(); }

ErrorCode TlsClient::connect() {
  ErrorCode error;
  auto& lowest = beast::get_lowest_layer(connection_->stream);
  lowest.expires_after(kTestDeadline);
  lowest.socket().connect(loopback(connection_->port), error);
  if (error) return error;
  return connection_->run(
      [&](auto handler) { connection_->stream.async_handshake(net::ssl::stream_base::client, handler); });
}

ErrorCode TlsClient::write(std::string_view bytes) {
  return connection_->run(
      [&](auto handler) { net::async_write(connection_->stream, net::buffer(bytes), handler); });
}

ErrorCode TlsClient::read(HttpResponse& response) {
  response = {};
  return connection_->run(
      [&](auto handler) { http::async_read(connection_->stream, connection_->buffer, response, handler); });
}

ErrorCode TlsClient::read_head(HttpResponse& response) {
  http::response_parser<http::string_body> parser;
  parser.skip(true);
  const auto error = connection_->run(
      [&](auto handler) { http::async_read(connection_->stream, connection_->buffer, parser, handler); });
  if (!error) response = parser.release();
  return error;
}

ErrorCode TlsClient::read_header(HttpResponse& response) {
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  const auto error = connection_->run(
      [&](auto handler) { http::async_read_header(connection_->stream, connection_->buffer, parser, handler); });
  if (!error) response = parser.get();
  return error;
}

HttpResponse TlsClient::request(const std::string& method, const std::string& target,
                                const std::string& extra) {
  if (auto error = write(method + " " + target + " HTTP/1.1\r\nHost: casefiled\r\n" + extra + "\r\n")) {
    throw std::runtime_error("write failed: " + error.message());
  }
  HttpResponse response;
  if (auto error = read(response)) throw std::runtime_error("read failed: " + error.message());
  return response;
}

ErrorCode TlsClient::shutdown() {
  return connection_->run([&](auto handler) { connection_->stream.async_shutdown(handler); });
}

void TlsClient::shutdown_send() {
  ErrorCode ignored;
  beast::get_lowest_layer(connection_->stream).socket().shutdown(tcp::socket::shutdown_send, ignored);
}

bool TlsClient::closed_by_server() {
  char byte = 0;
  const auto error = connection_->run(
      [&](auto handler) { connection_->stream.async_read_some(net::buffer(&byte, 1), handler); });
  return error == net::error::eof || error == net::ssl::error::stream_truncated ||
         error == net::error::connection_reset;
}

std::size_t TlsClient::read_some(char* data, std::size_t size, ErrorCode& error) {
  if (connection_->buffer.size() > 0) {
    const std::size_t copied = net::buffer_copy(net::buffer(data, size), connection_->buffer.data());
    connection_->buffer.consume(copied);
    error = {};
    return copied;
  }
  return connection_->stream.read_some(net::buffer(data, size), error);
}

std::string TlsClient::buffered_text(std::size_t limit) const {
  const auto data = connection_->buffer.data();
  return std::string(static_cast<const char*>(data.data()), std::min(data.size(), limit));
}

void TlsClient::start_read(HttpResponse& response) {
  response = {};
  connection_->started_read_result.reset();
  connection_->read_started = true;
  beast::get_lowest_layer(connection_->stream).expires_after(kTestDeadline);
  http::async_read(connection_->stream, connection_->buffer, response,
                   [this](ErrorCode error, std::size_t) { connection_->started_read_result = error; });
}

std::optional<ErrorCode> TlsClient::read_result() const { return connection_->started_read_result; }

void TlsClient::run_for(std::chrono::milliseconds duration) {
  connection_->io.restart();
  connection_->io.run_for(duration);
}

ErrorCode TlsClient::finish_read() {
  if (!connection_->read_started) throw std::logic_error("finish_read without start_read");
  run_until(connection_->io, [&] { return connection_->started_read_result.has_value(); });
  connection_->read_started = false;
  return connection_->started_read_result.value_or(net::error::timed_out);
}

ErrorCode wait_for_plain_close(unsigned short port) {
  net::io_context io;
  beast::tcp_stream socket(io);
  socket.expires_after(kTestDeadline);
  ErrorCode error;
  socket.socket().connect(loopback(port), error);
  if (error) return error;
  char byte = 0;
  std::optional<ErrorCode> result;
  socket.async_read_some(net::buffer(&byte, 1),
                         [&](ErrorCode read_error, std::size_t) { result = read_error; });
  run_until(io, [&] { return result.has_value(); });
  return result.value_or(net::error::timed_out);
}

ErrorCode plain_connect_error(unsigned short port) {
  net::io_context io;
  tcp::socket probe(io);
  ErrorCode error;
  probe.connect(loopback(port), error);
  return error;
}

}  // namespace casefile::server::testing
