// casefile-admin: everything an admin does to a Casefile instance.
// Exit codes (docs/admin.md): 0 success, 1 the operation failed, 2 usage error.
#include <exception>
#include <iostream>
#include <variant>

#include "tools/casefile-admin/access_commands.hpp"
#include "tools/casefile-admin/backup_commands.hpp"
#include "tools/casefile-admin/command_line.hpp"
#include "tools/casefile-admin/instance_commands.hpp"
#include "tools/casefile-admin/keys_commands.hpp"
#include "tools/casefile-admin/secrets_commands.hpp"
#include "tools/casefile-admin/stats_command.hpp"
#include "tools/casefile-admin/store_migration.hpp"

int main(int argc, char** argv) {
  using namespace casefile::admin;
  if (argc > 1 && std::string(argv[1]) == "stats")
    return casefile::tools::run_stats_command(argc - 2, argv + 2);
  auto parsed = parse_arguments(argc, argv);
  if (auto* usage = std::get_if<UsageError>(&parsed)) return usage_error(usage->message);
  const Options& options = std::get<Options>(parsed);
  const std::string command = options.command();
  if (command == "help") {
    std::cout << usage_text();
    return kExitOk;
  }
  try {
    if (command == "init") return run_init(options);
    if (command == "instance") return run_instance_show(options);
    if (is_keys_command(options)) return run_keys_command(options);
    if (is_access_command(command)) return run_access_command(options);
    if (is_secrets_command(command)) return run_secrets_command(options);
    if (is_backup_command(command)) return run_backup_command(options);
    if (is_store_command(command)) return run_store_command(options);
  } catch (const std::exception& error) {
    // Exceptions are programming errors (DESIGN §2): report, never hide.
    std::cerr << "casefile-admin: internal error: " << error.what() << "\n";
    return kExitFailed;
  }
  return usage_error("unknown command " + command);
}
