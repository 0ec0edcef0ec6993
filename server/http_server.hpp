// casefiled's HTTPS listener: TLS (crypto/tls_context.hpp) in front of the
// Router, on limits.io_threads I/O threads (one per core by default).
//
// Lifecycle: create() loads the certificate and binds the port, so a bad
// certificate or a taken port fails before anything is served. run() serves
// until stop(): stop accepting, let requests in flight finish (at most
// timeouts.drain), close idle keep-alive connections, return. With
// handle_signals, SIGTERM and SIGINT call stop() and SIGHUP calls reload_tls().
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/result.hpp"
#include "crypto/hash.hpp"
#include "server/config.hpp"
#include "server/json_logger.hpp"
#include "server/metrics.hpp"
#include "server/router.hpp"

namespace casefile::server {

class HttpServer {
 public:
  struct Options {
    bool handle_signals = false;
    // Called once when the drain begins, on the listener's strand: the place
    // to answer parked asynchronous requests (long-polls) so that their
    // connections can close. Must not block.
    std::function<void()> on_drain;
    // Called after each successful TLS reload with the new key's SPKI
    // SHA-256 (the pin devices check), before new connections use it: sign-in
    // binds that pin (docs/security.md §4). Any thread; must not block.
    std::function<void(const crypto::Sha256Digest& pin)> on_tls_reloaded;
  };

  // Errors: those of crypto::load_server_tls_context, "invalid_config" (bad
  // listen address), "listen_failed".
  // REQUIRES: router, metrics and logger outlive the server.
  static Result<std::unique_ptr<HttpServer>> create(const ServerConfig& config, const Router& router,
                                                    MetricsRegistry& metrics, const JsonLogger& logger,
                                                    Options options);

  virtual ~HttpServer() = default;

  // Serves on the I/O threads (the caller's thread is one of them) until
  // drained. Call once.
  virtual void run() = 0;

  // Begins the drain described above. Thread-safe, idempotent.
  virtual void stop() = 0;
  virtual bool draining() const = 0;

  // Loads the configured certificate and key again; new connections use
  // them, open ones keep theirs. On error the old pair stays in use and the
  // error is logged and returned. Thread-safe.
  virtual Status reload_tls() = 0;

  // The bound port (as configured, or the kernel's choice for port 0 in tests).
  virtual unsigned short port() const = 0;
};

}  // namespace casefile::server
