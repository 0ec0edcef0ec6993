// Detecting a server restored from an old backup (docs/device-sync.md,
// "Healing"): every push and pull answer carries Casefile-Instance-Epoch,
// renewed by each restore. Pure rules over the stored state, so that each
// case is tested without a server.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "device/change_archive.hpp"

namespace casefile::device::internal {

inline constexpr std::string_view kInstanceEpochHeader = "Casefile-Instance-Epoch";

// The header's value: 32 lower-case hex digits, or none when the answer has
// no header. Errors: "bad_response" (present but malformed).
Result<std::optional<std::string>> parse_instance_epoch(const std::optional<std::string>& header);

// The state after an answer that carried `answered` (none: no header);
// `log_behind` when the server answered a pull "invalid_cursor" (its log is
// shorter than the device's cursor). Rules:
//   - the first epoch seen (after enrolment or the upgrade to the archive)
//     is recorded, nothing more;
//   - another epoch than the one last synced with, or a log behind the
//     cursor, starts a heal of the answered epoch from the archive's start;
//   - while healing, another epoch again restarts the heal from the start
//     (the server was restored once more); the same one changes nothing.
InstanceEpochState observe_instance_epoch(const InstanceEpochState& state,
                                          const std::optional<std::string>& answered, bool log_behind);

// The state once a heal of `state.healing_epoch` is done: that epoch is the
// one synced with, and no heal is pending.
InstanceEpochState finish_heal(const InstanceEpochState& state);

}  // namespace casefile::device::internal
