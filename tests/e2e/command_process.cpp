#include "tests/e2e/command_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace casefile::e2e {
namespace {

std::string read_whole_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The parent's environment with `overrides` replacing or adding variables.
std::vector<std::string> child_environment(const Environment& overrides) {
  std::vector<std::string> variables;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string variable = *entry;
    const std::string name = variable.substr(0, variable.find('='));
    if (!overrides.contains(name)) variables.push_back(variable);
  }
  for (const auto& [name, value] : overrides) variables.push_back(name + "=" + value);
  return variables;
}

std::vector<char*> pointers_to(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (auto& text : strings) pointers.push_back(text.data());
  pointers.push_back(nullptr);
  return pointers;
}

}  // namespace

std::string CommandResult::describe() const {
  std::string text;
  for (const auto& argument : arguments) text += (text.empty() ? "" : " ") + argument;
  text += timed_out ? ": timed out" : killed ? ": killed" : ": exit " + std::to_string(exit_code);
  return text + "\nstdout: " + out.substr(0, 4000) + "\nstderr: " + err.substr(0, 4000);
}

boost::json::object CommandResult::json() const {
  boost::system::error_code error;
  auto value = boost::json::parse(out, error);
  if (error || !value.is_object()) throw std::runtime_error("not one JSON object on stdout: " + describe());
  return value.as_object();
}

std::string CommandResult::error_code() const {
  boost::system::error_code error;
  auto value = boost::json::parse(out, error);
  if (error || !value.is_object()) return "";
  const auto* code = value.as_object().if_contains("error");
  return code != nullptr && code->is_string() ? std::string(code->as_string()) : "";
}

CommandProcess::CommandProcess(std::vector<std::string> arguments, const Environment& environment,
                               const std::filesystem::path& output_prefix,
                               std::optional<std::uint64_t> file_size_limit)
    : arguments_(std::move(arguments)), output_prefix_(output_prefix) {
  // Everything the child needs is made before fork: after it, the child of a
  // threaded process may only call async-signal-safe functions.
  std::vector<std::string> argument_copy = arguments_;
  std::vector<std::string> variables = child_environment(environment);
  auto argv = pointers_to(argument_copy);
  auto envp = pointers_to(variables);
  const std::string out_path = output_prefix.string() + ".out";
  const std::string err_path = output_prefix.string() + ".err";
  const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out < 0 || err < 0 || null < 0) throw std::runtime_error("cannot open the output files " + out_path);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::setsid();  // no controlling terminal: a prompt fails instead of waiting
    if (::dup2(null, STDIN_FILENO) < 0 || ::dup2(out, STDOUT_FILENO) < 0 || ::dup2(err, STDERR_FILENO) < 0) {
      _exit(126);
    }
    if (file_size_limit) {
      rlimit limit{};
      if (::getrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(126);
      limit.rlim_cur = std::min<rlim_t>(*file_size_limit, limit.rlim_max);
      if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(126);
    }
    ::execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  ::close(out);
  ::close(err);
  ::close(null);
  if (pid_ < 0) throw std::runtime_error("fork failed");
}

CommandProcess::~CommandProcess() {
  if (!ended_) {
    ::kill(pid_, SIGKILL);
    reap(/*block=*/true);
  }
}

bool CommandProcess::reap(bool block) {
  if (ended_) return true;
  int status = 0;
  pid_t reaped;
  do {
    reaped = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (reaped < 0 && errno == EINTR);
  if (reaped != pid_) return false;
  ended_ = true;
  status_ = status;
  return true;
}

bool CommandProcess::running() { return !reap(/*block=*/false); }

bool CommandProcess::kill() {
  if (!running()) return false;
  ::kill(pid_, SIGKILL);
  reap(/*block=*/true);
  killed_by_us_ = WIFSIGNALED(status_) && WTERMSIG(status_) == SIGKILL;
  return killed_by_us_;
}

CommandResult CommandProcess::wait(std::chrono::seconds deadline) {
  CommandResult result;
  result.arguments = arguments_;
  const auto give_up = std::chrono::steady_clock::now() + deadline;
  while (!reap(/*block=*/false)) {
    if (std::chrono::steady_clock::now() > give_up) {
      ::kill(pid_, SIGKILL);
      reap(/*block=*/true);
      result.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  result.killed = killed_by_us_ || result.timed_out;
  result.exit_code = WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
  result.out = read_whole_file(output_prefix_.string() + ".out");
  result.err = read_whole_file(output_prefix_.string() + ".err");
  return result;
}

CommandResult run_command(std::vector<std::string> arguments, const Environment& environment,
                          const std::filesystem::path& output_prefix, std::chrono::seconds deadline,
                          std::optional<std::uint64_t> file_size_limit) {
  CommandProcess process(std::move(arguments), environment, output_prefix, file_size_limit);
  return process.wait(deadline);
}

}  // namespace casefile::e2e
