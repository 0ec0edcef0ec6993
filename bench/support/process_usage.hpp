// What a process (or a parent and its children) has used so far, read from
// /proc: CPU seconds (user + system, /proc/<pid>/stat) and peak resident set
// (VmHWM, /proc/<pid>/status).
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

namespace casefile::bench {

struct ProcessUsage {
  double cpu_seconds = 0;
  double peak_rss_mib = 0;
};

namespace process_usage_internal {

// The fields of /proc/<pid>/stat after the command name (which is in
// parentheses and may hold spaces): element 0 is field 3, the state (proc(5)).
inline std::vector<std::string> stat_fields(pid_t pid) {
  std::ifstream stat_file("/proc/" + std::to_string(pid) + "/stat");
  const std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  std::vector<std::string> fields;
  const auto name_end = stat.rfind(')');
  if (name_end == std::string::npos || name_end + 2 > stat.size()) return fields;
  std::istringstream in(stat.substr(name_end + 2));
  for (std::string field; in >> field;) fields.push_back(field);
  return fields;
}

// Clock ticks of stat fields [first, last] (proc(5) numbering), in seconds.
inline double stat_seconds(const std::vector<std::string>& fields, int first, int last) {
  double ticks = 0;
  for (int index = first; index <= last && index - 3 < static_cast<int>(fields.size()); ++index)
    ticks += std::stod(fields[index - 3]);
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

inline double peak_rss_mib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

}  // namespace process_usage_internal

// Zeros when the process is gone or /proc cannot be read.
inline ProcessUsage read_process_usage(pid_t pid) {
  using namespace process_usage_internal;
  return {stat_seconds(stat_fields(pid), 14, 15), peak_rss_mib(pid)};  // utime + stime
}

// A server made of a parent and the children it forks (PostgreSQL's
// postmaster and its backends): the parent's CPU seconds, those of the
// children it has reaped (cutime + cstime) and those of its live children;
// peak RSS is the sum of every live process's VmHWM, so memory they share
// (PostgreSQL's shared buffers) is counted once a process that touched it.
inline ProcessUsage read_process_tree_usage(pid_t parent) {
  using namespace process_usage_internal;
  ProcessUsage usage{stat_seconds(stat_fields(parent), 14, 17), peak_rss_mib(parent)};
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const auto child = static_cast<pid_t>(std::stol(name));
    const auto fields = stat_fields(child);
    if (fields.size() < 2 || fields[1] != std::to_string(parent)) continue;  // field 4: the parent
    usage.cpu_seconds += stat_seconds(fields, 14, 15);
    usage.peak_rss_mib += peak_rss_mib(child);
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
