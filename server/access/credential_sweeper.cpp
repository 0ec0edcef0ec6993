#include "server/access/credential_sweeper.hpp"

namespace casefile::server {

CredentialSweeper::CredentialSweeper(ControlStore& store, const JsonLogger& logger,
                                     std::chrono::milliseconds interval, AccessClock clock)
    : store_(store), logger_(logger), interval_(interval), clock_(std::move(clock)) {
  thread_ = std::thread([this] { run(); });
}

CredentialSweeper::~CredentialSweeper() { stop(); }

void CredentialSweeper::stop() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t CredentialSweeper::sweeps() const {
  const std::lock_guard lock(mutex_);
  return sweeps_;
}

void CredentialSweeper::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    auto deleted = store_.delete_expired(clock_());
    if (!deleted.ok()) {
      logger_.warning("credential_sweep_failed",
                      {{"code", deleted.error().code}, {"message", deleted.error().message}});
    } else if (*deleted > 0) {
      logger_.info("credentials_swept", {{"deleted", *deleted}});
    }
    lock.lock();
    ++sweeps_;
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

}  // namespace casefile::server
