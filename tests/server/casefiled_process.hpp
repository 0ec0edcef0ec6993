// End-to-end fixture pieces: a real casefiled child process on a free
// loopback port, and (tests/support/tls_test_client.hpp) a TLS client that
// pins its key. For the end-to-end tests here and in tests/e2e/; link
// casefile_test_https.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "crypto/hash.hpp"
#include "tests/support/tls_test_client.hpp"

namespace casefile::server::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;

// A port that was free a moment ago: bind 127.0.0.1:0, read it, close.
inline unsigned short pick_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    throw std::runtime_error("bind failed");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// casefiled, started from the instance config on a free port with extra
// flags; killed (SIGKILL) on destruction if still running. `port`, when not
// 0, is the port to listen on instead (a restart where a killed one was, so
// that enrolled devices find it again). `file_size_limit`, when given, is
// the soft RLIMIT_FSIZE of the child (a disk that is full: no file it
// writes may grow past that many bytes); the hard limit is left, so that
// prlimit() can lift it while the server runs.
class CasefiledProcess {
 public:
  CasefiledProcess(std::filesystem::path config, std::filesystem::path log_file, crypto::Sha256Digest pin,
                   std::vector<std::string> flags = {}, unsigned short port = 0,
                   std::optional<std::uint64_t> file_size_limit = std::nullopt)
      : config_(std::move(config)),
        log_file_(std::move(log_file)),
        pin_(pin),
        flags_(std::move(flags)),
        file_size_limit_(file_size_limit) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = port != 0 ? port : pick_free_port();
      spawn();
      if (wait_until_ready()) return;
      if (!exited_ || read_file(log_file_).find("listen_failed") == std::string::npos) {
        throw std::runtime_error("casefiled did not become ready; log:\n" + read_file(log_file_));
      }
      // Another process took the port between pick and bind: try another
      // (or, for a given port, the same one a moment later).
      if (port != 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    throw std::runtime_error("no free port after five attempts");
  }

  ~CasefiledProcess() {
    if (!exited_) {
      ::kill(pid_, SIGKILL);
      wait_for_exit();
    }
  }
  CasefiledProcess(const CasefiledProcess&) = delete;
  CasefiledProcess& operator=(const CasefiledProcess&) = delete;

  unsigned short port() const { return port_; }
  pid_t pid() const { return pid_; }
  void signal(int number) { ::kill(pid_, number); }
  std::string log() const { return read_file(log_file_); }

  // Waits until the log holds `count` lines of `event`.
  bool wait_for_log_event(const std::string& event, std::size_t count = 1) const {
    const std::string needle = "\"event\":\"" + event + "\"";
    const auto deadline = std::chrono::steady_clock::now() + kTestDeadline;
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string text = log();
      std::size_t found = 0;
      for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++found;
      if (found >= count) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // The exit status, or -1 if it died of a signal or outlived the deadline.
  int wait_for_exit() {
    const auto deadline = std::chrono::steady_clock::now() + kTestDeadline;
    while (!exited_) {
      int status = 0;
      const pid_t reaped = ::waitpid(pid_, &status, WNOHANG);
      if (reaped == pid_) {
        exited_ = true;
        exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        exited_ = true;
        exit_status_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return exit_status_;
  }

 private:
  void spawn() {
    std::vector<std::string> arguments = {CASEFILED_BINARY, "--config", config_.string(), "--listen-port",
                                          std::to_string(port_)};
    arguments.insert(arguments.end(), flags_.begin(), flags_.end());
    std::vector<char*> argv;
    for (auto& argument : arguments) argv.push_back(argument.data());
    argv.push_back(nullptr);
    exited_ = false;
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      const int log = ::open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
      if (log < 0 || null < 0 || ::dup2(log, STDERR_FILENO) < 0 || ::dup2(null, STDOUT_FILENO) < 0)
        _exit(126);
      if (file_size_limit_) {
        rlimit limit{};
        if (::getrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(126);
        limit.rlim_cur = std::min<rlim_t>(*file_size_limit_, limit.rlim_max);
        if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(126);
      }
      ::execv(argv[0], argv.data());
      _exit(127);
    }
  }

  bool wait_until_ready() {
    auto context = pinned_client_context(pin_);
    const auto deadline = std::chrono::steady_clock::now() + kTestDeadline;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return false;
      }
      TlsClient client(context, port_);
      if (!client.connect()) {
        try {
          const bool ready = client.request("GET", "/readyz", "Connection: close\r\n").result_int() == 200;
          (void)client.shutdown();
          if (ready) return true;
        } catch (const std::exception&) {
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  std::filesystem::path config_;
  std::filesystem::path log_file_;
  crypto::Sha256Digest pin_;
  std::vector<std::string> flags_;
  std::optional<std::uint64_t> file_size_limit_;
  unsigned short port_ = 0;
  pid_t pid_ = -1;
  bool exited_ = true;
  int exit_status_ = -1;
};

}  // namespace casefile::server::testing
