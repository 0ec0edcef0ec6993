// casefile-device's record commands: case new, record add|edit, interview
// add|edit|finalize, amend, note add, show, conflicts, resolve. Each unlocks
// the device, does one thing to its replica (no network), and prints what it
// wrote or read.
#pragma once

#include <string_view>

#include "tools/casefile-device/command_line.hpp"

namespace casefile::device_tool {

bool is_record_command(std::string_view command);
// REQUIRES: is_record_command(options.command)
int run_record_command(const Options& options);

}  // namespace casefile::device_tool
