// The KeyWrapStore contract's decisions over values, shared by its SQLCipher
// and PostgreSQL implementations so that both answer a retry, a conflict and
// a new wrap alike (key_wrap_store.hpp states the contract).
#pragma once

#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "server/sync_api/key_wrap_store.hpp"

namespace casefile::server {

// True when `offered` is `stored` sent again: the same manifest and wraps, in
// any order (stored wraps are ascending by recipient).
inline bool same_epoch_content(const KeyEpoch& stored, const KeyEpoch& offered) {
  std::vector<KeyWrap> wraps = offered.wraps;
  std::sort(wraps.begin(), wraps.end(),
            [](const KeyWrap& a, const KeyWrap& b) { return a.recipient < b.recipient; });
  return stored.manifest == offered.manifest && stored.wraps == wraps;
}

// The wraps of `offered` that `stored` lacks (empty: a retry, already_stored).
// Errors: "wrap_exists" when a recipient already has a different wrap.
inline Result<std::vector<const KeyWrap*>> wraps_to_add(const KeyEpoch& stored,
                                                        std::span<const KeyWrap> offered) {
  std::vector<const KeyWrap*> new_wraps;
  for (const KeyWrap& wrap : offered) {
    const auto existing = std::find_if(stored.wraps.begin(), stored.wraps.end(),
                                       [&](const KeyWrap& held) { return held.recipient == wrap.recipient; });
    if (existing == stored.wraps.end()) {
      new_wraps.push_back(&wrap);
    } else if (existing->wrap != wrap.wrap) {
      return make_error("wrap_exists", "recipient " + sync::to_text(wrap.recipient) +
                                           " already has a wrap of epoch " + std::to_string(stored.epoch));
    }
  }
  return new_wraps;
}

}  // namespace casefile::server
