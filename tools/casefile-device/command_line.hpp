// casefile-device's command line: which command, its options, and the exit
// codes every command shares (docs/casefile-device.md).
//
//   casefile-device --dir DIR [--json] COMMAND [ARGS]
//
// Parsing is strict: a command accepts only the options its table row lists,
// each value option at most once, so a typo is a usage error (exit 2) rather
// than an ignored word.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "base/result.hpp"

namespace casefile::device_tool {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;           // any failure not listed below
inline constexpr int kExitUsage = 2;            // the command line is wrong
inline constexpr int kExitWrongPassphrase = 3;  // wrong_passphrase
inline constexpr int kExitLockedOut = 4;        // locked_out, not_initialised
inline constexpr int kExitUnreachable = 5;      // the server could not be reached after retries
inline constexpr int kExitWiped = 6;            // the device obeyed a wipe order: it is gone
inline constexpr int kExitPending = 7;          // enrolment still pending (not certified)

// One FIELD=VALUE of --set, split at the first '='.
struct FieldAssignment {
  std::string field;
  std::string text;

  friend bool operator==(const FieldAssignment&, const FieldAssignment&) = default;
};

struct Options {
  std::string command;                   // "init", "case new", "passphrase change", ... or "help"
  std::vector<std::string> positionals;  // enrol's PAYLOAD
  std::filesystem::path directory;       // --dir
  bool json = false;
  std::map<std::string, std::string, std::less<>> values;  // --case C -> {"case": "C"}
  std::vector<FieldAssignment> assignments;                // --set, in order
  std::vector<std::string> cleared;                        // --clear, in order

  std::optional<std::string> value(std::string_view name) const;
};

struct UsageError {
  std::string message;
};

// `arguments` excludes the program name.
std::variant<Options, UsageError> parse_arguments(const std::vector<std::string>& arguments);

const char* usage_text();
// Prints `message` and the usage text to stderr; returns kExitUsage.
int usage_error(const std::string& message);

// The exit code of a failure, from its stable error code: "usage" 2,
// "wrong_passphrase" 3, "locked_out" and "not_initialised" 4, the transport's
// "connect_failed", "timeout", "connection_lost" and "tls_failed" 5,
// "device_wiped" 6, "enrolment_pending" 7, anything else 1.
int exit_code_for(std::string_view error_code);

// A decimal integer option, within [minimum, maximum]; `fallback` when absent.
// Errors: "usage" naming the option.
Result<std::int64_t> integer_option(const Options& options, std::string_view name, std::int64_t fallback,
                                    std::int64_t minimum, std::int64_t maximum);

}  // namespace casefile::device_tool
