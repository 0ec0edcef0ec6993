// casefile-device's commands that talk to the server or report on sync:
// enrol, sync, status, quarantine.
#pragma once

#include "tools/casefile-device/command_line.hpp"

namespace casefile::device_tool {

// REQUIRES: options.command is "enrol", "sync", "status" or "quarantine".
int run_sync_command(const Options& options);

}  // namespace casefile::device_tool
