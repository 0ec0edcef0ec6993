// casefile-admin's identity and access commands: user, enrol, certify,
// devices, revoke, cases, audit (docs/admin.md). Each opens the instance's
// control.db directly; SQLite's WAL lets it run while casefiled serves.
#pragma once

#include <string>

#include "tools/casefile-admin/command_line.hpp"

namespace casefile::admin {

bool is_access_command(const std::string& command);
int run_access_command(const Options& options);

}  // namespace casefile::admin
