// A multi-value register: the state of one field of one record.
//
// It holds every live write (value, dot, clock) and the set of dots that
// writes have superseded. A write names the dots its author saw; those leave
// the register, and arrive dead if they come later. Writes that do not
// supersede each other stay side by side as siblings: the field is in
// conflict until a write supersedes them all. Applying writes in any order,
// any number of times, gives the same register.
#pragma once

#include <vector>

#include "sync/change.hpp"

namespace casefile::sync {

struct RegisterEntry {
  Dot dot;
  Hlc hlc;
  FieldValue value;

  friend bool operator==(const RegisterEntry&, const RegisterEntry&) = default;
};

class FieldRegister {
 public:
  // Adds the write `dot` unless it is superseded here or in `also_superseded`
  // (sorted), and removes every live write named in `supersedes` (sorted).
  void apply(const Dot& dot, Hlc hlc, const FieldValue& value, const std::vector<Dot>& supersedes,
             const std::vector<Dot>& also_superseded);
  // Removes live writes named in `dots` (sorted) without remembering them;
  // the caller remembers them elsewhere (a delete's record-wide set).
  void remove_live(const std::vector<Dot>& dots);
  // Remembers `dots` (sorted) as superseded and removes them if live.
  void supersede(const std::vector<Dot>& dots);

  // The value to show: highest clock, then highest device id, then highest
  // sequence. nullptr when the register holds no live write.
  const RegisterEntry* winner() const;
  bool in_conflict() const { return entries_.size() > 1; }
  // True when the register holds nothing worth keeping.
  bool is_empty() const { return entries_.empty() && superseded_.empty(); }

  // Live writes, in ascending dot order.
  const std::vector<RegisterEntry>& entries() const { return entries_; }
  // Superseded dots, ascending.
  const std::vector<Dot>& superseded() const { return superseded_; }

  // For decoding. REQUIRES: both sorted by dot, disjoint.
  static FieldRegister from_parts(std::vector<RegisterEntry> entries, std::vector<Dot> superseded);

  friend bool operator==(const FieldRegister&, const FieldRegister&) = default;

 private:
  std::vector<RegisterEntry> entries_;
  std::vector<Dot> superseded_;
};

// Union of two sorted dot lists, sorted.
std::vector<Dot> merge_sorted_dots(const std::vector<Dot>& a, const std::vector<Dot>& b);

}  // namespace casefile::sync
