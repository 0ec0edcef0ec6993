// A few threads for work that blocks (SQLite, files), so it never runs on an
// I/O thread. The queue is bounded: when it is full, try_submit refuses and
// the caller answers 503 server_busy instead of queueing without limit.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace casefile::server {

class BlockingWorkPool {
 public:
  using Job = std::function<void()>;

  // REQUIRES: threads >= 1, queue_capacity >= 1.
  BlockingWorkPool(std::size_t threads, std::size_t queue_capacity);
  ~BlockingWorkPool();  // stop()
  BlockingWorkPool(const BlockingWorkPool&) = delete;
  BlockingWorkPool& operator=(const BlockingWorkPool&) = delete;

  // False (and `job` is dropped) when the queue is full or the pool stopped.
  // Jobs must not throw.
  [[nodiscard]] bool try_submit(Job job);

  // Runs every queued job, then joins the threads. Idempotent.
  void stop();

  std::size_t queued() const;

 private:
  void work();

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;  // GUARDED_BY(mutex_)
  bool stopping_ = false;  // GUARDED_BY(mutex_)
  std::vector<std::thread> threads_;
};

}  // namespace casefile::server
