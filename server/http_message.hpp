// The request a handler receives and the response it returns: plain values,
// free of Beast, so handlers and their tests never compile the transport.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace casefile::server {

// Stable codes of the errors the transport itself sends (docs/operations.md).
namespace transport_error {
inline constexpr std::string_view kBadRequest = "bad_request";                       // 400
inline constexpr std::string_view kNotFound = "not_found";                           // 404
inline constexpr std::string_view kMethodNotAllowed = "method_not_allowed";          // 405
inline constexpr std::string_view kTimeout = "timeout";                              // 408
inline constexpr std::string_view kPayloadTooLarge = "payload_too_large";            // 413
inline constexpr std::string_view kUnsupportedMediaType = "unsupported_media_type";  // 415
inline constexpr std::string_view kHeaderTooLarge = "header_too_large";              // 431
inline constexpr std::string_view kInternalError = "internal_error";                 // 500
inline constexpr std::string_view kServerBusy = "server_busy";                       // 503
inline constexpr std::string_view kTooManyConnections = "too_many_connections";      // 503
inline constexpr std::string_view kNotReady = "not_ready";                           // 503
}  // namespace transport_error

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;  // as sent: "GET", "POST", ...
  std::string target;  // origin-form, as sent
  std::string path;    // target before '?'
  std::string query;   // target after '?', undecoded
  HeaderList headers;
  std::string body;
  // Values of the route template's {name} segments, percent-decoded.
  std::map<std::string, std::string, std::less<>> path_parameters;

  // The first header of that name (case-insensitive), or "" when absent.
  std::string_view header(std::string_view name) const;
  // Content-Type without parameters, lower-cased: "application/json".
  std::string media_type() const;
};

// A response body read from a file while it is sent (memory flat in the
// file's size): `length` bytes from `offset`. The transport opens the file; a
// file that cannot be opened turns the answer into 500 internal_error.
struct FileRange {
  std::filesystem::path path;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  HeaderList headers;             // besides Content-Type, Content-Length and Connection
  std::optional<FileRange> file;  // when set, the body is these bytes and `body` is ignored
};

Response json_response(unsigned status, const boost::json::value& body);
// {"error": code, "message": message}; `message` is for people and must never
// carry a secret, token or sealed value.
Response error_response(unsigned status, std::string_view code, std::string_view message);

}  // namespace casefile::server
