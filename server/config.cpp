#include "server/config.hpp"

#include <toml++/toml.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <optional>
#include <sstream>
#include <variant>

namespace casefile::server {
namespace fs = std::filesystem;
namespace {

constexpr std::uintmax_t kMaxConfigSize = 1024 * 1024;

using TopString = std::string ServerConfig::*;
using TopPath = fs::path ServerConfig::*;
using LimitCount = std::size_t ServerLimits::*;
using TimeoutSeconds = ServerTimeouts::Duration ServerTimeouts::*;
using AttachmentCount = std::uint64_t AttachmentLimits::*;
struct Port {};
struct Level {};

struct KeySpec {
  std::string_view table;  // "", "limits", "timeouts" or "attachments"
  std::string_view key;
  std::variant<TopString, TopPath, Port, Level, LimitCount, TimeoutSeconds, AttachmentCount> target;
  double minimum = 0;  // counts and seconds
  double maximum = 0;
  std::string_view help;
};

constexpr double kGiB = 1024.0 * 1024 * 1024;

const std::vector<KeySpec>& key_specs() {
  static const std::vector<KeySpec> specs = {
      {"", "listen_address", &ServerConfig::listen_address, 0, 0, "IP address to listen on"},
      {"", "listen_port", Port{}, 1, 65535, "TCP port"},
      {"", "database", &ServerConfig::database, 0, 0, "SQLCipher store"},
      {"", "database_key_file", &ServerConfig::database_key_file, 0, 0, "store key file"},
      {"", "tls_certificate", &ServerConfig::tls_certificate, 0, 0, "PEM certificate (and chain); required"},
      {"", "tls_private_key", &ServerConfig::tls_private_key, 0, 0, "PEM private key; required"},
      {"", "authority_public_key", &ServerConfig::authority_public_key, 0, 0, "organisation authority key"},
      {"", "log_level", Level{}, 0, 0, "debug, info, warning or error"},
      {"limits", "max_connections", &ServerLimits::max_connections, 1, 1e6, "open connections"},
      {"limits", "max_pipelined_requests", &ServerLimits::max_pipelined_requests, 1, 1024,
       "unanswered requests read ahead per connection"},
      {"limits", "header_limit_bytes", &ServerLimits::header_limit_bytes, 1024, 1024 * 1024,
       "request line and headers"},
      {"limits", "body_limit_bytes", &ServerLimits::body_limit_bytes, 0, 4 * kGiB, "request body"},
      {"limits", "io_threads", &ServerLimits::io_threads, 0, 256, "I/O threads; 0 = one per core"},
      {"limits", "blocking_threads", &ServerLimits::blocking_threads, 1, 256,
       "threads for blocking handlers"},
      {"limits", "blocking_queue", &ServerLimits::blocking_queue, 1, 1e6, "queued blocking jobs"},
      {"timeouts", "handshake_seconds", &ServerTimeouts::handshake, 0.01, 3600, "TLS handshake"},
      {"timeouts", "header_read_seconds", &ServerTimeouts::header_read, 0.01, 3600,
       "first byte to end of headers"},
      {"timeouts", "body_read_seconds", &ServerTimeouts::body_read, 0.01, 3600, "whole body"},
      {"timeouts", "keep_alive_idle_seconds", &ServerTimeouts::keep_alive_idle, 0.01, 3600,
       "idle between requests"},
      {"timeouts", "write_seconds", &ServerTimeouts::write, 0.01, 3600, "writing one response"},
      {"timeouts", "drain_seconds", &ServerTimeouts::drain, 0.01, 3600,
       "SIGTERM: wait for requests in flight"},
      {"attachments", "max_size_bytes", &AttachmentLimits::max_size_bytes, 0, 64 * kGiB,
       "largest attachment (ciphertext bytes)"},
      {"attachments", "device_quota_bytes", &AttachmentLimits::device_quota_bytes, 0, 1024 * 1024 * kGiB,
       "bytes of unfinished and stored uploads per device"},
      {"attachments", "upload_expiry_seconds", &AttachmentLimits::upload_expiry_seconds, 1, 365 * 86400.0,
       "unfinished upload lifetime after its last PATCH"},
      {"attachments", "sweep_interval_seconds", &AttachmentLimits::sweep_interval_seconds, 1, 86400,
       "how often expired uploads are removed"},
  };
  return specs;
}

std::string dotted(const KeySpec& spec) {
  return spec.table.empty() ? std::string(spec.key) : std::string(spec.table) + "." + std::string(spec.key);
}

std::string flag_name(const KeySpec& spec) {
  std::string flag = "--" + std::string(spec.key);
  for (char& c : flag) c = c == '_' ? '-' : c;
  return flag;
}

const KeySpec* find_spec(std::string_view table, std::string_view key) {
  for (const auto& spec : key_specs()) {
    if (spec.table == table && spec.key == key) return &spec;
  }
  return nullptr;
}

Error invalid(std::string message) { return make_error("invalid_config", std::move(message)); }

// A value from TOML or from a flag's text, before its key's checks.
using RawValue = std::variant<std::string, std::int64_t, double, bool>;

std::string_view type_name(const RawValue& value) {
  switch (value.index()) {
    case 0:
      return "a string";
    case 1:
      return "an integer";
    case 2:
      return "a number";
    default:
      return "a boolean";
  }
}

// Assigns one value, checking its type and range. `where` prefixes errors;
// relative paths are resolved against `base`.
Status apply(const KeySpec& spec, const RawValue& value, const fs::path& base, const std::string& where,
             ServerConfig& config) {
  const auto wrong_type = [&](std::string_view expected) {
    return invalid(where + dotted(spec) + " must be " + std::string(expected) + ", not " +
                   std::string(type_name(value)));
  };
  const auto* text = std::get_if<std::string>(&value);
  if (const auto* member = std::get_if<TopString>(&spec.target)) {
    if (text == nullptr) return wrong_type("a string");
    if (text->empty()) return invalid(where + dotted(spec) + " must not be empty");
    config.*(*member) = *text;
    return ok_status();
  }
  if (const auto* member = std::get_if<TopPath>(&spec.target)) {
    if (text == nullptr) return wrong_type("a string (a path)");
    if (text->empty()) return invalid(where + dotted(spec) + " must not be empty");
    const fs::path path(*text);
    config.*(*member) = path.is_absolute() || base.empty() ? path : base / path;
    return ok_status();
  }
  if (std::holds_alternative<Level>(spec.target)) {
    if (text == nullptr) return wrong_type("a string");
    const auto level = parse_log_level(*text);
    if (!level)
      return invalid(where + dotted(spec) + " must be debug, info, warning or error, not '" + *text + "'");
    config.log_level = *level;
    return ok_status();
  }
  if (std::holds_alternative<TimeoutSeconds>(spec.target)) {
    double seconds = 0;
    if (const auto* integer = std::get_if<std::int64_t>(&value)) {
      seconds = static_cast<double>(*integer);
    } else if (const auto* real = std::get_if<double>(&value)) {
      seconds = *real;
    } else {
      return wrong_type("a number of seconds");
    }
    if (!std::isfinite(seconds) || seconds < spec.minimum || seconds > spec.maximum) {
      std::ostringstream message;
      message << where << dotted(spec) << " must be between " << spec.minimum << " and " << spec.maximum
              << " seconds";
      return invalid(message.str());
    }
    config.timeouts.*std::get<TimeoutSeconds>(spec.target) =
        std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(seconds * 1000)));
    return ok_status();
  }
  const auto* integer = std::get_if<std::int64_t>(&value);
  if (integer == nullptr) return wrong_type("an integer");
  if (static_cast<double>(*integer) < spec.minimum || static_cast<double>(*integer) > spec.maximum) {
    std::ostringstream message;
    message << where << dotted(spec) << " must be between " << static_cast<std::uint64_t>(spec.minimum)
            << " and " << static_cast<std::uint64_t>(spec.maximum);
    return invalid(message.str());
  }
  if (std::holds_alternative<Port>(spec.target)) {
    config.listen_port = static_cast<unsigned short>(*integer);
  } else if (const auto* member = std::get_if<AttachmentCount>(&spec.target)) {
    config.attachments.*(*member) = static_cast<std::uint64_t>(*integer);
  } else {
    config.limits.*std::get<LimitCount>(spec.target) = static_cast<std::size_t>(*integer);
  }
  return ok_status();
}

Result<RawValue> raw_value(const toml::node& node) {
  if (const auto* text = node.as_string()) return RawValue(text->get());
  if (const auto* integer = node.as_integer()) return RawValue(integer->get());
  if (const auto* real = node.as_floating_point()) return RawValue(real->get());
  if (const auto* boolean = node.as_boolean()) return RawValue(boolean->get());
  return invalid("unsupported value type");
}

// Flags carry text; a key that wants a number gets the text parsed strictly.
Result<RawValue> raw_value_from_flag(const KeySpec& spec, const std::string& text) {
  const bool wants_integer = std::holds_alternative<Port>(spec.target) ||
                             std::holds_alternative<LimitCount>(spec.target) ||
                             std::holds_alternative<AttachmentCount>(spec.target);
  const bool wants_number = std::holds_alternative<TimeoutSeconds>(spec.target);
  const char* end = text.data() + text.size();
  if (wants_integer) {
    std::int64_t integer = 0;
    const auto parsed = std::from_chars(text.data(), end, integer);
    if (text.empty() || parsed.ec != std::errc() || parsed.ptr != end) {
      return invalid(flag_name(spec) + " must be an integer, not '" + text + "'");
    }
    return RawValue(integer);
  }
  if (wants_number) {
    double real = 0;
    const auto parsed = std::from_chars(text.data(), end, real);
    if (text.empty() || parsed.ec != std::errc() || parsed.ptr != end) {
      return invalid(flag_name(spec) + " must be a number of seconds, not '" + text + "'");
    }
    return RawValue(real);
  }
  return RawValue(text);
}

std::string at_line(const fs::path& source, const toml::node& node) {
  return source.filename().string() + ":" + std::to_string(node.source().begin.line) + ": ";
}

Status apply_table(const toml::table& table, std::string_view table_name, const fs::path& source,
                   ServerConfig& config) {
  const fs::path base = source.parent_path();
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    if (table_name.empty() && node.is_table() &&
        (name == "limits" || name == "timeouts" || name == "attachments")) {
      CASEFILE_RETURN_IF_ERROR(apply_table(*node.as_table(), name, source, config));
      continue;
    }
    const KeySpec* spec = find_spec(table_name, name);
    const std::string full = table_name.empty() ? name : std::string(table_name) + "." + name;
    if (spec == nullptr) return invalid(at_line(source, node) + "unknown key '" + full + "'");
    auto value = raw_value(node);
    if (!value.ok()) return invalid(at_line(source, node) + full + ": " + value.error().message);
    CASEFILE_RETURN_IF_ERROR(apply(*spec, *value, base, at_line(source, node), config));
  }
  return ok_status();
}

Status require_tls_files(const ServerConfig& config) {
  if (config.tls_certificate.empty() || config.tls_private_key.empty()) {
    return invalid("tls_certificate and tls_private_key are required (in the config file or as flags)");
  }
  return ok_status();
}

}  // namespace

Result<ServerConfig> parse_config(std::string_view toml_text, const fs::path& source) {
  ServerConfig config;
  config.config_file = source;
  toml::table table;
  try {
    table = toml::parse(toml_text, source.string());
  } catch (const toml::parse_error& error) {
    return invalid(source.filename().string() + ":" + std::to_string(error.source().begin.line) + ": " +
                   std::string(error.description()));
  }
  CASEFILE_RETURN_IF_ERROR(apply_table(table, "", source, config));
  return config;
}

Result<ServerConfig> load_config(const fs::path& file) {
  std::error_code error;
  const auto size = fs::file_size(file, error);
  if (error) return make_error("io_error", "cannot read the config file " + file.string());
  if (size > kMaxConfigSize) return invalid("the config file is larger than 1 MiB: " + file.string());
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) return make_error("io_error", "cannot read the config file " + file.string());
  return parse_config(text.str(), fs::absolute(file, error));
}

Result<ServerConfig> config_from_command_line(const std::vector<std::string>& arguments) {
  // Split "--name=value" and "--name value" into pairs first.
  std::vector<std::pair<std::string, std::string>> flags;
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    const std::string& argument = arguments[i];
    if (argument.rfind("--", 0) != 0) return invalid("unexpected argument '" + argument + "'");
    const auto equals = argument.find('=');
    if (equals != std::string::npos) {
      flags.emplace_back(argument.substr(0, equals), argument.substr(equals + 1));
    } else if (i + 1 < arguments.size()) {
      flags.emplace_back(argument, arguments[++i]);
    } else {
      return invalid(argument + " needs a value");
    }
  }
  ServerConfig config;
  for (const auto& [flag, value] : flags) {
    if (flag != "--config") continue;
    auto loaded = load_config(value);
    if (!loaded.ok()) return loaded;
    config = std::move(loaded).value();
  }
  for (const auto& [flag, value] : flags) {
    if (flag == "--config") continue;
    const KeySpec* spec = nullptr;
    for (const auto& candidate : key_specs()) {
      if (flag_name(candidate) == flag) spec = &candidate;
    }
    if (spec == nullptr) return invalid("unknown flag '" + flag + "' (see --help)");
    auto raw = raw_value_from_flag(*spec, value);
    if (!raw.ok()) return std::move(raw).error();
    CASEFILE_RETURN_IF_ERROR(apply(*spec, *raw, fs::path(), flag + ": ", config));
  }
  CASEFILE_RETURN_IF_ERROR(require_tls_files(config));
  return config;
}

std::string command_line_help() {
  std::ostringstream out;
  out << "usage: casefiled --config FILE [--KEY VALUE]...\n\n"
      << "  --config FILE  the instance's casefiled.toml; the flags below override it\n";
  std::string_view table = "-";
  for (const auto& spec : key_specs()) {
    if (spec.table != table) {
      table = spec.table;
      if (table.empty()) {
        out << "\ntop level:\n";
      } else {
        out << "\n[" << table << "]:\n";
      }
    }
    out << "  " << flag_name(spec);
    for (std::size_t pad = flag_name(spec).size(); pad < 28; ++pad) out << ' ';
    out << spec.help << "\n";
  }
  out << "\nDefaults and units: docs/operations.md.\n";
  return out.str();
}

}  // namespace casefile::server
