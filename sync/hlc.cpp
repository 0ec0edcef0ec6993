#include "sync/hlc.hpp"

#include <algorithm>
#include <cassert>
#include <cstdio>

namespace casefile::sync {
namespace {

std::uint64_t clamp_wall(std::uint64_t millis) { return std::min(millis, Hlc::kMaxWallMillis); }

// The successor of (wall, counter): on counter overflow, borrow one
// millisecond rather than wrap, so the clock stays monotonic.
Hlc next_after(std::uint64_t wall, std::uint32_t counter) {
  if (counter < Hlc::kMaxCounter) return Hlc::from_parts(wall, counter + 1);
  return Hlc::from_parts(clamp_wall(wall + 1), 0);
}

}  // namespace

Hlc Hlc::from_parts(std::uint64_t wall_millis, std::uint32_t counter) {
  assert(wall_millis <= kMaxWallMillis && counter <= kMaxCounter);
  return Hlc(wall_millis << 16 | counter);
}

Hlc hlc_tick(Hlc last, std::uint64_t now_millis) {
  const std::uint64_t now = clamp_wall(now_millis);
  if (now > last.wall_millis()) return Hlc::from_parts(now, 0);
  return next_after(last.wall_millis(), last.counter());
}

Hlc hlc_receive(Hlc last, Hlc remote, std::uint64_t now_millis) {
  const std::uint64_t now = clamp_wall(now_millis);
  const std::uint64_t wall = std::max({now, last.wall_millis(), remote.wall_millis()});
  if (wall == now && wall > last.wall_millis() && wall > remote.wall_millis())
    return Hlc::from_parts(wall, 0);
  std::uint32_t counter = 0;
  if (wall == last.wall_millis()) counter = std::max(counter, last.counter());
  if (wall == remote.wall_millis()) counter = std::max(counter, remote.counter());
  return next_after(wall, counter);
}

std::string describe_duration_millis(std::uint64_t millis) {
  const std::uint64_t days = millis / 86'400'000;
  const std::uint64_t hours = millis / 3'600'000 % 24;
  const std::uint64_t minutes = millis / 60'000 % 60;
  const std::uint64_t seconds = millis / 1000 % 60;
  const std::uint64_t rest = millis % 1000;
  std::string text;
  char part[48];
  if (days > 0) {
    std::snprintf(part, sizeof part, "%llud ", static_cast<unsigned long long>(days));
    text += part;
  }
  if (days > 0 || hours > 0) {
    std::snprintf(part, sizeof part, "%lluh ", static_cast<unsigned long long>(hours));
    text += part;
  }
  if (days > 0 || hours > 0 || minutes > 0) {
    std::snprintf(part, sizeof part, "%llum ", static_cast<unsigned long long>(minutes));
    text += part;
  }
  std::snprintf(part, sizeof part, "%llu.%03llus", static_cast<unsigned long long>(seconds),
                static_cast<unsigned long long>(rest));
  return text + part;
}

Status check_clock_skew(Hlc stamp, std::uint64_t server_now_millis, std::uint64_t max_forward_skew_millis) {
  if (stamp.wall_millis() <= server_now_millis) return ok_status();
  const std::uint64_t ahead = stamp.wall_millis() - server_now_millis;
  if (ahead <= max_forward_skew_millis) return ok_status();
  return make_error("clock_skew", "change clock is " + describe_duration_millis(ahead) + " (" +
                                      std::to_string(ahead) + " ms) ahead of the server; the limit is " +
                                      describe_duration_millis(max_forward_skew_millis));
}

std::uint64_t DeviceClock::estimated_now(std::uint64_t device_now_millis) const {
  const std::int64_t estimate = static_cast<std::int64_t>(device_now_millis) + offset_millis_;
  return estimate < 0 ? 0 : static_cast<std::uint64_t>(estimate);
}

Hlc DeviceClock::stamp_local_write(std::uint64_t device_now_millis) {
  last_ = hlc_tick(last_, estimated_now(device_now_millis));
  return last_;
}

void DeviceClock::observe(Hlc remote, std::uint64_t device_now_millis) {
  last_ = hlc_receive(last_, remote, estimated_now(device_now_millis));
}

void DeviceClock::observe_server_time(std::uint64_t server_now_millis, std::uint64_t device_now_millis) {
  if (estimated_now(device_now_millis) < server_now_millis) {
    offset_millis_ =
        static_cast<std::int64_t>(server_now_millis) - static_cast<std::int64_t>(device_now_millis);
  }
}

void DeviceClock::rewind_to_server(std::uint64_t server_now_millis, std::uint64_t device_now_millis) {
  offset_millis_ =
      static_cast<std::int64_t>(server_now_millis) - static_cast<std::int64_t>(device_now_millis);
  last_ = Hlc::from_parts(clamp_wall(server_now_millis), 0);
}

}  // namespace casefile::sync
