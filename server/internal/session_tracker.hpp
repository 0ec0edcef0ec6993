// The open connections: how many, and a way to ask each to drain.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace casefile::server::internal {

// What the tracker can ask of a connection, from any thread.
class DrainableSession {
 public:
  virtual ~DrainableSession() = default;
  // Finish the request in flight, answer it with Connection: close, and
  // close; close at once if idle between requests.
  virtual void drain() = 0;
};

class SessionTracker {
 public:
  // Returns the id to pass to remove().
  std::uint64_t add(std::weak_ptr<DrainableSession> session);
  void remove(std::uint64_t id);
  std::size_t size() const;
  // Asks every open session to drain; sessions added later are asked at add().
  void drain_all();
  bool draining() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::uint64_t, std::weak_ptr<DrainableSession>> sessions_;  // GUARDED_BY(mutex_)
  std::uint64_t next_id_ = 1;                                                    // GUARDED_BY(mutex_)
  bool draining_ = false;                                                        // GUARDED_BY(mutex_)
};

}  // namespace casefile::server::internal
