// Hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014).
//
// A timestamp is 48 bits of Unix milliseconds and a 16-bit counter, packed into
// one 64-bit integer so that timestamps compare as integers. The clock never
// goes backwards and always moves past every timestamp it has seen, so a write
// made after seeing another write carries a larger timestamp even when the
// device's wall clock is wrong by hours or years.
//
// Every function here is pure: the caller passes the physical time in.
#pragma once

#include <compare>
#include <cstdint>
#include <string>

#include "base/result.hpp"

namespace casefile::sync {

class Hlc {
 public:
  static constexpr std::uint64_t kMaxWallMillis = (std::uint64_t{1} << 48) - 1;
  static constexpr std::uint32_t kMaxCounter = 0xffff;

  constexpr Hlc() = default;
  // REQUIRES: wall_millis <= kMaxWallMillis, counter <= kMaxCounter.
  static Hlc from_parts(std::uint64_t wall_millis, std::uint32_t counter);
  static constexpr Hlc from_packed(std::uint64_t packed) { return Hlc(packed); }

  constexpr std::uint64_t wall_millis() const { return packed_ >> 16; }
  constexpr std::uint32_t counter() const { return static_cast<std::uint32_t>(packed_ & 0xffff); }
  constexpr std::uint64_t packed() const { return packed_; }

  friend constexpr auto operator<=>(const Hlc&, const Hlc&) = default;

 private:
  explicit constexpr Hlc(std::uint64_t packed) : packed_(packed) {}
  std::uint64_t packed_ = 0;
};

// The timestamp for a local event after `last`, at physical time `now_millis`.
// Larger than `last`; equal to (now, 0) when the physical clock is ahead.
Hlc hlc_tick(Hlc last, std::uint64_t now_millis);

// The clock after receiving `remote` at physical time `now_millis`: larger
// than both `last` and `remote`.
Hlc hlc_receive(Hlc last, Hlc remote, std::uint64_t now_millis);

// Default tolerance for a timestamp ahead of the server's clock.
inline constexpr std::uint64_t kDefaultMaxForwardSkewMillis = 5 * 60 * 1000;

// Server-side check of an incoming timestamp. Errors: "clock_skew", whose
// message says how far ahead the timestamp is and what the limit is.
Status check_clock_skew(Hlc stamp, std::uint64_t server_now_millis, std::uint64_t max_forward_skew_millis);

// "3h 12m 5.250s": a duration for people, used in clock_skew messages.
std::string describe_duration_millis(std::uint64_t millis);

// A device's clock. The device's own wall clock may be wrong; every server
// response carries the server's time, and when the device's clock is behind
// it adopts the server's (it keeps an offset, so it need not touch the
// operating system's clock). A device whose clock is ahead has its changes
// refused with clock_skew; `rewind_to_server` then drops the offset and the
// future timestamp so that new writes are accepted again.
class DeviceClock {
 public:
  DeviceClock() = default;
  DeviceClock(Hlc last, std::int64_t offset_millis) : last_(last), offset_millis_(offset_millis) {}

  // Timestamp for a local write at device wall time `device_now_millis`.
  Hlc stamp_local_write(std::uint64_t device_now_millis);
  // Record a timestamp seen in a pulled change.
  void observe(Hlc remote, std::uint64_t device_now_millis);
  // Adopt the server's time if it is ahead of this device's estimate.
  void observe_server_time(std::uint64_t server_now_millis, std::uint64_t device_now_millis);
  // After a clock_skew refusal: trust the server entirely, even backwards.
  void rewind_to_server(std::uint64_t server_now_millis, std::uint64_t device_now_millis);

  Hlc last() const { return last_; }
  std::int64_t offset_millis() const { return offset_millis_; }
  std::uint64_t estimated_now(std::uint64_t device_now_millis) const;

 private:
  Hlc last_;
  std::int64_t offset_millis_ = 0;
};

}  // namespace casefile::sync
