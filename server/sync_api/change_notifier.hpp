// ChangeNotifier: wakes long-polling pulls when a commit touches one of
// their cases. One process's commits signal it (NotifyingServerStore); when
// several casefiled share a PostgreSQL store, each instance's notifier is
// also fed by LISTEN/NOTIFY with other instances' commits
// (PostgresChangeListener, docs/scale.md).
//
// A waiter names its cases, the generation it read the log at, a deadline
// and a callback. The callback runs exactly once: when a later commit touches
// one of its cases (at once, if one already did since that generation), when
// the deadline passes (on the notifier's timer thread), or when the notifier
// closes. It must not block: hand real work to a pool.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "sync/ids.hpp"

namespace casefile::server {

enum class WakeReason { commit, deadline, closing };

class ChangeNotifier {
 public:
  using Clock = std::chrono::steady_clock;
  using Callback = std::function<void(WakeReason)>;

  ChangeNotifier();
  ~ChangeNotifier();  // close()
  ChangeNotifier(const ChangeNotifier&) = delete;
  ChangeNotifier& operator=(const ChangeNotifier&) = delete;

  // The generation of the newest commit signalled; read it before reading
  // the log, then pass it to wait() so that no commit falls between the two.
  std::uint64_t generation() const;

  // Signals a commit that touched `cases`; wakes their waiters.
  void notify(const std::set<sync::CaseId>& cases);

  // Signals commits whose cases are not known (another instance's, when the
  // LISTEN connection was lost and may have missed some): wakes every waiter
  // with `commit`, and any waiter that registers with an older generation.
  void notify_all();

  // Registers a waiter (see the file comment). After close(), calls
  // `callback(closing)` at once.
  void wait(const std::set<sync::CaseId>& cases, std::uint64_t seen_generation, Clock::time_point deadline,
            Callback callback);

  // Wakes every waiter with `closing` and refuses to park new ones. Idempotent.
  void close();

  std::size_t waiting() const;

 private:
  struct Waiter {
    std::set<sync::CaseId> cases;
    Clock::time_point deadline;
    Callback callback;
  };

  void run_timer();

  mutable std::mutex mutex_;
  std::condition_variable timer_wake_;
  std::uint64_t generation_ = 0;                                 // GUARDED_BY(mutex_)
  std::map<sync::CaseId, std::uint64_t> case_generation_;        // GUARDED_BY(mutex_)
  std::uint64_t all_generation_ = 0;                             // GUARDED_BY(mutex_): last notify_all
  std::uint64_t next_waiter_ = 1;                                // GUARDED_BY(mutex_)
  std::map<std::uint64_t, Waiter> waiters_;                      // GUARDED_BY(mutex_)
  std::multimap<Clock::time_point, std::uint64_t> by_deadline_;  // GUARDED_BY(mutex_)
  bool closed_ = false;                                          // GUARDED_BY(mutex_)
  std::thread timer_;
};

}  // namespace casefile::server
