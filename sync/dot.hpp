// A dot names one write: the device that made it and that device's sequence
// number for the change. A change's id is its dot; every value the change
// writes carries that dot.
#pragma once

#include <compare>
#include <cstdint>

#include "sync/ids.hpp"

namespace casefile::sync {

struct Dot {
  DeviceId device;
  std::uint64_t sequence = 0;

  friend auto operator<=>(const Dot&, const Dot&) = default;
  friend bool operator==(const Dot&, const Dot&) = default;
};

// A change is identified by the dot of its writes.
using ChangeId = Dot;

}  // namespace casefile::sync
