#include "server/http_server.hpp"

#include <openssl/ssl.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>
#include <csignal>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "crypto/bytes.hpp"
#include "crypto/tls_context.hpp"
#include "crypto/tls_identity.hpp"
#include "server/blocking_work_pool.hpp"
#include "server/internal/http_session.hpp"
#include "server/internal/session_tracker.hpp"
#include "server/internal/transport_metrics.hpp"

namespace casefile::server {
namespace {

using internal::beast::error_code;
namespace net = internal::net;
namespace beast = internal::beast;
using tcp = net::ip::tcp;
using TlsStream = net::ssl::stream<beast::tcp_stream>;
using TlsSession = internal::HttpSession<TlsStream>;

// Connections over max_connections still get a 503 while this many are
// being refused at once; beyond that they are closed without a word.
std::size_t refusal_capacity(std::size_t max_connections) { return max_connections / 8 + 16; }

constexpr std::chrono::milliseconds kAcceptRetryDelay{100};

Result<std::shared_ptr<net::ssl::context>> load_tls(const ServerConfig& config) {
  auto handle = crypto::load_server_tls_context(config.tls_certificate, config.tls_private_key);
  if (!handle.ok()) return std::move(handle).error();
  return std::make_shared<net::ssl::context>(handle->release());
}

std::optional<crypto::Sha256Digest> pin_of(const std::filesystem::path& certificate_file) {
  std::ifstream in(certificate_file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  auto pin = crypto::spki_sha256_pin(text.str());
  if (!pin.ok()) return std::nullopt;
  return *pin;
}

class HttpServerImpl final : public HttpServer {
 public:
  HttpServerImpl(const ServerConfig& config, const Router& router, MetricsRegistry& metrics,
                 const JsonLogger& logger, Options options, std::shared_ptr<net::ssl::context> tls)
      : config_(config),
        logger_(logger),
        options_(options),
        transport_metrics_(metrics),
        blocking_pool_(config.limits.blocking_threads, config.limits.blocking_queue),
        environment_{router, config.limits, config.timeouts, blocking_pool_, transport_metrics_,
                     logger, tracker_},
        tls_(std::move(tls)),
        io_threads_(config.limits.io_threads != 0 ? config.limits.io_threads
                                                  : std::max(1u, std::thread::hardware_concurrency())),
        io_(static_cast<int>(io_threads_)),
        listener_strand_(net::make_strand(io_)),
        acceptor_(listener_strand_),
        signals_(listener_strand_),
        drain_timer_(listener_strand_),
        accept_retry_timer_(listener_strand_),
        drain_poll_timer_(listener_strand_) {}

  ~HttpServerImpl() override { blocking_pool_.stop(); }

  Status listen() {
    error_code error;
    const auto address = net::ip::make_address(config_.listen_address, error);
    if (error)
      return make_error("invalid_config", "listen_address is not an IP address: " + config_.listen_address);
    const tcp::endpoint endpoint(address, config_.listen_port);
    acceptor_.open(endpoint.protocol(), error);
    if (!error) acceptor_.set_option(net::socket_base::reuse_address(true), error);
    if (!error) acceptor_.bind(endpoint, error);
    if (!error) acceptor_.listen(net::socket_base::max_listen_connections, error);
    if (error) {
      return make_error("listen_failed", "cannot listen on " + config_.listen_address + ":" +
                                             std::to_string(config_.listen_port) + ": " + error.message());
    }
    port_ = acceptor_.local_endpoint().port();
    return ok_status();
  }

  void run() override {
    accept();
    if (options_.handle_signals) {
      signals_.add(SIGTERM);
      signals_.add(SIGINT);
      signals_.add(SIGHUP);
      wait_for_signal();
    }
    std::vector<std::thread> threads;
    threads.reserve(io_threads_ - 1);
    for (std::size_t i = 1; i < io_threads_; ++i) threads.emplace_back([this] { io_.run(); });
    io_.run();
    for (auto& thread : threads) thread.join();
    // Jobs still queued run now; their answers find no session to write to.
    blocking_pool_.stop();
    logger_.info("stopped", {{"open_connections", tracker_.size()}});
  }

  void stop() override {
    net::post(listener_strand_, [this] { begin_drain(); });
  }

  bool draining() const override { return tracker_.draining(); }

  Status reload_tls() override {
    auto loaded = load_tls(config_);
    if (!loaded.ok()) {
      transport_metrics_.tls_reloads_failed.increment();
      logger_.error("tls_reload_failed", {{"code", loaded.error().code},
                                          {"message", loaded.error().message},
                                          {"action", "keeping the previous certificate"}});
      return std::move(loaded).error();
    }
    // Sign-in learns the new pin before any connection presents the new key.
    const auto pin = pin_of(config_.tls_certificate);
    if (pin && options_.on_tls_reloaded) options_.on_tls_reloaded(*pin);
    {
      const std::lock_guard lock(tls_mutex_);
      tls_ = std::move(loaded).value();
    }
    transport_metrics_.tls_reloads_succeeded.increment();
    logger_.info("tls_reloaded", {{"tls_spki_sha256", pin ? crypto::to_hex(*pin) : std::string()}});
    return ok_status();
  }

  unsigned short port() const override { return port_; }

 private:
  void accept() {
    // Each connection gets its own strand; the acceptor's handler runs on the listener's.
    acceptor_.async_accept(net::make_strand(io_), [this](error_code error, tcp::socket socket) {
      on_accept(error, std::move(socket));
    });
  }

  void on_accept(error_code error, tcp::socket socket) {
    if (error == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (error) {
      // Out of descriptors (EMFILE) and the like: wait rather than spin.
      logger_.warning("accept_failed", {{"reason", error.message()}});
      accept_retry_timer_.expires_after(kAcceptRetryDelay);
      accept_retry_timer_.async_wait([this](error_code wait_error) {
        if (!wait_error && acceptor_.is_open()) accept();
      });
      return;
    }
    socket.set_option(tcp::no_delay(true), error);
    std::shared_ptr<net::ssl::context> tls;
    {
      const std::lock_guard lock(tls_mutex_);
      tls = tls_;
    }
    const std::size_t open = tracker_.size();
    internal::SessionMode mode = internal::SessionMode::serve;
    if (open >= config_.limits.max_connections) {
      transport_metrics_.refused_connections.increment();
      if (open >= config_.limits.max_connections + refusal_capacity(config_.limits.max_connections)) {
        socket.close(error);
        accept();
        return;
      }
      mode = internal::SessionMode::refuse;
    }
    TlsStream stream(beast::tcp_stream(std::move(socket)), *tls);
    std::make_shared<TlsSession>(std::move(stream), environment_, mode, std::move(tls))->start();
    accept();
  }

  void wait_for_signal() {
    signals_.async_wait([this](error_code error, int signal) {
      if (error) return;
      if (signal == SIGHUP) {
        logger_.info("signal", {{"signal", "SIGHUP"}, {"action", "reloading the TLS certificate"}});
        (void)reload_tls();  // logged inside; the old certificate stays on error
        wait_for_signal();
        return;
      }
      logger_.info("signal", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}, {"action", "draining"}});
      begin_drain();
    });
  }

  void begin_drain() {
    if (drain_started_) return;
    drain_started_ = true;
    error_code ignored;
    acceptor_.close(ignored);
    accept_retry_timer_.cancel();
    signals_.cancel();
    logger_.info("draining",
                 {{"open_connections", tracker_.size()}, {"deadline_ms", config_.timeouts.drain.count()}});
    if (options_.on_drain) options_.on_drain();
    tracker_.drain_all();
    drain_timer_.expires_after(config_.timeouts.drain);
    drain_timer_.async_wait([this](error_code error) {
      if (error) return;
      logger_.warning("drain_timeout", {{"open_connections", tracker_.size()}});
      io_.stop();
    });
    // The drain timer must not keep run() alive once every session is gone.
    watch_drain();
  }

  void watch_drain() {
    if (tracker_.size() == 0) {
      drain_timer_.cancel();
      return;
    }
    drain_poll_timer_.expires_after(std::chrono::milliseconds(20));
    drain_poll_timer_.async_wait([this](error_code error) {
      if (!error) watch_drain();
    });
  }

  ServerConfig config_;
  const JsonLogger& logger_;
  Options options_;
  internal::TransportMetrics transport_metrics_;
  internal::SessionTracker tracker_;
  BlockingWorkPool blocking_pool_;
  internal::SessionEnvironment environment_;
  std::mutex tls_mutex_;
  std::shared_ptr<net::ssl::context> tls_;  // GUARDED_BY(tls_mutex_)
  std::size_t io_threads_;
  unsigned short port_ = 0;
  bool drain_started_ = false;  // on io_ only
  // Declared last, destroyed first: pending handlers (and the sessions they
  // hold) go before the tracker, pool and metrics they refer to.
  net::io_context io_;
  // The acceptor, signals and timers below are used on this strand only.
  net::strand<net::io_context::executor_type> listener_strand_;
  tcp::acceptor acceptor_;
  net::signal_set signals_;
  net::steady_timer drain_timer_;
  net::steady_timer accept_retry_timer_;
  net::steady_timer drain_poll_timer_;
};

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::create(const ServerConfig& config, const Router& router,
                                                       MetricsRegistry& metrics, const JsonLogger& logger,
                                                       Options options) {
  auto tls = load_tls(config);
  if (!tls.ok()) return std::move(tls).error();
  auto server =
      std::make_unique<HttpServerImpl>(config, router, metrics, logger, options, std::move(tls).value());
  CASEFILE_RETURN_IF_ERROR(server->listen());
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace casefile::server
