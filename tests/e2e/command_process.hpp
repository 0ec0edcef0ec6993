// CommandProcess: one tool (casefile-device, casefile-admin) run as a real
// child process, the way a person or a script runs it: argv, a few extra
// environment variables, stdin from /dev/null and no controlling terminal (so
// nothing can wait on a prompt), stdout and stderr captured in files (so a
// large `show` never blocks on a pipe). Every wait is bounded: a command that
// outlives its deadline is killed and reported as timed out.
#pragma once

#include <sys/types.h>

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace casefile::e2e {

// Generous: every casefile-device call derives a scrypt key (about a second
// under ASan on this machine) before it does its work.
inline constexpr std::chrono::seconds kCommandDeadline{180};

using Environment = std::map<std::string, std::string>;

struct CommandResult {
  std::vector<std::string> arguments;
  int exit_code = -1;      // -1 when a signal ended it
  bool killed = false;     // ended by SIGKILL (ours, or the deadline's)
  bool timed_out = false;  // outlived its deadline
  std::string out;
  std::string err;

  // "casefile-device --dir ... sync: exit 5\n<stdout>\n<stderr>", for failure messages.
  std::string describe() const;
  // stdout as exactly one JSON object; throws (with describe()) otherwise.
  boost::json::object json() const;
  // The "error" code of a --json failure object, or "" when there is none.
  std::string error_code() const;
};

class CommandProcess {
 public:
  // Starts arguments[0] with arguments[1..]; output files are
  // `output_prefix`.out and .err. Throws if it cannot start. With
  // `file_size_limit`, the child may grow no file past that many bytes
  // (soft RLIMIT_FSIZE, set before exec).
  CommandProcess(std::vector<std::string> arguments, const Environment& environment,
                 const std::filesystem::path& output_prefix,
                 std::optional<std::uint64_t> file_size_limit = std::nullopt);
  // Kills (SIGKILL) and reaps a command still running.
  ~CommandProcess();
  CommandProcess(const CommandProcess&) = delete;
  CommandProcess& operator=(const CommandProcess&) = delete;

  pid_t pid() const { return pid_; }
  // True while it has not ended (reaps it when it has).
  bool running();
  // SIGKILL now; true if it was still running and died of it.
  bool kill();
  // Waits for the end, at most `deadline` (then kills it: timed_out).
  CommandResult wait(std::chrono::seconds deadline = kCommandDeadline);

 private:
  bool reap(bool block);

  std::vector<std::string> arguments_;
  std::filesystem::path output_prefix_;
  pid_t pid_ = -1;
  bool ended_ = false;
  int status_ = 0;
  bool killed_by_us_ = false;
};

// Runs a command to its end (bounded by `deadline`).
CommandResult run_command(std::vector<std::string> arguments, const Environment& environment,
                          const std::filesystem::path& output_prefix,
                          std::chrono::seconds deadline = kCommandDeadline,
                          std::optional<std::uint64_t> file_size_limit = std::nullopt);

}  // namespace casefile::e2e
