// casefiled's configuration: the instance's casefiled.toml, then flags.
//
// Every key has a documented default (docs/operations.md). An unknown key, a
// value of the wrong type or out of range is refused with an error naming the
// key, never ignored: a typo in a limit must not silently leave the default.
// Relative paths in the file are relative to the file's directory; relative
// paths in flags are relative to the working directory.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "server/json_logger.hpp"

namespace casefile::server {

struct ServerLimits {
  std::size_t max_connections = 1024;      // open TLS connections; more get 503 or are closed
  std::size_t max_pipelined_requests = 8;  // read ahead of unanswered requests, per connection
  std::size_t header_limit_bytes = 16 * 1024;
  std::size_t body_limit_bytes = 8 * 1024 * 1024;
  std::size_t io_threads = 0;        // 0: one per core
  std::size_t blocking_threads = 4;  // pool for handlers that block (SQLite)
  std::size_t blocking_queue = 256;  // queued blocking jobs before 503 server_busy
};

struct ServerTimeouts {
  using Duration = std::chrono::milliseconds;
  Duration handshake{std::chrono::seconds(10)};
  Duration header_read{std::chrono::seconds(10)};  // from a message's first byte to its last header byte
  Duration body_read{std::chrono::seconds(30)};
  Duration keep_alive_idle{std::chrono::seconds(60)};  // waiting for the next request's first byte
  Duration write{std::chrono::seconds(30)};
  Duration drain{std::chrono::seconds(30)};  // SIGTERM: longest wait for requests in flight
};

// [attachments]: tus uploads and stored attachments (docs/protocol.md).
struct AttachmentLimits {
  std::uint64_t max_size_bytes = std::uint64_t{2} * 1024 * 1024 * 1024;  // one attachment's ciphertext
  std::uint64_t device_quota_bytes =
      std::uint64_t{20} * 1024 * 1024 * 1024;    // unfinished + stored, per device
  std::uint64_t upload_expiry_seconds = 259200;  // an unfinished upload lives this long after its last PATCH
  std::uint64_t sweep_interval_seconds = 600;    // how often expired uploads are removed
};

struct ServerConfig {
  std::filesystem::path config_file;  // empty when none was given
  std::string listen_address = "127.0.0.1";
  unsigned short listen_port = 8443;
  std::filesystem::path database;
  std::filesystem::path database_key_file;
  std::filesystem::path tls_certificate;
  std::filesystem::path tls_private_key;
  std::filesystem::path authority_public_key;
  LogLevel log_level = LogLevel::info;
  ServerLimits limits;
  ServerTimeouts timeouts;
  AttachmentLimits attachments;
};

// Parses TOML text over the defaults. `source` names the file in errors and
// anchors relative paths. Errors: "invalid_config".
Result<ServerConfig> parse_config(std::string_view toml_text, const std::filesystem::path& source);

// Reads and parses a file. Errors: "invalid_config", "io_error".
Result<ServerConfig> load_config(const std::filesystem::path& file);

// The command line, without the program name: --config FILE first (when
// present), then every other flag over it. Each config key is a flag with
// '_' spelled '-': --listen-port 9443, --max-connections 100,
// --header-read-seconds 2.5; "--name=value" works too. Refuses an
// unknown flag or a missing value; requires tls_certificate and
// tls_private_key in the end. Errors: "invalid_config", "io_error".
Result<ServerConfig> config_from_command_line(const std::vector<std::string>& arguments);

// The flags and their defaults, for --help.
std::string command_line_help();

}  // namespace casefile::server
