#include "tools/casefile-device/repin_command.hpp"

#include <iostream>

#include "crypto/bytes.hpp"
#include "device/tls_pins.hpp"
#include "sync/tls_pin_statement.hpp"
#include "tools/casefile-device/key_commands.hpp"
#include "tools/casefile-device/output.hpp"

namespace casefile::device_tool {

int run_repin(const Options& options) {
  const auto text = options.value("statement");
  if (!text) return report_failure(options, make_error("usage", "--statement is required"));
  // Parsed before the unlock: a malformed statement costs no scrypt.
  auto statement = sync::tls_pin_statement_from_text(*text);
  if (!statement.ok()) return report_failure(options, statement.error());
  auto unlocked = unlock_device(options);
  if (!unlocked.ok()) return report_failure(options, unlocked.error());
  Status installed = device::install_tls_pin_statement(unlocked->device, *statement);
  if (!installed.ok()) return report_failure(options, installed.error());
  const std::string pin = crypto::to_hex(statement->current_pin);
  if (options.json) {
    boost::json::object answer{{"sequence", statement->sequence}, {"pin", pin}};
    answer["next_pin"] = statement->next_pin ? boost::json::value(crypto::to_hex(*statement->next_pin))
                                             : boost::json::value(nullptr);
    print_json(answer);
  } else {
    std::cout << "re-pinned the server's TLS key to " << pin << " (statement sequence " << statement->sequence
              << ")\n";
  }
  return kExitOk;
}

}  // namespace casefile::device_tool
