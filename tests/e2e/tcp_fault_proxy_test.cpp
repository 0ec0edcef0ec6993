// TcpFaultProxy on its own, against a plain TCP peer in the test: each fault
// does exactly what docs/testing-e2e.md says, so the end-to-end tests that
// rely on it inject what they claim to.
#include "tests/e2e/tcp_fault_proxy.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <functional>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>

namespace casefile::e2e {
namespace {

using namespace std::chrono_literals;

// Bounds every blocking socket call and every wait here.
constexpr auto kDeadline = 30s;

sockaddr_in loopback(unsigned short port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  return address;
}

void bound_socket_calls(int fd) {
  const timeval timeout{static_cast<time_t>(kDeadline.count()), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
}

// How a peer's reading ended.
enum class Ending { end_of_stream, reset, timeout };

struct Received {
  std::string bytes;
  Ending ending = Ending::timeout;
};

Received read_until_end(int fd) {
  Received received;
  char buffer[16384];
  while (true) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n > 0) {
      received.bytes.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) {
      received.ending = Ending::end_of_stream;
    } else if (errno == ECONNRESET) {
      received.ending = Ending::reset;
    } else if (errno == EINTR) {
      continue;
    } else {
      received.ending = Ending::timeout;
    }
    return received;
  }
}

// Sends all of `bytes`; false if the connection failed first (as a cut makes it).
bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string pattern(std::size_t size) {
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return bytes;
}

// The "server": accepts one connection on a free port and runs `serve` on it
// in a thread of its own.
class Upstream {
 public:
  Upstream() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address = loopback(0);
    socklen_t length = sizeof address;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener_, 8) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::runtime_error("upstream: cannot listen");
    }
    port_ = ntohs(address.sin_port);
    bound_socket_calls(listener_);
  }
  ~Upstream() { ::close(listener_); }

  unsigned short port() const { return port_; }

  // The next connection: `serve` runs on it; the future holds what it returns.
  template <class Serve>
  auto serve_next(Serve serve) {
    return std::async(std::launch::async, [this, serve] {
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) throw std::runtime_error("upstream: no connection");
      bound_socket_calls(fd);
      auto result = serve(fd);
      ::close(fd);
      return result;
    });
  }

 private:
  int listener_ = -1;
  unsigned short port_ = 0;
};

int connect_to(unsigned short port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const sockaddr_in address = loopback(port);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    throw std::runtime_error("cannot connect to the proxy");
  }
  bound_socket_calls(fd);
  return fd;
}

bool eventually(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return condition();
}

TEST(TcpFaultProxy, PassesBytesThroughUnchangedBothWays) {
  Upstream upstream;
  TcpFaultProxy proxy(upstream.port());
  auto echoed = upstream.serve_next([](int fd) {
    Received received = read_until_end(fd);
    send_all(fd, received.bytes);
    return received.ending;
  });
  const int client = connect_to(proxy.port());
  const std::string sent = pattern(300'000);
  std::thread sender([&] {
    send_all(client, sent);
    ::shutdown(client, SHUT_WR);
  });
  const Received back = read_until_end(client);
  sender.join();
  ::close(client);
  EXPECT_EQ(echoed.get(), Ending::end_of_stream);
  EXPECT_EQ(back.ending, Ending::end_of_stream);
  EXPECT_TRUE(back.bytes == sent) << back.bytes.size() << " bytes came back";
  EXPECT_EQ(proxy.bytes_forwarded(), 2 * sent.size());
  EXPECT_EQ(proxy.faults_applied(), 0u);
}

TEST(TcpFaultProxy, CutForwardsExactlyTheCountThenResetsBothSides) {
  Upstream upstream;
  TcpFaultProxy proxy(upstream.port());
  proxy.queue_fault({FaultAction::cut, Direction::to_server, 12'345, {}});
  auto received = upstream.serve_next(read_until_end);
  const int client = connect_to(proxy.port());
  const std::string sent = pattern(200'000);
  send_all(client, sent);
  const Received at_client = read_until_end(client);
  ::close(client);
  const Received at_server = received.get();
  EXPECT_EQ(at_server.bytes, sent.substr(0, 12'345));
  EXPECT_EQ(at_server.ending, Ending::reset);
  EXPECT_EQ(at_client.ending, Ending::reset);
  EXPECT_EQ(proxy.faults_applied(), 1u);
  EXPECT_EQ(proxy.faults_pending(), 0u);
}

TEST(TcpFaultProxy, TruncateForwardsPartOfTheStreamThenEndsItCleanly) {
  Upstream upstream;
  TcpFaultProxy proxy(upstream.port());
  proxy.queue_fault({FaultAction::truncate, Direction::to_device, 777, {}});
  const std::string reply = pattern(50'000);
  auto served = upstream.serve_next([&](int fd) { return send_all(fd, reply); });
  const int client = connect_to(proxy.port());
  const Received at_client = read_until_end(client);
  ::close(client);
  served.get();
  EXPECT_EQ(at_client.bytes, reply.substr(0, 777));
  EXPECT_EQ(at_client.ending, Ending::end_of_stream);
  EXPECT_EQ(proxy.faults_applied(), 1u);
}

TEST(TcpFaultProxy, StallHoldsEveryByteUntilReleasedThenDeliversTheRest) {
  Upstream upstream;
  TcpFaultProxy proxy(upstream.port());
  proxy.queue_fault({FaultAction::stall, Direction::to_server, 4'000, 10min});
  auto received = upstream.serve_next(read_until_end);
  const int client = connect_to(proxy.port());
  const std::string sent = pattern(100'000);
  std::thread sender([&] {
    send_all(client, sent);
    ::shutdown(client, SHUT_WR);
  });
  ASSERT_TRUE(eventually([&] { return proxy.stalls_in_progress() == 1; }));
  // While stalled, the proxy forwarded exactly the fault's count and holds the rest.
  EXPECT_EQ(proxy.bytes_forwarded(), 4'000u);
  proxy.release_stalls();
  const Received at_server = received.get();
  sender.join();
  ::close(client);
  EXPECT_TRUE(at_server.bytes == sent) << at_server.bytes.size() << " bytes arrived";
  EXPECT_EQ(at_server.ending, Ending::end_of_stream);
  EXPECT_EQ(proxy.stalls_in_progress(), 0u);
}

TEST(TcpFaultProxy, DropSwallowsEveryByteBothWaysAndClosesNothingUntilASideGivesUp) {
  Upstream upstream;
  TcpFaultProxy proxy(upstream.port());
  proxy.queue_fault({FaultAction::drop, Direction::to_server, 5'000, {}});
  const std::string reply = "an answer that must never arrive";
  // The server reads exactly what got through, answers, then reads to the end.
  auto served = upstream.serve_next([&](int fd) {
    std::string head(5'000, '\0');
    std::size_t got = 0;
    while (got < head.size()) {
      const ssize_t n = ::recv(fd, head.data() + got, head.size() - got, 0);
      if (n <= 0) throw std::runtime_error("upstream: the first 5,000 bytes did not arrive");
      got += static_cast<std::size_t>(n);
    }
    send_all(fd, reply);
    Received rest = read_until_end(fd);
    rest.bytes = head + rest.bytes;
    return rest;
  });
  const int client = connect_to(proxy.port());
  const std::string sent = pattern(80'000);
  ASSERT_TRUE(send_all(client, sent));
  // Everything past the count, and the whole answer, went into the hole.
  ASSERT_TRUE(eventually([&] { return proxy.bytes_dropped() == sent.size() - 5'000 + reply.size(); }))
      << proxy.bytes_dropped() << " bytes dropped";
  EXPECT_EQ(proxy.bytes_forwarded(), 5'000u);
  EXPECT_EQ(proxy.faults_applied(), 1u);
  // The device gives up: only then are both sides closed, cleanly.
  ::shutdown(client, SHUT_WR);
  const Received at_client = read_until_end(client);
  ::close(client);
  const Received at_server = served.get();
  EXPECT_EQ(at_client.bytes, "");
  EXPECT_EQ(at_client.ending, Ending::end_of_stream);
  EXPECT_EQ(at_server.bytes, sent.substr(0, 5'000));
  EXPECT_EQ(at_server.ending, Ending::end_of_stream);
}

TEST(TcpFaultProxy, DelaysHoldEveryChunkYetDeliverEveryByteInOrderBothWays) {
  Upstream upstream;
  TcpFaultProxy proxy(upstream.port());
  constexpr auto kFewest = 20ms;
  proxy.set_delays(kFewest, 60ms, 42);
  auto echoed = upstream.serve_next([](int fd) {
    Received received = read_until_end(fd);
    send_all(fd, received.bytes);
    return received.ending;
  });
  const auto started = std::chrono::steady_clock::now();
  const int client = connect_to(proxy.port());
  const std::string sent = pattern(200'000);
  std::thread sender([&] {
    send_all(client, sent);
    ::shutdown(client, SHUT_WR);
  });
  const Received back = read_until_end(client);
  const auto took = std::chrono::steady_clock::now() - started;
  sender.join();
  ::close(client);
  EXPECT_EQ(echoed.get(), Ending::end_of_stream);
  EXPECT_EQ(back.ending, Ending::end_of_stream);
  EXPECT_TRUE(back.bytes == sent) << back.bytes.size() << " bytes came back";
  EXPECT_EQ(proxy.bytes_forwarded(), 2 * sent.size());
  EXPECT_EQ(proxy.bytes_dropped(), 0u);
  // At least one chunk each way was held, each for at least kFewest.
  EXPECT_GE(proxy.chunks_delayed(), 2u);
  EXPECT_GE(took, 2 * kFewest);
}

TEST(TcpFaultProxy, AFaultAShortConnectionNeverReachesWaitsForTheNextConnection) {
  Upstream upstream;
  TcpFaultProxy proxy(upstream.port());
  proxy.queue_fault({FaultAction::cut, Direction::to_server, 10'000, {}});
  {
    auto received = upstream.serve_next(read_until_end);
    const int client = connect_to(proxy.port());
    send_all(client, pattern(100));
    ::shutdown(client, SHUT_WR);
    EXPECT_EQ(received.get().ending, Ending::end_of_stream);
    ::close(client);
  }
  ASSERT_TRUE(eventually([&] { return proxy.faults_pending() == 1; }));
  EXPECT_EQ(proxy.faults_applied(), 0u);
  auto received = upstream.serve_next(read_until_end);
  const int client = connect_to(proxy.port());
  send_all(client, pattern(30'000));
  const Received at_server = received.get();
  ::close(client);
  EXPECT_EQ(at_server.bytes.size(), 10'000u);
  EXPECT_EQ(at_server.ending, Ending::reset);
  EXPECT_EQ(proxy.faults_applied(), 1u);
}

TEST(TcpFaultProxy, CutAllResetsOpenConnectionsOnCommand) {
  Upstream upstream;
  TcpFaultProxy proxy(upstream.port());
  auto received = upstream.serve_next(read_until_end);
  const int client = connect_to(proxy.port());
  send_all(client, pattern(1'000));
  ASSERT_TRUE(eventually([&] { return proxy.bytes_forwarded() == 1'000; }));
  proxy.cut_all();
  const Received at_client = read_until_end(client);
  ::close(client);
  EXPECT_EQ(at_client.ending, Ending::reset);
  EXPECT_EQ(received.get().ending, Ending::reset);
}

TEST(TcpFaultProxy, NewConnectionsFollowTheUpstreamWhenItMoves) {
  Upstream first;
  Upstream second;
  TcpFaultProxy proxy(first.port());
  proxy.set_upstream(second.port());
  auto received = second.serve_next(read_until_end);
  const int client = connect_to(proxy.port());
  send_all(client, "hello");
  ::shutdown(client, SHUT_WR);
  EXPECT_EQ(received.get().bytes, "hello");
  ::close(client);
}

}  // namespace
}  // namespace casefile::e2e
