// casefile-device repin --statement S: installs the TLS pin statement an
// admin gave (`casefile-admin tls repin-code`), for a device that missed the
// announcement of the server's next TLS key (docs/casefile-device.md).
#pragma once

#include "tools/casefile-device/command_line.hpp"

namespace casefile::device_tool {

int run_repin(const Options& options);

}  // namespace casefile::device_tool
