// casefile-device's attachment commands (docs/casefile-device.md,
// "Attachments"): attach, attachments, fetch.
#pragma once

#include <string_view>

#include "tools/casefile-device/command_line.hpp"

namespace casefile::device_tool {

bool is_attachment_command(std::string_view command);

// REQUIRES: is_attachment_command(options.command).
int run_attachment_command(const Options& options);

}  // namespace casefile::device_tool
