#include "server/attachments/upload_sweeper.hpp"

namespace casefile::server {

UploadSweeper::UploadSweeper(AttachmentEndpoints& endpoints, const JsonLogger& logger,
                             std::chrono::milliseconds interval)
    : endpoints_(endpoints), logger_(logger), interval_(interval), thread_([this] { run(); }) {}

UploadSweeper::~UploadSweeper() { stop(); }

void UploadSweeper::stop() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void UploadSweeper::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    auto removed = endpoints_.sweep_expired();
    if (!removed.ok()) {
      logger_.warning("upload_sweep_failed",
                      {{"code", removed.error().code}, {"message", removed.error().message}});
    } else if (*removed > 0) {
      logger_.info("uploads_swept", {{"removed", *removed}});
    }
    lock.lock();
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

}  // namespace casefile::server
