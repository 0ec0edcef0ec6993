#include "device/device_profile.hpp"

namespace casefile::device {

std::string_view enrolment_state_name(EnrolmentState state) {
  switch (state) {
    case EnrolmentState::not_enrolled:
      return "not_enrolled";
    case EnrolmentState::pending:
      return "pending";
    case EnrolmentState::certified:
      return "certified";
  }
  return "not_enrolled";
}

std::optional<EnrolmentState> parse_enrolment_state(std::string_view name) {
  for (EnrolmentState state :
       {EnrolmentState::not_enrolled, EnrolmentState::pending, EnrolmentState::certified}) {
    if (enrolment_state_name(state) == name) return state;
  }
  return std::nullopt;
}

}  // namespace casefile::device
