// Runs a shell command line for a test and collects its standard output and
// exit code (tests that drive a tool binary as a person would).
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace casefile::test_support {

struct CommandRun {
  int exit_code = -1;  // -1: could not start, or killed by a signal
  std::string out;
};

inline CommandRun run_shell_command(const std::string& command) {
  CommandRun run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) run.out.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

}  // namespace casefile::test_support
