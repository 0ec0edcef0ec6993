// CredentialSweeper: deletes expired enrolment codes, sign-in challenges and
// bearer tokens from the control store at a fixed interval, on its own
// thread, so that control.db does not grow with every sign-in. A failed
// sweep is logged ("credential_sweep_failed") and tried again at the next
// tick; nothing a request needs is deleted (only rows no request can use).
//
// Several casefiled sharing one store may each sweep: deleting expired rows
// twice is harmless.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "server/access/control_store.hpp"
#include "server/access/token_authenticator.hpp"
#include "server/json_logger.hpp"

namespace casefile::server {

class CredentialSweeper {
 public:
  // Starts sweeping: once at once, then every `interval`.
  // REQUIRES: store and logger outlive the sweeper.
  CredentialSweeper(ControlStore& store, const JsonLogger& logger, std::chrono::milliseconds interval,
                    AccessClock clock = system_clock_ms);
  ~CredentialSweeper();  // stop()

  CredentialSweeper(const CredentialSweeper&) = delete;
  CredentialSweeper& operator=(const CredentialSweeper&) = delete;

  // Ends the thread after any sweep in progress. Idempotent.
  void stop();
  // Sweeps done so far (successful or not), for tests.
  std::uint64_t sweeps() const;

 private:
  void run();

  ControlStore& store_;
  const JsonLogger& logger_;
  const std::chrono::milliseconds interval_;
  const AccessClock clock_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::uint64_t sweeps_ = 0;
  std::thread thread_;
};

}  // namespace casefile::server
