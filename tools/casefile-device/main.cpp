// casefile-device: the reference field device, a command line over the
// device library (docs/casefile-device.md). Exit codes: 0 ok, 1 failed,
// 2 usage, 3 wrong passphrase, 4 locked out or no device, 5 server
// unreachable, 6 wiped by order, 7 enrolment still pending.
#include <signal.h>

#include <algorithm>
#include <exception>
#include <iostream>
#include <string>
#include <variant>
#include <vector>

#include "tools/casefile-device/attachment_commands.hpp"
#include "tools/casefile-device/command_line.hpp"
#include "tools/casefile-device/key_commands.hpp"
#include "tools/casefile-device/output.hpp"
#include "tools/casefile-device/record_commands.hpp"
#include "tools/casefile-device/repin_command.hpp"
#include "tools/casefile-device/sync_commands.hpp"

namespace {

using namespace casefile::device_tool;

int run(const Options& options) {
  const std::string& command = options.command;
  if (command == "init") return run_init(options);
  if (command == "unlock") return run_unlock(options);
  if (command == "passphrase change") return run_passphrase_change(options);
  if (command == "storage-key rotate") return run_storage_key_rotate(options);
  if (command == "repin") return run_repin(options);
  if (command == "reencrypt") return run_reencrypt(options);
  if (is_record_command(command)) return run_record_command(options);
  if (is_attachment_command(command)) return run_attachment_command(options);
  return run_sync_command(options);  // parse_arguments admits no other command
}

}  // namespace

int main(int argc, char** argv) {
  // A replica that may grow no more (RLIMIT_FSIZE) fails its write with
  // EFBIG, reported as "full", instead of killing the command.
  ::signal(SIGXFSZ, SIG_IGN);
  const std::vector<std::string> arguments(argv + 1, argv + argc);
  auto parsed = parse_arguments(arguments);
  if (auto* usage = std::get_if<UsageError>(&parsed)) {
    // Even a usage error is one JSON object on stdout when --json was asked for.
    Options reporting;
    reporting.json = std::find(arguments.begin(), arguments.end(), "--json") != arguments.end();
    return report_failure(reporting, casefile::make_error("usage", usage->message));
  }
  const Options& options = std::get<Options>(parsed);
  if (options.command == "help") {
    std::cout << usage_text();
    return kExitOk;
  }
  try {
    return run(options);
  } catch (const std::exception& error) {
    // Exceptions are programming errors (DESIGN §2): report, never hide.
    return report_failure(options, casefile::make_error("internal_error", error.what()));
  }
}
