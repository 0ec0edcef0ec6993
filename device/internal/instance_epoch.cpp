#include "device/internal/instance_epoch.hpp"

#include <algorithm>

namespace casefile::device::internal {

Result<std::optional<std::string>> parse_instance_epoch(const std::optional<std::string>& header) {
  if (!header) return std::optional<std::string>{};
  const bool well_formed = header->size() == 32 && std::all_of(header->begin(), header->end(), [](char c) {
                             return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                           });
  if (!well_formed) return make_error("bad_response", "the Casefile-Instance-Epoch header is malformed");
  return std::optional<std::string>{*header};
}

InstanceEpochState observe_instance_epoch(const InstanceEpochState& state,
                                          const std::optional<std::string>& answered, bool log_behind) {
  InstanceEpochState next = state;
  if (state.healing_epoch) {
    if (answered && *answered != *state.healing_epoch) {
      next.healing_epoch = answered;
      next.healed_through = 0;
    }
    return next;
  }
  if (log_behind) {
    // A restore that kept its epoch (a hand-made PostgreSQL restore) still
    // shows as a log shorter than the cursor.
    next.healing_epoch = answered ? *answered : state.epoch.value_or("");
    next.healed_through = 0;
    return next;
  }
  if (!answered) return next;
  if (!state.epoch) {
    next.epoch = answered;
  } else if (*state.epoch != *answered) {
    next.healing_epoch = answered;
    next.healed_through = 0;
  }
  return next;
}

InstanceEpochState finish_heal(const InstanceEpochState& state) {
  InstanceEpochState next;
  if (state.healing_epoch && !state.healing_epoch->empty()) {
    next.epoch = state.healing_epoch;
  } else {
    next.epoch = state.epoch;
  }
  return next;
}

}  // namespace casefile::device::internal
