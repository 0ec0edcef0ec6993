// HttpsClient: the device's synchronous HTTPS/1.1 client (docs/device-sync.md).
//
// One keep-alive connection to one server, opened on first use and again
// whenever it drops. TLS trusts exactly the server key pinned at enrolment
// (crypto::make_pinned_client_tls_context), checked on every connection; a
// mismatch is "pin_mismatch" and nothing is sent. The next key announced in
// an authority-signed pin statement is accepted too (set_pins). Every step (resolve and
// connect, handshake, write, read) has its own timeout; a long-poll request
// adds its server-side wait to the read timeout.
//
// Errors (stable codes): "connect_failed", "tls_failed", "pin_mismatch",
// "timeout", "connection_lost", "response_too_large", "bad_response",
// "io_error" (a request's body file or response file, see HttpsRequest).
// Any HTTP status is a successful send: the caller judges it.
//
// Threading: one thread at a time. Not copyable; movable.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "device/field_device.hpp"

namespace casefile::device {

struct HttpsClientOptions {
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};  // resolve + TCP connect
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};  // plus HttpsRequest::wait
  std::size_t response_body_limit = 16 * 1024 * 1024;                // a pull page of 1000 changes fits
  std::size_t response_header_limit = 16 * 1024;
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// A part of a file, sent as a request body as it is read (attachment
// uploads: memory independent of the file's size).
struct FileSlice {
  std::filesystem::path path;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

struct HttpsRequest {
  std::string method;   // "GET", "POST", ...
  std::string target;   // "/v1/sync/pull?cursor=..."
  HttpHeaders headers;  // added to Host, User-Agent and Content-Length
  std::string body;     // sent as application/json when not empty
  // How long the server may hold the request before answering (long-poll);
  // added to the read timeout.
  std::chrono::milliseconds wait{0};
  // The body is this part of a file instead of `body` (no Content-Type is
  // added: give one in `headers`). Errors: "io_error" when it cannot be read.
  std::optional<FileSlice> body_file{};
  // When set, a 2xx answer's body goes into this file (created if absent)
  // instead of HttpsResponse::body, as it arrives: a 206 from
  // `response_file_offset` on, a 200 (the whole entity) from 0 and the file
  // is cut to its length. At most `response_file_limit` bytes
  // ("response_too_large"). Other statuses fill `body` as usual.
  std::optional<std::filesystem::path> response_file{};
  std::uint64_t response_file_offset = 0;
  std::uint64_t response_file_limit = 0;
};

struct HttpsResponse {
  unsigned status = 0;
  HttpHeaders headers;
  std::string body;
  std::uint64_t file_bytes = 0;  // written to HttpsRequest::response_file
  // The first header of that name (case-insensitive), if any.
  std::optional<std::string> header(std::string_view name) const;
};

class HttpsClient {
 public:
  // Errors: "tls_failed" (the TLS context could not be made).
  static Result<HttpsClient> create(const ServerEndpoint& server, const HttpsClientOptions& options = {});

  HttpsClient(HttpsClient&&) noexcept;
  HttpsClient& operator=(HttpsClient&&) noexcept;
  ~HttpsClient();

  // Sends one request and reads its response, connecting first if needed.
  // When a reused keep-alive connection turns out closed before any byte of
  // the response arrived, it reconnects and sends once more (every Casefile
  // request is safe to repeat: pushes are idempotent).
  Result<HttpsResponse> send(const HttpsRequest& request);

  // Drops the connection (the next send reconnects).
  void disconnect();
  bool connected() const;
  // TLS handshakes completed so far (each is a pin check).
  std::uint64_t connections_opened() const;

  // The keys accepted from now on: `pin`, and `next_pin` (announced in a
  // verified TLS pin statement, device/tls_pins.hpp) when the server
  // presents that one instead. A changed `pin` drops the open connection.
  // Errors: "tls_failed".
  Status set_pins(const crypto::Sha256Digest& pin, const std::optional<crypto::Sha256Digest>& next_pin);
  // True while the open connection was made under the next pin: the server
  // has moved to its announced key.
  bool connected_under_next_pin() const;

 private:
  struct Connection;
  explicit HttpsClient(std::unique_ptr<Connection> connection);
  std::unique_ptr<Connection> connection_;
};

}  // namespace casefile::device
