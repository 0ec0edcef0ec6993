// casefile-admin's command line: words, options and the shared ways of
// answering. Exit codes (docs/admin.md): 0 success, 1 the operation failed,
// 2 usage error.
#pragma once

#include <boost/json/object.hpp>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "base/result.hpp"

namespace casefile::admin {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

struct Options {
  std::vector<std::string> words;  // the command and its subcommands: "user", "add"
  std::string instance = "var";
  std::optional<std::string> passphrase_file;
  bool json = false;
  std::map<std::string, std::string> values;  // --user U -> {"user": "U"}
  std::set<std::string> flags;                // --verify -> {"verify"}

  std::string command() const { return words.empty() ? std::string() : words.front(); }
  std::optional<std::string> value(const std::string& name) const;
  bool flag(const std::string& name) const { return flags.contains(name); }
};

struct UsageError {
  std::string message;
};

std::variant<Options, UsageError> parse_arguments(int argc, char** argv);

// Prints the usage text to stderr with `message`, and returns kExitUsage.
int usage_error(const std::string& message);
const char* usage_text();

// Prints the error (JSON on stdout with --json, text on stderr otherwise)
// and returns kExitFailed.
int report_error(const Options& options, const Error& error);

// A usage problem found after parsing (code "usage") is printed with the
// usage text and returns kExitUsage; any other error goes to report_error.
int fail(const Options& options, const Error& error);

// Prints `object` with "ok": true as one JSON line on stdout (--json output).
void print_json(boost::json::object object);

// Who the audit log names for the admin running this process:
// "admin:<login name>".
std::string admin_actor();

// --passphrase-file, then CASEFILE_ADMIN_PASSPHRASE. Errors: "io_error",
// "passphrase_required".
Result<std::string> admin_passphrase(const Options& options);

}  // namespace casefile::admin
