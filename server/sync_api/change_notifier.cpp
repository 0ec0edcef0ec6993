#include "server/sync_api/change_notifier.hpp"

#include <utility>
#include <vector>

namespace casefile::server {

ChangeNotifier::ChangeNotifier() : timer_([this] { run_timer(); }) {}

ChangeNotifier::~ChangeNotifier() {
  close();
  timer_.join();
}

std::uint64_t ChangeNotifier::generation() const {
  const std::lock_guard lock(mutex_);
  return generation_;
}

void ChangeNotifier::notify(const std::set<sync::CaseId>& cases) {
  if (cases.empty()) return;
  std::vector<Callback> woken;
  {
    const std::lock_guard lock(mutex_);
    ++generation_;
    for (const auto& case_id : cases) case_generation_[case_id] = generation_;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      bool touched = false;
      for (const auto& case_id : cases) touched = touched || it->second.cases.contains(case_id);
      if (!touched) {
        ++it;
        continue;
      }
      woken.push_back(std::move(it->second.callback));
      const auto [first, last] = by_deadline_.equal_range(it->second.deadline);
      for (auto entry = first; entry != last; ++entry) {
        if (entry->second == it->first) {
          by_deadline_.erase(entry);
          break;
        }
      }
      it = waiters_.erase(it);
    }
  }
  for (auto& callback : woken) callback(WakeReason::commit);
}

void ChangeNotifier::notify_all() {
  std::vector<Callback> woken;
  {
    const std::lock_guard lock(mutex_);
    ++generation_;
    all_generation_ = generation_;
    for (auto& [id, waiter] : waiters_) woken.push_back(std::move(waiter.callback));
    waiters_.clear();
    by_deadline_.clear();
  }
  for (auto& callback : woken) callback(WakeReason::commit);
}

void ChangeNotifier::wait(const std::set<sync::CaseId>& cases, std::uint64_t seen_generation,
                          Clock::time_point deadline, Callback callback) {
  WakeReason immediate = WakeReason::commit;
  {
    const std::lock_guard lock(mutex_);
    bool missed = all_generation_ > seen_generation;
    for (const auto& case_id : cases) {
      const auto found = case_generation_.find(case_id);
      missed = missed || (found != case_generation_.end() && found->second > seen_generation);
    }
    if (closed_) {
      immediate = WakeReason::closing;
    } else if (!missed) {
      const std::uint64_t id = next_waiter_++;
      waiters_.emplace(id, Waiter{cases, deadline, std::move(callback)});
      const bool earliest = by_deadline_.empty() || deadline < by_deadline_.begin()->first;
      by_deadline_.emplace(deadline, id);
      if (earliest) timer_wake_.notify_one();
      return;
    }
  }
  callback(immediate);
}

void ChangeNotifier::close() {
  std::vector<Callback> woken;
  {
    const std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    for (auto& [id, waiter] : waiters_) woken.push_back(std::move(waiter.callback));
    waiters_.clear();
    by_deadline_.clear();
  }
  timer_wake_.notify_one();
  for (auto& callback : woken) callback(WakeReason::closing);
}

std::size_t ChangeNotifier::waiting() const {
  const std::lock_guard lock(mutex_);
  return waiters_.size();
}

void ChangeNotifier::run_timer() {
  std::unique_lock lock(mutex_);
  while (!closed_) {
    if (by_deadline_.empty()) {
      timer_wake_.wait(lock);
      continue;
    }
    const auto next = by_deadline_.begin()->first;
    if (Clock::now() < next) {
      timer_wake_.wait_until(lock, next);
      continue;
    }
    std::vector<Callback> expired;
    const auto now = Clock::now();
    while (!by_deadline_.empty() && by_deadline_.begin()->first <= now) {
      const auto found = waiters_.find(by_deadline_.begin()->second);
      expired.push_back(std::move(found->second.callback));
      waiters_.erase(found);
      by_deadline_.erase(by_deadline_.begin());
    }
    lock.unlock();
    for (auto& callback : expired) callback(WakeReason::deadline);
    lock.lock();
  }
}

}  // namespace casefile::server
