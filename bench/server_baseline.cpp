// Transport baseline: casefiled's /healthz against a minimal Beast TLS HTTP
// server with the same certificate and TLS settings, in the same run, from
// the same load driver. Later transport work compares against these ratios.
//
//   server_transport_benchmark [--threads N] [--seconds S] [--rounds R]
//
// Two cells per server: keep-alive small GETs (requests/s over one connection
// per client thread) and fresh TLS handshakes (a new connection, a full
// handshake and one GET each; handshakes/s).
#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "crypto/tls_context.hpp"
#include "server/instance.hpp"
#include "tests/server/casefiled_process.hpp"

namespace {

namespace fs = std::filesystem;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using namespace casefile;

// --- the minimal server: handshake, then answer every request 200 --------

class MinimalSession : public std::enable_shared_from_this<MinimalSession> {
 public:
  MinimalSession(tcp::socket socket, net::ssl::context& context) : stream_(std::move(socket), context) {}
  void start() {
    stream_.async_handshake(net::ssl::stream_base::server,
                            [self = shared_from_this()](beast::error_code error) {
                              if (!error) self->read();
                            });
  }

 private:
  void read() {
    request_ = {};
    http::async_read(stream_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code error, std::size_t) {
                       if (!error) self->write();
                     });
  }
  void write() {
    response_ = {http::status::ok, request_.version()};
    response_.set(http::field::content_type, "application/json");
    response_.body() = R"({"status":"alive"})";
    response_.keep_alive(request_.keep_alive());
    response_.prepare_payload();
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code error, std::size_t) {
      if (!error && self->response_.keep_alive()) self->read();
    });
  }

  net::ssl::stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
};

class MinimalServer {
 public:
  MinimalServer(net::ssl::context& context, unsigned threads)
      : context_(context),
        io_(static_cast<int>(threads)),
        acceptor_(io_, {net::ip::make_address("127.0.0.1"), 0}) {
    accept();
    for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  ~MinimalServer() {
    io_.stop();
    for (auto& thread : threads_) thread.join();
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }

 private:
  void accept() {
    acceptor_.async_accept(net::make_strand(io_), [this](beast::error_code error, tcp::socket socket) {
      if (!error) {
        socket.set_option(tcp::no_delay(true));
        std::make_shared<MinimalSession>(std::move(socket), context_)->start();
      }
      accept();
    });
  }

  net::ssl::context& context_;
  net::io_context io_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
};

// The minimal server runs in a child process, as casefiled does: OpenSSL 3.0
// locks are per process, so a server sharing the driver's process would
// contend with it and lose handshakes the separate casefiled does not.
// REQUIRES: the calling process has no other threads yet (fork).
class MinimalServerProcess {
 public:
  MinimalServerProcess(net::ssl::context& context, unsigned threads) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::close(fds[0]);
      MinimalServer server(context, threads);
      const unsigned short port = server.port();
      if (::write(fds[1], &port, sizeof port) != sizeof port) _exit(1);
      ::pause();  // until the parent's SIGKILL
      _exit(0);
    }
    ::close(fds[1]);
    if (::read(fds[0], &port_, sizeof port_) != sizeof port_)
      throw std::runtime_error("minimal server failed");
    ::close(fds[0]);
  }
  ~MinimalServerProcess() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  unsigned short port() const { return port_; }

 private:
  pid_t pid_ = -1;
  unsigned short port_ = 0;
};

// --- the load driver --------------------------------------------------------

struct Cell {
  double per_second = 0;
  std::uint64_t failures = 0;
};

constexpr const char* kRequest = "GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n";

bool one_request(net::ssl::stream<tcp::socket>& stream, beast::flat_buffer& buffer) {
  beast::error_code error;
  net::write(stream, net::buffer(kRequest, std::strlen(kRequest)), error);
  if (error) return false;
  http::response<http::string_body> response;
  http::read(stream, buffer, response, error);
  return !error && response.result_int() == 200;
}

bool connect(net::ssl::stream<tcp::socket>& stream, unsigned short port) {
  beast::error_code error;
  stream.next_layer().connect({net::ip::make_address("127.0.0.1"), port}, error);
  if (error) return false;
  stream.next_layer().set_option(tcp::no_delay(true));
  stream.handshake(net::ssl::stream_base::client, error);
  return !error;
}

// Runs `body` on `threads` threads for `seconds`; body returns operations done.
template <class Body>
Cell drive(unsigned threads, double seconds, Body body) {
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> done{0};
  std::atomic<std::uint64_t> failures{0};
  std::vector<std::thread> workers;
  const auto start = std::chrono::steady_clock::now();
  for (unsigned i = 0; i < threads; ++i) {
    workers.emplace_back([&] {
      std::uint64_t local_done = 0;
      std::uint64_t local_failures = 0;
      body(stop, local_done, local_failures);
      done += local_done;
      failures += local_failures;
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& worker : workers) worker.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {static_cast<double>(done.load()) / elapsed, failures.load()};
}

Cell keep_alive_requests(net::ssl::context& client_context, unsigned short port, unsigned threads,
                         double seconds) {
  return drive(threads, seconds, [&](std::atomic<bool>& stop, std::uint64_t& done, std::uint64_t& failures) {
    net::io_context io;
    while (!stop) {
      net::ssl::stream<tcp::socket> stream(io, client_context);
      beast::flat_buffer buffer;
      if (!connect(stream, port)) {
        ++failures;
        continue;
      }
      while (!stop && one_request(stream, buffer)) ++done;
      if (!stop) ++failures;
    }
  });
}

Cell fresh_handshakes(net::ssl::context& client_context, unsigned short port, unsigned threads,
                      double seconds) {
  return drive(threads, seconds, [&](std::atomic<bool>& stop, std::uint64_t& done, std::uint64_t& failures) {
    net::io_context io;
    while (!stop) {
      net::ssl::stream<tcp::socket> stream(io, client_context);
      beast::flat_buffer buffer;
      if (connect(stream, port) && one_request(stream, buffer)) {
        ++done;
      } else {
        ++failures;
      }
    }
  });
}

Cell median(std::vector<Cell> cells) {
  std::sort(cells.begin(), cells.end(),
            [](const Cell& a, const Cell& b) { return a.per_second < b.per_second; });
  return cells[cells.size() / 2];
}

std::string format_rate(const Cell& cell) {
  char text[64];
  std::snprintf(text, sizeof text, "%.0f", cell.per_second);
  std::string out = text;
  if (cell.failures != 0) out += " (" + std::to_string(cell.failures) + " failed)";
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  unsigned threads = 4;
  double seconds = 2;
  unsigned rounds = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    if (argument == "--threads" && i + 1 < argc) threads = static_cast<unsigned>(std::stoul(argv[++i]));
    if (argument == "--seconds" && i + 1 < argc) seconds = std::stod(argv[++i]);
    if (argument == "--rounds" && i + 1 < argc)
      rounds = std::max(1u, static_cast<unsigned>(std::stoul(argv[++i])));
    // Other flags (tools/run-benchmarks passes Google Benchmark's) are ignored.
  }

  const fs::path directory =
      fs::temp_directory_path() / ("casefile-bench-transport-" + std::to_string(::getpid()));
  fs::remove_all(directory);
  server::InstanceRequest request;
  request.root = directory / "instance";
  request.admin_passphrase = "benchmark passphrase, not a secret";
  auto instance = server::create_instance(request);
  if (!instance.ok()) {
    std::cerr << "cannot create an instance: " << instance.error().message << "\n";
    return 1;
  }
  const server::InstanceLayout layout(request.root);
  auto server_handle = crypto::load_server_tls_context(layout.tls_certificate(), layout.tls_private_key());
  if (!server_handle.ok()) {
    std::cerr << server_handle.error().message << "\n";
    return 1;
  }
  net::ssl::context server_context(server_handle->release());
  auto client_context = server::testing::pinned_client_context(instance->tls_spki_pin);

  const unsigned server_threads = std::max(1u, std::thread::hardware_concurrency());
  // Both servers up at once, cells interleaved round by round, medians kept:
  // a shared machine's noise then falls on both columns alike.
  std::vector<Cell> minimal_requests, minimal_handshakes, casefiled_requests, casefiled_handshakes;
  {
    MinimalServerProcess minimal(server_context, server_threads);
    server::testing::CasefiledProcess casefiled(layout.config(), directory / "casefiled.log",
                                                instance->tls_spki_pin, {"--log-level", "warning"});
    for (unsigned round = 0; round < rounds; ++round) {
      minimal_requests.push_back(keep_alive_requests(client_context, minimal.port(), threads, seconds));
      casefiled_requests.push_back(keep_alive_requests(client_context, casefiled.port(), threads, seconds));
      minimal_handshakes.push_back(fresh_handshakes(client_context, minimal.port(), threads, seconds));
      casefiled_handshakes.push_back(fresh_handshakes(client_context, casefiled.port(), threads, seconds));
    }
    casefiled.signal(SIGTERM);
    casefiled.wait_for_exit();
  }
  fs::remove_all(directory);

  const Cell mr = median(minimal_requests), cr = median(casefiled_requests);
  const Cell mh = median(minimal_handshakes), ch = median(casefiled_handshakes);
  std::printf(
      "transport: %u client threads, %u server I/O threads, median of %u interleaved rounds of %.1f s, "
      "loopback, TLS 1.3, P-256 certificate\n\n",
      threads, server_threads, rounds, seconds);
  std::printf("%-32s %18s %18s %8s\n", "cell", "minimal Beast TLS", "casefiled /healthz", "ratio");
  std::printf("%-32s %18s %18s %8.2f\n", "keep-alive GET (requests/s)", format_rate(mr).c_str(),
              format_rate(cr).c_str(), cr.per_second / mr.per_second);
  std::printf("%-32s %18s %18s %8.2f\n", "new connection (handshakes/s)", format_rate(mh).c_str(),
              format_rate(ch).c_str(), ch.per_second / mh.per_second);
  return 0;
}
