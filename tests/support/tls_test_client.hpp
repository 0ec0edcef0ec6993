// The tests' TLS client of casefiled: one connection to 127.0.0.1 that pins
// the server's key, every operation bounded by kTestDeadline. Compiled once,
// in casefile_test_https (tests/support/tls_test_client.cpp): a test file that
// includes this header instantiates none of Beast's TLS stream templates
// (docs/testing-e2e.md, "Build time of make test").
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/hash.hpp"

namespace casefile::server::testing {

using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;
using ErrorCode = boost::system::error_code;

// Bounds every wait of a test, so a broken server fails the test instead of
// hanging it. Generous: ASan builds on shared machines are slow.
inline constexpr std::chrono::seconds kTestDeadline{60};

// A client TLS context that accepts only the server key whose SPKI SHA-256 is
// `pin`. Throws when OpenSSL refuses.
boost::asio::ssl::context pinned_client_context(const crypto::Sha256Digest& pin);

// One TLS connection, driven synchronously. Every operation returns the
// transport error (empty on success) rather than throwing, except request().
class TlsClient {
 public:
  TlsClient(boost::asio::ssl::context& context, unsigned short port);
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  SSL* native();

  // TCP connect and TLS handshake.
  ErrorCode connect();
  ErrorCode write(std::string_view bytes);
  // One response; bytes after it stay buffered for the next read.
  ErrorCode read(HttpResponse& response);
  // The response to a HEAD request: the reader is told it has no body.
  ErrorCode read_head(HttpResponse& response);
  // Only the header of a response, whose body the caller then reads with
  // read_some (a large body read straight from TLS, as a benchmark does).
  ErrorCode read_header(HttpResponse& response);
  // Sends one request and reads its answer; throws on a transport error.
  HttpResponse request(const std::string& method, const std::string& target, const std::string& extra = "");
  // Sends close_notify and waits for the server's.
  ErrorCode shutdown();
  // Ends the sending half of the TCP connection (a FIN, no close_notify).
  void shutdown_send();
  // True when the server has ended the connection (no more data, ever).
  bool closed_by_server();
  // Up to `size` decrypted bytes as they arrive, outside HTTP: first those
  // received but not yet parsed, then the stream's.
  std::size_t read_some(char* data, std::size_t size, ErrorCode& error);
  // Up to `limit` bytes received but not yet parsed, for diagnostics.
  std::string buffered_text(std::size_t limit) const;

  // A read that runs while the test writes: start_read begins reading one
  // response into `response` (which must outlive it); every write() and
  // run_for() lets it progress; read_result() says whether it has ended, and
  // finish_read() waits until it does.
  void start_read(HttpResponse& response);
  std::optional<ErrorCode> read_result() const;
  void run_for(std::chrono::milliseconds duration);
  ErrorCode finish_read();

 private:
  struct Connection;
  std::unique_ptr<Connection> connection_;
};

// Connects to 127.0.0.1:`port` over plain TCP without speaking, and waits
// (up to kTestDeadline) for the server to end the connection: eof or reset
// when it does, timed_out when it does not.
ErrorCode wait_for_plain_close(unsigned short port);

// The error of a plain TCP connect to 127.0.0.1:`port` (empty when accepted).
ErrorCode plain_connect_error(unsigned short port);

}  // namespace casefile::server::testing
