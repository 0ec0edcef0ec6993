#include "tests/e2e/tcp_fault_proxy.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <optional>
#include <stdexcept>
#include <vector>

namespace casefile::e2e {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kReadChunk = 64 * 1024;
// How often the thread wakes with nothing to do, to see commands and stalls end.
constexpr int kPollMillis = 10;

sockaddr_in loopback(unsigned short port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  return address;
}

void set_non_blocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

const char* action_name(FaultAction action) {
  switch (action) {
    case FaultAction::cut:
      return "cut";
    case FaultAction::truncate:
      return "truncate";
    case FaultAction::stall:
      return "stall";
    case FaultAction::drop:
      return "drop";
  }
  return "?";
}

}  // namespace

std::string describe(const Fault& fault) {
  std::string text = std::string(action_name(fault.action)) + " after " + std::to_string(fault.after_bytes) +
                     " bytes " +
                     (fault.direction == Direction::to_server ? "to the server" : "to the device");
  if (fault.action == FaultAction::stall) text += " for " + std::to_string(fault.stall_for.count()) + " ms";
  return text;
}

// One accepted connection: the device's socket and ours to the server, and
// the bytes read from one side and not yet written to the other.
struct TcpFaultProxy::Connection {
  struct Flow {
    int from = -1;
    int to = -1;
    std::string pending;
    std::uint64_t forwarded = 0;
    bool ended = false;                           // `from` reached end of stream
    bool shut_down = false;                       // FIN passed on to `to`
    std::optional<Clock::time_point> held_until;  // set_delays(): `pending` waits until then
  };
  int device = -1;
  int server = -1;
  std::array<Flow, 2> flows;  // indexed by Direction
  std::optional<Fault> fault;
  std::optional<Clock::time_point> stalled_until;
  bool dropping = false;  // a drop struck: every byte read is discarded
  bool closed = false;

  Flow& faulted_flow() { return flows[static_cast<int>(fault->direction)]; }
};

TcpFaultProxy::TcpFaultProxy(unsigned short upstream_port) : upstream_port_(upstream_port) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener_ < 0) throw std::runtime_error("proxy: socket failed");
  sockaddr_in address = loopback(0);
  socklen_t length = sizeof address;
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener_, 64) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(listener_);
    throw std::runtime_error("proxy: cannot listen on loopback");
  }
  port_ = ntohs(address.sin_port);
  set_non_blocking(listener_);
  thread_ = std::thread([this] { run(); });
}

TcpFaultProxy::~TcpFaultProxy() {
  stopping_ = true;
  thread_.join();
  ::close(listener_);
}

void TcpFaultProxy::set_upstream(unsigned short upstream_port) { upstream_port_ = upstream_port; }

void TcpFaultProxy::queue_fault(const Fault& fault) {
  std::lock_guard lock(mutex_);
  faults_.push_back(fault);
}

void TcpFaultProxy::cut_all() { cut_all_requested_ = true; }
void TcpFaultProxy::release_stalls() { release_requested_ = true; }

void TcpFaultProxy::set_delays(std::chrono::milliseconds fewest, std::chrono::milliseconds most,
                               std::uint64_t seed) {
  std::lock_guard lock(mutex_);
  fewest_delay_ = fewest;
  most_delay_ = std::max(fewest, most);
  delay_random_.seed(seed);
}

std::optional<std::chrono::milliseconds> TcpFaultProxy::draw_delay() {
  std::lock_guard lock(mutex_);
  if (most_delay_.count() == 0) return std::nullopt;
  return std::chrono::milliseconds(
      std::uniform_int_distribution<std::int64_t>(fewest_delay_.count(), most_delay_.count())(delay_random_));
}

std::size_t TcpFaultProxy::faults_pending() const {
  std::lock_guard lock(mutex_);
  return faults_.size();
}

void TcpFaultProxy::run() {
  while (!stopping_) {
    if (cut_all_requested_.exchange(false)) {
      for (auto& connection : connections_) close_connection(connection, /*reset=*/true);
    }
    const bool release = release_requested_.exchange(false);
    const auto now = Clock::now();
    for (auto& connection : connections_) {
      if (connection.stalled_until && (release || now >= *connection.stalled_until)) {
        connection.stalled_until.reset();
        --stalls_in_progress_;
      }
    }
    connections_.remove_if([](const Connection& connection) { return connection.closed; });

    // The poll entries after the listener's, each for one direction of one connection.
    std::vector<pollfd> polls{{listener_, POLLIN, 0}};
    std::vector<std::pair<Connection*, int>> flows_polled{{nullptr, 0}};
    for (auto& connection : connections_) {
      if (connection.stalled_until) continue;
      for (int direction = 0; direction < 2; ++direction) {
        const auto& flow = connection.flows[direction];
        if (!flow.pending.empty()) {
          // A delayed chunk is not polled for; the thread wakes every kPollMillis.
          if (flow.held_until && now < *flow.held_until) continue;
          polls.push_back({flow.to, POLLOUT, 0});
        } else if (!flow.ended) {
          polls.push_back({flow.from, POLLIN, 0});
        } else {
          continue;
        }
        flows_polled.emplace_back(&connection, direction);
      }
    }
    if (::poll(polls.data(), polls.size(), kPollMillis) <= 0) continue;
    if (polls[0].revents & POLLIN) accept_connections();
    for (std::size_t i = 1; i < polls.size(); ++i) {
      auto& [connection, direction] = flows_polled[i];
      if (polls[i].revents == 0 || connection->closed || connection->stalled_until) continue;
      if (!pump(*connection, direction)) close_connection(*connection, /*reset=*/true);
    }
  }
  for (auto& connection : connections_) close_connection(connection, /*reset=*/true);
  connections_.clear();
}

void TcpFaultProxy::accept_connections() {
  while (true) {
    const int device = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (device < 0) return;
    ++connections_accepted_;
    const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const sockaddr_in address = loopback(upstream_port_);
    if (server < 0 || ::connect(server, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      // The server is down: the device's connection is reset, much as a refused one.
      if (server >= 0) ::close(server);
      const ::linger abort{1, 0};
      ::setsockopt(device, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
      ::close(device);
      continue;
    }
    set_non_blocking(device);
    set_non_blocking(server);
    auto& connection = connections_.emplace_back();
    connection.device = device;
    connection.server = server;
    connection.flows[static_cast<int>(Direction::to_server)].from = device;
    connection.flows[static_cast<int>(Direction::to_server)].to = server;
    connection.flows[static_cast<int>(Direction::to_device)].from = server;
    connection.flows[static_cast<int>(Direction::to_device)].to = device;
    std::lock_guard lock(mutex_);
    if (!faults_.empty()) {
      connection.fault = faults_.front();
      faults_.pop_front();
    }
  }
}

bool TcpFaultProxy::pump(Connection& connection, int direction) {
  auto& flow = connection.flows[direction];
  if (connection.dropping) {
    // The black hole: read and discard, until one side gives up.
    char buffer[kReadChunk];
    const ssize_t n = ::recv(flow.from, buffer, sizeof buffer, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return true;
    if (n <= 0) {
      close_connection(connection, /*reset=*/false);
      return true;
    }
    bytes_dropped_ += static_cast<std::uint64_t>(n);
    return true;
  }
  if (flow.pending.empty()) {
    char buffer[kReadChunk];
    const ssize_t n = ::recv(flow.from, buffer, sizeof buffer, 0);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    if (n == 0) {
      flow.ended = true;
    } else {
      flow.pending.append(buffer, static_cast<std::size_t>(n));
      flow.held_until.reset();
      if (const auto delay = draw_delay()) {
        flow.held_until = Clock::now() + *delay;
        ++chunks_delayed_;
        return true;
      }
    }
  } else {
    std::size_t allowed = flow.pending.size();
    const bool faulted = connection.fault && &connection.faulted_flow() == &flow;
    if (faulted) {
      const std::uint64_t left = connection.fault->after_bytes - flow.forwarded;
      if (left == 0) {
        apply_fault(connection);
        return true;
      }
      allowed = static_cast<std::size_t>(std::min<std::uint64_t>(allowed, left));
    }
    const ssize_t n = ::send(flow.to, flow.pending.data(), allowed, MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    flow.pending.erase(0, static_cast<std::size_t>(n));
    flow.forwarded += static_cast<std::uint64_t>(n);
    bytes_forwarded_ += static_cast<std::uint64_t>(n);
    // The fault strikes when a byte beyond its count is waiting, not before:
    // a stream of exactly N bytes never reaches it.
    if (faulted && flow.forwarded == connection.fault->after_bytes && !flow.pending.empty()) {
      apply_fault(connection);
      return true;
    }
  }
  if (flow.ended && flow.pending.empty() && !flow.shut_down) {
    ::shutdown(flow.to, SHUT_WR);
    flow.shut_down = true;
  }
  if (connection.flows[0].shut_down && connection.flows[1].shut_down) {
    close_connection(connection, /*reset=*/false);
  }
  return true;
}

void TcpFaultProxy::apply_fault(Connection& connection) {
  const Fault fault = *connection.fault;
  connection.fault.reset();
  ++faults_applied_;
  switch (fault.action) {
    case FaultAction::cut:
      close_connection(connection, /*reset=*/true);
      break;
    case FaultAction::truncate:
      // FIN to the side whose message is cut short, then close both.
      ::shutdown(connection.flows[static_cast<int>(fault.direction)].to, SHUT_WR);
      close_connection(connection, /*reset=*/false);
      break;
    case FaultAction::stall:
      connection.stalled_until = Clock::now() + fault.stall_for;
      ++stalls_in_progress_;
      break;
    case FaultAction::drop:
      connection.dropping = true;
      for (auto& flow : connection.flows) {
        bytes_dropped_ += flow.pending.size();
        flow.pending.clear();
      }
      break;
  }
}

void TcpFaultProxy::close_connection(Connection& connection, bool reset) {
  if (connection.closed) return;
  connection.closed = true;
  if (connection.stalled_until) {
    connection.stalled_until.reset();
    --stalls_in_progress_;
  }
  if (connection.fault) {
    // Never reached: the next connection gets it.
    std::lock_guard lock(mutex_);
    faults_.push_front(*connection.fault);
    connection.fault.reset();
  }
  for (auto& flow : connection.flows) bytes_dropped_ += flow.pending.size();
  for (const int fd : {connection.device, connection.server}) {
    if (reset) {
      const ::linger abort{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
    }
    ::close(fd);
  }
}

}  // namespace casefile::e2e
