// What a process has used so far, read from /proc: CPU seconds (user +
// system, /proc/<pid>/stat) and peak resident set (VmHWM, /proc/<pid>/status).
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace casefile::bench {

struct ProcessUsage {
  double cpu_seconds = 0;
  double peak_rss_mib = 0;
};

// Zeros when the process is gone or /proc cannot be read.
inline ProcessUsage read_process_usage(pid_t pid) {
  ProcessUsage usage;
  std::ifstream stat_file("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  // Fields after the command name, which is in parentheses and may hold spaces;
  // utime and stime are fields 14 and 15 (proc(5)), the 12th and 13th after it.
  const auto name_end = stat.rfind(')');
  if (name_end != std::string::npos) {
    std::istringstream fields(stat.substr(name_end + 2));
    std::string field;
    double ticks = 0;
    for (int index = 3; index <= 15 && fields >> field; ++index) {
      if (index >= 14) ticks += std::stod(field);
    }
    usage.cpu_seconds = ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) usage.peak_rss_mib = std::stod(line.substr(6)) / 1024.0;
  }
  return usage;
}

// The pid casefiled wrote to its pid file (0 when unreadable).
inline pid_t read_pid_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  long pid = 0;
  in >> pid;
  return static_cast<pid_t>(pid);
}

}  // namespace casefile::bench
