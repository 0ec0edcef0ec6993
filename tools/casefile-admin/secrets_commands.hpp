// casefile-admin's server-secret rotations (docs/admin.md, docs/operations.md):
//   database-key rotate   rekey casefile.db, control.db and keys.db under a new
//                         database key, through the running casefiled (SIGUSR1)
//                         or directly when it is stopped
//   tls prepare | rotate | repin-code
//                         announce the next TLS pin, promote it, show the
//                         signed pin statement for devices that missed it
#pragma once

#include <string>

#include "tools/casefile-admin/command_line.hpp"

namespace casefile::admin {

bool is_secrets_command(const std::string& command);
int run_secrets_command(const Options& options);

}  // namespace casefile::admin
