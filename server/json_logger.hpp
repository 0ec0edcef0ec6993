// One JSON object a line on stderr: {"time", "level", "event", ...fields}.
//
// Callers name an event ("listening", "tls_reload_failed") and add fields.
// Never log a secret, token, key, passphrase, request body or sealed value:
// the log leaves the machine (journald, a log shipper) and is read by people.
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace casefile::server {

enum class LogLevel { debug = 0, info = 1, warning = 2, error = 3 };

std::optional<LogLevel> parse_log_level(std::string_view text);  // "debug", "info", "warning", "error"
std::string_view log_level_name(LogLevel level);

class JsonLogger {
 public:
  using Sink = std::function<void(std::string_view line)>;  // `line` ends with '\n'

  // Writes to file descriptor 2.
  explicit JsonLogger(LogLevel minimum = LogLevel::info);
  JsonLogger(LogLevel minimum, Sink sink);

  bool enabled(LogLevel level) const { return level >= minimum_; }
  // Thread-safe; lines from different threads never interleave.
  void log(LogLevel level, std::string_view event, boost::json::object fields = {}) const;

  void info(std::string_view event, boost::json::object fields = {}) const {
    log(LogLevel::info, event, std::move(fields));
  }
  void warning(std::string_view event, boost::json::object fields = {}) const {
    log(LogLevel::warning, event, std::move(fields));
  }
  void error(std::string_view event, boost::json::object fields = {}) const {
    log(LogLevel::error, event, std::move(fields));
  }

 private:
  LogLevel minimum_;
  Sink sink_;
  mutable std::mutex mutex_;
};

}  // namespace casefile::server
