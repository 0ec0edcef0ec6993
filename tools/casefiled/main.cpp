// casefiled: the HTTPS sync server. `casefiled --config var/casefiled.toml`.
// Serves the operations routes for now; the sync endpoints and the store join
// the same Router later. docs/operations.md describes flags, logs and signals.
#include <signal.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/bytes.hpp"
#include "crypto/tls_identity.hpp"
#include "server/config.hpp"
#include "server/http_server.hpp"
#include "server/json_logger.hpp"
#include "server/metrics.hpp"
#include "server/operations_routes.hpp"
#include "server/router.hpp"

namespace {

using namespace casefile;
using namespace casefile::server;

std::string listen_url(const ServerConfig& config, unsigned short port) {
  const bool ipv6 = config.listen_address.find(':') != std::string::npos;
  return "https://" + (ipv6 ? "[" + config.listen_address + "]" : config.listen_address) + ":" +
         std::to_string(port);
}

Result<std::string> certificate_pin(const std::filesystem::path& certificate_file) {
  std::ifstream in(certificate_file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  auto pin = crypto::spki_sha256_pin(text.str());
  if (!pin.ok()) return std::move(pin).error();
  return crypto::to_hex(*pin);
}

int serve(const std::vector<std::string>& arguments) {
  auto config = config_from_command_line(arguments);
  if (!config.ok()) {
    JsonLogger(LogLevel::error)
        .error("config_refused", {{"code", config.error().code}, {"message", config.error().message}});
    std::cerr << "casefiled: " << config.error().message << "\n";
    return 2;
  }
  const JsonLogger logger(config->log_level);
  MetricsRegistry metrics;
  Router router;
  std::atomic<const HttpServer*> running{nullptr};
  // Ready once listening and until draining; the store's check joins here.
  const auto ready = [&running]() -> Status {
    const HttpServer* server = running.load();
    if (server == nullptr) return make_error("not_ready", "starting");
    if (server->draining()) return make_error("not_ready", "draining");
    return ok_status();
  };
  if (auto added = add_operations_routes(router, metrics, ready); !added.ok()) {
    logger.error("startup_failed", {{"code", added.error().code}, {"message", added.error().message}});
    return 1;
  }

  auto server =
      HttpServer::create(*config, router, metrics, logger, HttpServer::Options{.handle_signals = true});
  if (!server.ok()) {
    logger.error("startup_failed", {{"code", server.error().code}, {"message", server.error().message}});
    return 1;
  }
  auto pin = certificate_pin(config->tls_certificate);
  const std::string url = listen_url(*config, (*server)->port());
  logger.info("listening", {{"url", url},
                            {"tls_spki_sha256", pin.ok() ? *pin : std::string("unreadable")},
                            {"config", config->config_file.string()}});
  std::cout << "casefiled: serving " << url << "  (TLS pin, SPKI SHA-256: " << (pin.ok() ? *pin : "?") << ")"
            << std::endl;
  running = server->get();
  (*server)->run();
  running = nullptr;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);  // a peer that vanished is an error code, not a death
  std::vector<std::string> arguments(argv + 1, argv + argc);
  for (const auto& argument : arguments) {
    if (argument == "--help" || argument == "-h") {
      std::cout << command_line_help();
      return 0;
    }
  }
  try {
    return serve(arguments);
  } catch (const std::exception& error) {
    // Exceptions are programming errors (DESIGN §2); report and fail.
    JsonLogger(LogLevel::error).error("fatal", {{"message", error.what()}});
    return 70;
  }
}
