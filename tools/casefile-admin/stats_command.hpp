// casefile-admin stats: impact statistics read straight from the instance's
// sync store (casefile.db under database.key), the same figures as
// GET /v1/admin/stats. docs/admin.md shows the usage.
#pragma once

namespace casefile::tools {

// `arguments` are those after "stats". Exit codes as casefile-admin's:
// 0 success, 1 the operation failed, 2 usage error.
int run_stats_command(int argc, char** argv);

}  // namespace casefile::tools
