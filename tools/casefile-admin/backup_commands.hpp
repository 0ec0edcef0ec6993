// casefile-admin backup-key init, backup, backup verify and restore
// (docs/admin.md; docs/operations.md has the schedule and the restore drill).
#pragma once

#include "tools/casefile-admin/command_line.hpp"

namespace casefile::admin {

bool is_backup_command(const std::string& command);
int run_backup_command(const Options& options);

}  // namespace casefile::admin
