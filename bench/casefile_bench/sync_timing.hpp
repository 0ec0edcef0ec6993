// Timing pieces of casefile-bench's sync scenarios (sync_scenarios.cpp,
// scale_out_scenario.cpp): a wall clock, a fan-out onto threads, the devices'
// offline capture before a push, and a timer of the steps a SyncClient
// reports (one push batch, one pull page).
#pragma once

#include <chrono>
#include <cstddef>
#include <thread>
#include <vector>

#include "bench/support/bench_instance.hpp"
#include "bench/support/process_usage.hpp"
#include "device/sync_client.hpp"

namespace casefile::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Runs body(i) for i in [0, count) on `count` threads at once.
template <class Body>
void on_threads(std::size_t count, Body body) {
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < count; ++i) threads.emplace_back([&body, i] { body(i); });
  for (auto& thread : threads) thread.join();
}

// Offline capture, not timed: `changes` notes shared out among the devices,
// device d writing its share in its own cases `device_cases[d]`, all at once.
inline void capture_shares(std::vector<device::FieldDevice>& devices,
                           const std::vector<std::vector<sync::CaseId>>& device_cases, std::size_t changes,
                           std::size_t value_bytes) {
  on_threads(devices.size(), [&](std::size_t d) {
    const std::size_t share = changes / devices.size() + (d < changes % devices.size());
    capture_notes(devices[d], device_cases[d], share, value_bytes);
  });
}

// Records the time between successive progress steps of one phase: each is
// one batch (push) or one page (pull) from the device's side.
class StepTimer {
 public:
  explicit StepTimer(device::SyncPhase phase) : phase_(phase) {}
  device::SyncProgressCallback callback() {
    return [this](const device::SyncProgress& progress) {
      const auto now = Clock::now();
      if (progress.phase == phase_) {
        if (started_) latencies_ms_.push_back(std::chrono::duration<double, std::milli>(now - last_).count());
        started_ = true;
        last_ = now;
      } else {
        started_ = false;
      }
      return true;
    };
  }
  const std::vector<double>& latencies_ms() const { return latencies_ms_; }

 private:
  device::SyncPhase phase_;
  bool started_ = false;
  Clock::time_point last_;
  std::vector<double> latencies_ms_;
};

// CPU seconds used between two readings; the later peak RSS.
inline ProcessUsage usage_between(const ProcessUsage& before, const ProcessUsage& after) {
  return {after.cpu_seconds - before.cpu_seconds, after.peak_rss_mib};
}

}  // namespace casefile::bench
