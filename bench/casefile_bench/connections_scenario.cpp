#include "bench/casefile_bench/connections_scenario.hpp"

#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/support/bench_instance.hpp"
#include "device/sync_client.hpp"
#include "tests/server/casefiled_process.hpp"
#include "tests/support/scratch_directory.hpp"

namespace casefile::bench {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

// Syncs are measured only once every connection is open: while connections
// are still handshaking, their syncs queue behind the handshakes.
struct Tally {
  explicit Tally(std::size_t connections) : connections(connections) {}
  const std::size_t connections;
  std::mutex mutex;
  std::vector<double> latencies_ms;
  std::size_t failures = 0;
  std::size_t connected = 0;
  std::atomic<bool> all_open{false};
  Clock::time_point all_open_at;
};

// One device connection: connect and handshake at `open_at`, then one pull
// every period (first one at a random phase) until `stop_at`.
class PeriodicConnection : public std::enable_shared_from_this<PeriodicConnection> {
 public:
  PeriodicConnection(net::io_context& io, net::ssl::context& context, unsigned short port,
                     std::string request, Clock::duration period, Clock::time_point open_at,
                     Clock::time_point first_sync_at, Clock::time_point stop_at, Tally& tally)
      : stream_(net::make_strand(io), context),
        timer_(stream_.get_executor()),
        port_(port),
        request_(std::move(request)),
        period_(period),
        next_sync_(first_sync_at),
        stop_at_(stop_at),
        tally_(tally) {
    timer_.expires_at(open_at);
  }

  void start() {
    timer_.async_wait([self = shared_from_this()](beast::error_code) { self->connect(); });
  }

 private:
  void connect() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
    beast::get_lowest_layer(stream_).async_connect(
        tcp::endpoint(net::ip::make_address("127.0.0.1"), port_),
        [self = shared_from_this()](beast::error_code error) {
          if (error) return self->failed();
          self->stream_.async_handshake(net::ssl::stream_base::client, [self](beast::error_code error) {
            if (error) return self->failed();
            {
              std::lock_guard lock(self->tally_.mutex);
              if (++self->tally_.connected == self->tally_.connections) {
                self->tally_.all_open_at = Clock::now();
                self->tally_.all_open = true;
              }
            }
            self->wait();
          });
        });
  }

  void wait() {
    if (next_sync_ >= stop_at_) return close();
    timer_.expires_at(next_sync_);
    timer_.async_wait([self = shared_from_this()](beast::error_code) { self->sync(); });
  }

  void sync() {
    started_ = Clock::now();
    measured_ = tally_.all_open;
    next_sync_ += period_;
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
    net::async_write(
        stream_, net::buffer(request_), [self = shared_from_this()](beast::error_code error, std::size_t) {
          if (error) return self->failed();
          self->response_ = {};
          http::async_read(
              self->stream_, self->buffer_, self->response_, [self](beast::error_code error, std::size_t) {
                if (error || self->response_.result_int() != 200) return self->failed();
                if (self->measured_) {
                  std::lock_guard lock(self->tally_.mutex);
                  self->tally_.latencies_ms.push_back(
                      std::chrono::duration<double, std::milli>(Clock::now() - self->started_).count());
                }
                self->wait();
              });
        });
  }

  void failed() {
    std::lock_guard lock(tally_.mutex);
    ++tally_.failures;
  }

  void close() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) {});
  }

  net::ssl::stream<beast::tcp_stream> stream_;
  net::steady_timer timer_;
  unsigned short port_;
  std::string request_;
  Clock::duration period_;
  Clock::time_point next_sync_;
  Clock::time_point stop_at_;
  Clock::time_point started_;
  bool measured_ = false;
  beast::flat_buffer buffer_;
  http::response<http::string_body> response_;
  Tally& tally_;
};

std::string percent_encode(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

ScenarioReport connections_report(const ConnectionsWorkload& workload) {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < workload.connections + 256) {
    fail("scenario 4",
         make_error("open_file_limit", "the open-file limit (" + std::to_string(limit.rlim_cur) +
                                           ") is below the connections asked for; raise ulimit -n"));
  }

  test_support::ScratchDirectory directory;
  BenchInstance instance = make_instance(directory.path());
  server::testing::CasefiledProcess casefiled(
      server::InstanceLayout(instance.root).config(), directory.path() / "casefiled.log",
      instance.summary.tls_spki_pin,
      {"--log-level", "warning", "--max-connections", std::to_string(workload.connections + 100)});
  const pid_t server_pid = read_pid_file(instance.root / "casefiled.pid");

  // The real devices: each has a case with a few notes, synced; their tokens
  // and cursors are what the connections sync with.
  std::vector<std::string> requests;
  for (std::size_t d = 0; d < workload.devices; ++d) {
    auto field_device = enrolled_device(instance, directory.path() / ("device-" + std::to_string(d)),
                                        "lawyer-" + std::to_string(d), casefiled.port());
    const sync::CaseId case_id = create_bench_case(field_device);
    for (int i = 0; i < 10; ++i) {
      must(
          field_device.write(case_id, "notes", std::nullopt,
                             {{"created_on", std::string("2026-11-27")}, {"body", note_body(700)}}, now_ms()),
          "write note");
    }
    auto client = must(device::SyncClient::create(field_device), "client");
    must(client.sync_once(), "first sync");
    const auto token = field_device.session_token(now_ms());
    if (!token) fail("scenario 4", make_error("no_session", "no session token after a sync"));
    requests.push_back("GET /v1/sync/pull?cursor=" + percent_encode(field_device.replica().pull_cursor()) +
                       "&limit=100 HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer " + *token + "\r\n\r\n");
  }

  auto client_context = server::testing::pinned_client_context(instance.summary.tls_spki_pin);
  net::io_context io;
  Tally tally(workload.connections);
  const auto period =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(workload.period_seconds));
  // Connections open over the first period (a ramp, not a stampede), then
  // everyone syncs for `duration`; only those syncs are measured.
  const auto start = Clock::now() + std::chrono::milliseconds(100);
  const auto measure_from = start + period;
  const auto stop_at = measure_from + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(workload.duration_seconds));
  std::mt19937_64 random(42);
  std::uniform_int_distribution<Clock::rep> phase(0, period.count() - 1);
  for (std::size_t c = 0; c < workload.connections; ++c) {
    const auto open_at = start + period * c / workload.connections;
    std::make_shared<PeriodicConnection>(io, client_context, casefiled.port(), requests[c % requests.size()],
                                         period, open_at, measure_from + Clock::duration(phase(random)),
                                         stop_at, tally)
        ->start();
  }
  const ProcessUsage before = read_process_usage(server_pid);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) threads.emplace_back([&io] { io.run(); });
  for (auto& thread : threads) thread.join();
  const ProcessUsage after = read_process_usage(server_pid);
  casefiled.signal(SIGTERM);
  casefiled.wait_for_exit();

  const LatencySummary latency = summarize_latencies(tally.latencies_ms);
  const double measured_seconds =
      tally.all_open ? std::chrono::duration<double>(stop_at - tally.all_open_at).count() : 0;
  ScenarioReport report;
  report.number = 4;
  report.title = std::to_string(workload.connections) +
                 " concurrent device connections, each syncing every " +
                 std::to_string(static_cast<int>(workload.period_seconds)) + " s";
  report.rows.push_back({"casefiled: periodic pulls over open connections",
                         static_cast<double>(tally.latencies_ms.size()) / workload.duration_seconds,
                         "syncs/s", latency,
                         ProcessUsage{after.cpu_seconds - before.cpu_seconds, after.peak_rss_mib}});
  report.ratio_name = "p99 ms";
  report.ratio = latency.p99_ms;
  report.target = "< 250 ms, casefiled VmHWM < 512 MiB";
  report.met = latency.p99_ms < 250 && after.peak_rss_mib < 512 && tally.failures == 0 &&
               tally.connected == workload.connections;
  report.notes.push_back("measured: " + std::to_string(tally.latencies_ms.size()) + " syncs in the " +
                         std::to_string(static_cast<int>(measured_seconds)) +
                         " s after the last connection opened (connections open over the first period; syncs "
                         "before the last one opened are not measured)");
  report.notes.push_back("connections open: " + std::to_string(tally.connected) + " of " +
                         std::to_string(workload.connections) + "; failed connects or syncs: " +
                         std::to_string(tally.failures) + "; " + std::to_string(workload.devices) +
                         " real devices' tokens and cursors shared among the connections; casefiled VmHWM " +
                         std::to_string(static_cast<int>(after.peak_rss_mib)) + " MiB");
  return report;
}

}  // namespace casefile::bench
