// A gate in front of a store's calls, so that a maintenance step (the
// database-key rekey) runs with no call in progress: pause() stops new calls
// at the gate (they wait, they do not fail) and waits for the calls already
// inside to leave; resume() lets the waiting calls in. Unlike a
// reader-preferring std::shared_mutex, a pause is never starved by a steady
// stream of calls.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace casefile::server::internal {

class StoreGate {
 public:
  // Held for the length of one store call.
  class Pass {
   public:
    explicit Pass(StoreGate& gate) : gate_(&gate) { gate_->enter(); }
    Pass(const Pass&) = delete;
    Pass& operator=(const Pass&) = delete;
    ~Pass() { gate_->leave(); }

   private:
    StoreGate* gate_;
  };

  // REQUIRES: not called from inside a Pass; one pause at a time.
  void pause() {
    std::unique_lock lock(mutex_);
    paused_ = true;
    changed_.wait(lock, [this] { return inside_ == 0; });
  }
  void resume() {
    {
      const std::lock_guard lock(mutex_);
      paused_ = false;
    }
    changed_.notify_all();
  }

 private:
  void enter() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return !paused_; });
    ++inside_;
  }
  void leave() {
    {
      const std::lock_guard lock(mutex_);
      --inside_;
    }
    changed_.notify_all();
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  bool paused_ = false;     // GUARDED_BY(mutex_)
  std::size_t inside_ = 0;  // GUARDED_BY(mutex_)
};

}  // namespace casefile::server::internal
