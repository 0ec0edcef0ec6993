// A forked child that reports progress one byte at a time through a pipe and
// is killed with SIGKILL: the test's stand-in for a power cut or a crash.
// The child runs plain code (no exec) and leaves with _exit, so it never runs
// the parent's atexit handlers or destructors. Fork only from a
// single-threaded test.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <stdexcept>

namespace casefile::test_support {

class ChildProcess {
 public:
  // Runs `body(progress_fd)` in a child process. The child exits with status
  // 0 if body returns, unless it is killed first.
  explicit ChildProcess(const std::function<void(int progress_fd)>& body) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      close(fds[0]);
      body(fds[1]);
      _exit(0);
    }
    close(fds[1]);
    progress_fd_ = fds[0];
  }
  ~ChildProcess() {
    if (pid_ > 0) kill_and_wait();
    if (progress_fd_ >= 0) close(progress_fd_);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The next progress byte, or 0 when the child has closed the pipe (exited).
  char read_progress() {
    char byte = 0;
    ssize_t n;
    do {
      n = read(progress_fd_, &byte, 1);
    } while (n < 0 && errno == EINTR);
    return n == 1 ? byte : 0;
  }

  // SIGKILLs the child and reaps it; true if it died of the signal (rather
  // than having exited before the signal arrived).
  bool kill_and_wait() {
    kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  }

 private:
  pid_t pid_ = -1;
  int progress_fd_ = -1;
};

// For the child: report one byte of progress, or die if the parent is gone.
inline void report_progress(int progress_fd, char byte) {
  if (write(progress_fd, &byte, 1) != 1) _exit(3);
}

}  // namespace casefile::test_support
