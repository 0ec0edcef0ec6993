// The transport load driver shared by server_transport_benchmark and
// casefile-bench scenarios 5 and 6, and the minimal Beast TLS server they
// compare casefiled with. Every server is driven by the same client code,
// over TLS on loopback, so the ratios compare servers, not drivers.
#pragma once

#include <sys/types.h>

#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace casefile::bench {

// A minimal HTTPS server (handshake, then 200 {"status":"alive"} to every
// request) in a forked child process, as casefiled is one: OpenSSL 3.0 locks
// are per process, so sharing the driver's process would make it lose
// handshakes that a separate casefiled does not. Killed on destruction.
// REQUIRES: the calling process has no other threads yet (fork).
class MinimalServerProcess {
 public:
  MinimalServerProcess(boost::asio::ssl::context& context, unsigned threads);
  ~MinimalServerProcess();
  MinimalServerProcess(const MinimalServerProcess&) = delete;
  MinimalServerProcess& operator=(const MinimalServerProcess&) = delete;
  unsigned short port() const { return port_; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  unsigned short port_ = 0;
};

// One measured cell: operations a second over the whole run, failures, and
// the latency of each operation (milliseconds).
struct LoadCell {
  double per_second = 0;
  std::uint64_t failures = 0;
  std::vector<double> latencies_ms;
};

// `threads` client threads, each on one keep-alive connection (reconnecting
// after a failure), sending `GET <target>` and reading a 200, for `seconds`.
LoadCell keep_alive_requests(boost::asio::ssl::context& client_context, unsigned short port,
                             const std::string& target, unsigned threads, double seconds);

// `threads` client threads, each making a new connection, a full TLS
// handshake and one `GET <target>` per operation, for `seconds`.
LoadCell fresh_handshakes(boost::asio::ssl::context& client_context, unsigned short port,
                          const std::string& target, unsigned threads, double seconds);

// The cell with the median rate.
LoadCell median_cell(std::vector<LoadCell> cells);

// "1234" or "1234 (5 failed)".
std::string format_rate(const LoadCell& cell);

}  // namespace casefile::bench
