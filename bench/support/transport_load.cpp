#include "bench/support/transport_load.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace casefile::bench {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

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

bool one_request(net::ssl::stream<tcp::socket>& stream, beast::flat_buffer& buffer,
                 const std::string& request) {
  beast::error_code error;
  net::write(stream, net::buffer(request), error);
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

std::string request_for(const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: bench\r\n\r\n";
}

double milliseconds_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Runs `body` on `threads` threads for `seconds`; body counts operations and
// failures and records each operation's latency.
template <class Body>
LoadCell drive(unsigned threads, double seconds, Body body) {
  std::atomic<bool> stop{false};
  std::mutex merge;
  LoadCell cell;
  std::uint64_t done = 0;
  std::vector<std::thread> workers;
  const auto start = Clock::now();
  for (unsigned i = 0; i < threads; ++i) {
    workers.emplace_back([&] {
      std::uint64_t local_done = 0;
      std::uint64_t local_failures = 0;
      std::vector<double> local_latencies;
      body(stop, local_done, local_failures, local_latencies);
      std::lock_guard lock(merge);
      done += local_done;
      cell.failures += local_failures;
      cell.latencies_ms.insert(cell.latencies_ms.end(), local_latencies.begin(), local_latencies.end());
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& worker : workers) worker.join();
  cell.per_second = static_cast<double>(done) / std::chrono::duration<double>(Clock::now() - start).count();
  return cell;
}

}  // namespace

MinimalServerProcess::MinimalServerProcess(net::ssl::context& context, unsigned threads) {
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
  if (::read(fds[0], &port_, sizeof port_) != sizeof port_) throw std::runtime_error("minimal server failed");
  ::close(fds[0]);
}

MinimalServerProcess::~MinimalServerProcess() {
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

LoadCell keep_alive_requests(net::ssl::context& client_context, unsigned short port,
                             const std::string& target, unsigned threads, double seconds) {
  const std::string request = request_for(target);
  return drive(threads, seconds,
               [&](std::atomic<bool>& stop, std::uint64_t& done, std::uint64_t& failures,
                   std::vector<double>& latencies) {
                 net::io_context io;
                 while (!stop) {
                   net::ssl::stream<tcp::socket> stream(io, client_context);
                   beast::flat_buffer buffer;
                   if (!connect(stream, port)) {
                     ++failures;
                     continue;
                   }
                   while (!stop) {
                     const auto start = Clock::now();
                     if (!one_request(stream, buffer, request)) break;
                     latencies.push_back(milliseconds_since(start));
                     ++done;
                   }
                   if (!stop) ++failures;
                 }
               });
}

LoadCell fresh_handshakes(net::ssl::context& client_context, unsigned short port, const std::string& target,
                          unsigned threads, double seconds) {
  const std::string request = request_for(target);
  return drive(threads, seconds,
               [&](std::atomic<bool>& stop, std::uint64_t& done, std::uint64_t& failures,
                   std::vector<double>& latencies) {
                 net::io_context io;
                 while (!stop) {
                   net::ssl::stream<tcp::socket> stream(io, client_context);
                   beast::flat_buffer buffer;
                   const auto start = Clock::now();
                   if (connect(stream, port) && one_request(stream, buffer, request)) {
                     latencies.push_back(milliseconds_since(start));
                     ++done;
                   } else {
                     ++failures;
                   }
                 }
               });
}

LoadCell median_cell(std::vector<LoadCell> cells) {
  std::sort(cells.begin(), cells.end(),
            [](const LoadCell& a, const LoadCell& b) { return a.per_second < b.per_second; });
  return std::move(cells[cells.size() / 2]);
}

std::string format_rate(const LoadCell& cell) {
  char text[64];
  std::snprintf(text, sizeof text, "%.0f", cell.per_second);
  std::string out = text;
  if (cell.failures != 0) out += " (" + std::to_string(cell.failures) + " failed)";
  return out;
}

}  // namespace casefile::bench
