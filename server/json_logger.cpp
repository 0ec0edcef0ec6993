#include "server/json_logger.hpp"

#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace casefile::server {
namespace {

// RFC 3339 UTC with milliseconds: 2024-05-01T12:00:00.123Z
std::string now_rfc3339() {
  const auto now = std::chrono::system_clock::now();
  const auto seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(millis));
  return text;
}

void write_to_stderr(std::string_view line) {
  while (!line.empty()) {
    const ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return;  // nowhere left to report a failing stderr
    }
    line.remove_prefix(static_cast<std::size_t>(written));
  }
}

}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view text) {
  if (text == "debug") return LogLevel::debug;
  if (text == "info") return LogLevel::info;
  if (text == "warning") return LogLevel::warning;
  if (text == "error") return LogLevel::error;
  return std::nullopt;
}

std::string_view log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warning:
      return "warning";
    case LogLevel::error:
      return "error";
  }
  return "info";
}

JsonLogger::JsonLogger(LogLevel minimum) : JsonLogger(minimum, write_to_stderr) {}

JsonLogger::JsonLogger(LogLevel minimum, Sink sink) : minimum_(minimum), sink_(std::move(sink)) {}

void JsonLogger::log(LogLevel level, std::string_view event, boost::json::object fields) const {
  if (!enabled(level)) return;
  boost::json::object line;
  line.reserve(fields.size() + 3);
  line["time"] = now_rfc3339();
  line["level"] = log_level_name(level);
  line["event"] = event;
  for (auto& field : fields) {
    // The three envelope keys cannot be overwritten by a field.
    if (field.key() == "time" || field.key() == "level" || field.key() == "event") continue;
    line[field.key()] = std::move(field.value());
  }
  std::string text = boost::json::serialize(line);
  text += '\n';
  const std::lock_guard lock(mutex_);
  sink_(text);
}

}  // namespace casefile::server
