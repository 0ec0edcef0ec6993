#include "sync/field_register.hpp"

#include <algorithm>
#include <iterator>
#include <tuple>

namespace casefile::sync {
namespace {

bool contains(const std::vector<Dot>& sorted, const Dot& dot) {
  return std::binary_search(sorted.begin(), sorted.end(), dot);
}

}  // namespace

std::vector<Dot> merge_sorted_dots(const std::vector<Dot>& a, const std::vector<Dot>& b) {
  std::vector<Dot> merged;
  merged.reserve(a.size() + b.size());
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(merged));
  return merged;
}

void FieldRegister::remove_live(const std::vector<Dot>& dots) {
  if (dots.empty()) return;
  std::erase_if(entries_, [&](const RegisterEntry& entry) { return contains(dots, entry.dot); });
}

void FieldRegister::supersede(const std::vector<Dot>& dots) {
  if (dots.empty()) return;
  remove_live(dots);
  superseded_ = merge_sorted_dots(superseded_, dots);
}

void FieldRegister::apply(const Dot& dot, Hlc hlc, const FieldValue& value,
                          const std::vector<Dot>& supersedes, const std::vector<Dot>& also_superseded) {
  supersede(supersedes);
  if (contains(superseded_, dot) || contains(also_superseded, dot)) return;
  auto position =
      std::lower_bound(entries_.begin(), entries_.end(), dot,
                       [](const RegisterEntry& entry, const Dot& key) { return entry.dot < key; });
  if (position != entries_.end() && position->dot == dot) return;  // already applied
  entries_.insert(position, RegisterEntry{dot, hlc, value});
}

const RegisterEntry* FieldRegister::winner() const {
  const RegisterEntry* best = nullptr;
  for (const RegisterEntry& entry : entries_) {
    if (!best || std::tie(best->hlc, best->dot.device, best->dot.sequence) <
                     std::tie(entry.hlc, entry.dot.device, entry.dot.sequence)) {
      best = &entry;
    }
  }
  return best;
}

FieldRegister FieldRegister::from_parts(std::vector<RegisterEntry> entries, std::vector<Dot> superseded) {
  FieldRegister field_register;
  field_register.entries_ = std::move(entries);
  field_register.superseded_ = std::move(superseded);
  return field_register;
}

}  // namespace casefile::sync
