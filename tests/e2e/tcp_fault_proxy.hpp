// TcpFaultProxy: a TCP proxy on 127.0.0.1, in the test process, between a
// device and casefiled. It forwards bytes untouched (TLS passes through it
// end to end, so the device still checks the server's real pin) and injects
// the faults a field network produces:
//
//   cut       forward N bytes in one direction, then reset both sides (RST)
//   truncate  forward N bytes in one direction, then close both sides (FIN):
//             the peer sees a message end in the middle
//   stall     forward N bytes in one direction, then forward nothing either
//             way for a while (or until release_stalls()), then carry on
//   drop      forward N bytes in one direction, then silently discard every
//             byte either way, closing nothing (a connection a mobile network
//             lost without telling anyone): the peers notice only by their
//             own timeouts; when one side gives up, the proxy closes both
//
// set_delays() adds a seeded random delay to every chunk either way (a slow,
// jittery link); order is kept and no byte is lost.
//
// Faults are queued: each new connection takes the next fault in the queue
// and connections beyond the queue pass through. A connection that ends
// before reaching its fault's byte count gives the fault back to the head
// of the queue, so every queued fault lands on real traffic. cut_all()
// resets every open connection on command.
//
// One thread of its own runs poll() over non-blocking sockets. Every public
// member is safe to call from the test's thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <list>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>

namespace casefile::e2e {

enum class FaultAction { cut, truncate, stall, drop };
enum class Direction { to_server, to_device };

struct Fault {
  FaultAction action = FaultAction::cut;
  Direction direction = Direction::to_server;
  std::uint64_t after_bytes = 0;           // bytes of this connection forwarded in `direction` first
  std::chrono::milliseconds stall_for{0};  // stall only
};

std::string describe(const Fault& fault);

class TcpFaultProxy {
 public:
  // Listens on a free loopback port and forwards to 127.0.0.1:upstream_port.
  explicit TcpFaultProxy(unsigned short upstream_port);
  ~TcpFaultProxy();
  TcpFaultProxy(const TcpFaultProxy&) = delete;
  TcpFaultProxy& operator=(const TcpFaultProxy&) = delete;

  unsigned short port() const { return port_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }

  // New connections go to this port from now (a restarted server, or another).
  void set_upstream(unsigned short upstream_port);
  void queue_fault(const Fault& fault);
  // Resets every open connection at once.
  void cut_all();
  // Ends every stall now.
  void release_stalls();
  // From now, each chunk read (either way, every connection) is held for a
  // random time in [fewest, most] before it is forwarded; the delays are
  // drawn from `seed`. Zero for both ends the delays.
  void set_delays(std::chrono::milliseconds fewest, std::chrono::milliseconds most, std::uint64_t seed);

  std::size_t faults_pending() const;
  std::size_t faults_applied() const { return faults_applied_; }
  std::size_t stalls_in_progress() const { return stalls_in_progress_; }
  std::size_t connections_accepted() const { return connections_accepted_; }
  // Bytes forwarded in both directions over every connection so far.
  std::uint64_t bytes_forwarded() const { return bytes_forwarded_; }
  // Bytes read and discarded: those a drop swallowed, and those a cut or a
  // truncate was holding.
  std::uint64_t bytes_dropped() const { return bytes_dropped_; }
  // Chunks held back by set_delays().
  std::size_t chunks_delayed() const { return chunks_delayed_; }

 private:
  struct Connection;
  void run();
  void accept_connections();
  // Moves bytes of one direction; false when the connection failed.
  bool pump(Connection& connection, int direction);
  void apply_fault(Connection& connection);
  void close_connection(Connection& connection, bool reset);
  // A delay drawn for the next chunk, or none when delays are off.
  std::optional<std::chrono::milliseconds> draw_delay();

  int listener_ = -1;
  unsigned short port_ = 0;
  std::atomic<unsigned short> upstream_port_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> cut_all_requested_{false};
  std::atomic<bool> release_requested_{false};
  std::atomic<std::size_t> faults_applied_{0};
  std::atomic<std::size_t> stalls_in_progress_{0};
  std::atomic<std::size_t> connections_accepted_{0};
  std::atomic<std::uint64_t> bytes_forwarded_{0};
  std::atomic<std::uint64_t> bytes_dropped_{0};
  std::atomic<std::size_t> chunks_delayed_{0};
  mutable std::mutex mutex_;
  std::deque<Fault> faults_;                   // REQUIRES: mutex_ is held
  std::chrono::milliseconds fewest_delay_{0};  // REQUIRES: mutex_ is held
  std::chrono::milliseconds most_delay_{0};    // REQUIRES: mutex_ is held
  std::mt19937_64 delay_random_;               // REQUIRES: mutex_ is held
  std::list<Connection> connections_;          // the proxy thread's only
  std::thread thread_;
};

}  // namespace casefile::e2e
