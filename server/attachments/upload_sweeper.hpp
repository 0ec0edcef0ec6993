// UploadSweeper: removes expired tus uploads (rows and files) once at start
// and then every interval, on its own thread (AttachmentEndpoints::
// sweep_expired). A failed sweep is logged ("upload_sweep_failed") and tried
// again at the next tick. Several casefiled sharing one store may each
// sweep: removing an expired upload twice is harmless.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "server/attachments/attachment_endpoints.hpp"
#include "server/json_logger.hpp"

namespace casefile::server {

class UploadSweeper {
 public:
  // REQUIRES: endpoints and logger outlive the sweeper.
  UploadSweeper(AttachmentEndpoints& endpoints, const JsonLogger& logger, std::chrono::milliseconds interval);
  ~UploadSweeper();  // stop()
  UploadSweeper(const UploadSweeper&) = delete;
  UploadSweeper& operator=(const UploadSweeper&) = delete;

  // Ends the thread after any sweep in progress. Idempotent.
  void stop();

 private:
  void run();

  AttachmentEndpoints& endpoints_;
  const JsonLogger& logger_;
  const std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace casefile::server
