// casefile-admin init and instance.
#pragma once

#include "tools/casefile-admin/command_line.hpp"

namespace casefile::admin {

int run_init(const Options& options);
int run_instance_show(const Options& options);

}  // namespace casefile::admin
