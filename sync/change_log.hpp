// The server's change log: every accepted change, in the order the server
// accepted it, numbered 1, 2, 3, ... with no gaps. Devices read it from a
// cursor; the number is the server's, not the device's.
#pragma once

#include <cstdint>
#include <vector>

#include "sync/batch.hpp"

namespace casefile::sync {

struct LogEntry {
  std::uint64_t sequence = 0;
  SignedChange change;  // with the proof it was first accepted with

  friend bool operator==(const LogEntry&, const LogEntry&) = default;
};

// One read of the log for a pull.
struct LogSlice {
  std::vector<LogEntry> entries;  // ascending sequence
  // Every entry with a sequence <= scanned_through that the reader may see is
  // in `entries` or was in an earlier slice: the next read starts after it.
  std::uint64_t scanned_through = 0;
  std::uint64_t head = 0;  // the highest sequence in the log when read
};

// What the store remembers of an accepted change, to answer a repeat push.
struct AcceptedChange {
  std::uint64_t sequence = 0;
  MerkleHash leaf_hash{};  // of the canonical encoding: a replay must match it
};

}  // namespace casefile::sync
