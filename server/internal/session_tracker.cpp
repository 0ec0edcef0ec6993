#include "server/internal/session_tracker.hpp"

#include <vector>

namespace casefile::server::internal {

std::uint64_t SessionTracker::add(std::weak_ptr<DrainableSession> session) {
  std::shared_ptr<DrainableSession> drain_now;
  std::uint64_t id = 0;
  {
    const std::lock_guard lock(mutex_);
    id = next_id_++;
    sessions_.emplace(id, session);
    if (draining_) drain_now = session.lock();
  }
  if (drain_now) drain_now->drain();
  return id;
}

void SessionTracker::remove(std::uint64_t id) {
  const std::lock_guard lock(mutex_);
  sessions_.erase(id);
}

std::size_t SessionTracker::size() const {
  const std::lock_guard lock(mutex_);
  return sessions_.size();
}

void SessionTracker::drain_all() {
  std::vector<std::shared_ptr<DrainableSession>> open;
  {
    const std::lock_guard lock(mutex_);
    draining_ = true;
    for (const auto& [id, session] : sessions_) {
      if (auto locked = session.lock()) open.push_back(std::move(locked));
    }
  }
  // Outside the lock: drain() posts to the session's strand, and a session
  // released here may run its destructor, which calls remove().
  for (const auto& session : open) session->drain();
}

bool SessionTracker::draining() const {
  const std::lock_guard lock(mutex_);
  return draining_;
}

}  // namespace casefile::server::internal
