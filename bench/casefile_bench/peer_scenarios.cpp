#include "bench/casefile_bench/peer_scenarios.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/ssl.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/support/bench_instance.hpp"
#include "bench/support/transport_load.hpp"
#include "crypto/tls_context.hpp"
#include "tests/server/casefiled_process.hpp"
#include "tests/support/scratch_directory.hpp"

namespace casefile::bench {
namespace {

namespace fs = std::filesystem;
namespace net = boost::asio;
namespace json = boost::json;

// The body casefiled's /healthz answers, served by nginx as a static file.
constexpr const char* kHealthBody = R"({"status":"alive"})";

// nginx with its own configuration in a scratch directory, in the
// foreground as a child process; stopped (SIGQUIT, then SIGKILL) on destruction.
class NginxProcess {
 public:
  NginxProcess(const fs::path& directory, const server::InstanceLayout& layout) {
    fs::create_directories(directory / "www");
    std::ofstream(directory / "www" / "healthz") << kHealthBody;
    port_ = server::testing::pick_free_port();
    const fs::path config = directory / "nginx.conf";
    std::ofstream out(config);
    // As root, workers would drop to nobody, who cannot read the scratch directory.
    if (::geteuid() == 0) out << "user root;\n";
    out << "daemon off;\nworker_processes auto;\npid " << (directory / "nginx.pid").string() << ";\n"
        << "error_log " << (directory / "error.log").string() << " warn;\n"
        << "events { worker_connections 4096; }\n"
        << "http {\n  access_log off;\n  default_type application/json;\n"
        << "  client_body_temp_path " << (directory / "body").string() << ";\n"
        << "  proxy_temp_path " << (directory / "proxy").string() << ";\n"
        << "  fastcgi_temp_path " << (directory / "fastcgi").string() << ";\n"
        << "  uwsgi_temp_path " << (directory / "uwsgi").string() << ";\n"
        << "  scgi_temp_path " << (directory / "scgi").string() << ";\n"
        << "  keepalive_requests 10000000;\n  keepalive_timeout 120s;\n"
        << "  server {\n    listen 127.0.0.1:" << port_ << " ssl;\n"
        << "    ssl_certificate " << layout.tls_certificate().string() << ";\n"
        << "    ssl_certificate_key " << layout.tls_private_key().string() << ";\n"
        << "    ssl_protocols TLSv1.2 TLSv1.3;\n"
        << "    root " << (directory / "www").string() << ";\n  }\n}\n";
    out.close();
    const std::string log = (directory / "nginx.out").string();
    pid_ = ::fork();
    if (pid_ < 0) fail("nginx", make_error("fork_failed", "fork failed"));
    if (pid_ == 0) {
      const int output = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      if (output < 0 || ::dup2(output, STDERR_FILENO) < 0 || ::dup2(output, STDOUT_FILENO) < 0) _exit(126);
      ::execlp("nginx", "nginx", "-p", directory.c_str(), "-c", config.c_str(), "-e",
               (directory / "error.log").c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    // Ready when it accepts connections.
    for (int attempt = 0; attempt < 200; ++attempt) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        fail("nginx", make_error("nginx_failed", "nginx exited; see " + log + " and error.log"));
      }
      const int socket = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons(port_);
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      const bool listening = ::connect(socket, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
      ::close(socket);
      if (listening) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    fail("nginx", make_error("nginx_not_ready", "nginx did not listen within 10 s; see " + log));
  }
  ~NginxProcess() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGQUIT);
    for (int attempt = 0; attempt < 100; ++attempt) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  NginxProcess(const NginxProcess&) = delete;
  NginxProcess& operator=(const NginxProcess&) = delete;
  unsigned short port() const { return port_; }

 private:
  pid_t pid_ = -1;
  unsigned short port_ = 0;
};

ReportRow load_row(const std::string& measure, const LoadCell& cell, const char* unit,
                   std::optional<ProcessUsage> server = std::nullopt) {
  return {measure, cell.per_second, unit, summarize_latencies(cell.latencies_ms), server};
}

enum class TransportCell { handshakes, keep_alive };

// Drives casefiled and `baseline_port` alike, interleaved round by round;
// the median round of each is kept. casefiled's CPU is over all its rounds.
struct TransportRun {
  LoadCell casefiled;
  LoadCell baseline;
  ProcessUsage casefiled_usage;
};

template <class StartBaseline>
TransportRun run_transport(const TransportWorkload& workload, TransportCell cell,
                           StartBaseline start_baseline) {
  test_support::ScratchDirectory directory;
  BenchInstance instance = make_instance(directory.path());
  const server::InstanceLayout layout(instance.root);
  auto server_handle =
      must(crypto::load_server_tls_context(layout.tls_certificate(), layout.tls_private_key()),
           "server TLS context");
  net::ssl::context server_context(server_handle.release());
  auto client_context = server::testing::pinned_client_context(instance.summary.tls_spki_pin);
  // The baseline first: the minimal server forks, which needs a process without threads.
  auto baseline = start_baseline(directory.path(), layout, server_context);
  server::testing::CasefiledProcess casefiled(layout.config(), directory.path() / "casefiled.log",
                                              instance.summary.tls_spki_pin, {"--log-level", "warning"});
  const pid_t server_pid = read_pid_file(instance.root / "casefiled.pid");
  const auto measure = [&](unsigned short port) {
    return cell == TransportCell::handshakes
               ? fresh_handshakes(client_context, port, "/healthz", workload.threads, workload.seconds)
               : keep_alive_requests(client_context, port, "/healthz", workload.threads, workload.seconds);
  };
  std::vector<LoadCell> casefiled_cells, baseline_cells;
  const ProcessUsage before = read_process_usage(server_pid);
  for (unsigned round = 0; round < workload.rounds; ++round) {
    baseline_cells.push_back(measure(baseline->port()));
    casefiled_cells.push_back(measure(casefiled.port()));
  }
  const ProcessUsage after = read_process_usage(server_pid);
  casefiled.signal(SIGTERM);
  casefiled.wait_for_exit();
  return {median_cell(casefiled_cells),
          median_cell(baseline_cells),
          {after.cpu_seconds - before.cpu_seconds, after.peak_rss_mib}};
}

std::string transport_note(const TransportWorkload& workload) {
  return std::to_string(workload.threads) + " client threads, " + std::to_string(workload.rounds) +
         " interleaved rounds of " + std::to_string(workload.seconds).substr(0, 4) +
         " s each, median round shown; TLS on loopback, same certificate; casefiled CPU over all its rounds";
}

// Scenario 5 or 6's table: casefiled's row, the baseline's, their ratio
// against `target` (at least), and the failed operations if any.
ScenarioReport transport_report(const TransportWorkload& workload, const TransportRun& run, int number,
                                const std::string& title, const char* unit, const std::string& baseline,
                                double target, const std::string& note_suffix) {
  ScenarioReport report;
  report.number = number;
  report.title = title;
  report.rows.push_back(load_row("casefiled /healthz", run.casefiled, unit, run.casefiled_usage));
  report.rows.push_back(load_row("baseline: " + baseline, run.baseline, unit));
  report.ratio_name = "casefiled / " + baseline;
  report.ratio = run.casefiled.per_second / run.baseline.per_second;
  char at_least[16];
  std::snprintf(at_least, sizeof at_least, ">= %.2f", target);
  report.target = at_least;
  report.met = report.ratio >= target;
  report.notes.push_back(transport_note(workload) + note_suffix);
  if (run.casefiled.failures + run.baseline.failures != 0) {
    report.notes.push_back("failed operations: casefiled " + std::to_string(run.casefiled.failures) +
                           ", baseline " + std::to_string(run.baseline.failures));
  }
  return report;
}

}  // namespace

ScenarioReport handshake_report(const TransportWorkload& workload) {
  const auto run =
      run_transport(workload, TransportCell::handshakes,
                    [](const fs::path&, const server::InstanceLayout&, net::ssl::context& context) {
                      return std::make_unique<MinimalServerProcess>(
                          context, std::max(1u, std::thread::hardware_concurrency()));
                    });
  return transport_report(workload, run, 5,
                          "TLS handshakes a second (new connection, full handshake, one GET /healthz)",
                          "handshakes/s", "minimal Beast TLS server", 0.80, "");
}

ScenarioReport keep_alive_report(const TransportWorkload& workload) {
  const auto run =
      run_transport(workload, TransportCell::keep_alive,
                    [](const fs::path& directory, const server::InstanceLayout& layout, net::ssl::context&) {
                      return std::make_unique<NginxProcess>(directory / "nginx", layout);
                    });
  return transport_report(workload, run, 6,
                          "keep-alive small requests a second (GET /healthz, 18-byte JSON body)",
                          "requests/s", "nginx, static file, TLS", 0.70, "; nginx: worker_processes auto");
}

ScenarioReport pouchdb_report(const SyncWorkload& workload, const PouchdbPeer& peer) {
  if (!fs::exists(peer.node_modules / "pouchdb-node") || !fs::exists(peer.node_modules / "express-pouchdb")) {
    fail("scenario 7",
         make_error("peer_not_installed",
                    "no pouchdb-node/express-pouchdb under " + peer.node_modules.string() +
                        ": run tools/run-benchmarks (it runs npm install) or pass --node-modules"));
  }
  SyncWorkload one_device = workload;
  one_device.devices = 1;
  const PushPullFigures casefile_figures = measure_push_and_pull(one_device);

  test_support::ScratchDirectory directory;
  const std::string command = "NODE_PATH='" + peer.node_modules.string() + "' node '" + peer.script.string() +
                              "' --docs " + std::to_string(workload.changes) + " --value-bytes " +
                              std::to_string(workload.value_bytes) + " --dir '" + directory.path().string() +
                              "'";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) fail("scenario 7", make_error("peer_failed", "cannot run node"));
  std::string output;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  if (::pclose(pipe) != 0)
    fail("scenario 7", make_error("peer_failed", "the PouchDB peer failed: " + output));
  boost::system::error_code error;
  const json::value parsed = json::parse(output, error);
  if (error || !parsed.is_object())
    fail("scenario 7", make_error("peer_failed", "unreadable output: " + output));
  const auto& result = parsed.as_object();
  const auto number = [&](const char* key) { return json::value_to<double>(result.at(key)); };
  const double docs = number("docs");
  if (number("pushed") != docs || number("pulled") != docs) {
    fail("scenario 7",
         make_error("peer_lost_docs", "the PouchDB peer did not replicate every doc: " + output));
  }
  const double pouch_push = number("push_seconds");
  const double pouch_pull = number("pull_seconds");
  const ProcessUsage pouch_server{number("server_cpu_seconds"), number("server_peak_rss_mib")};

  ScenarioReport report;
  report.number = 7;
  report.title = "push then pull of " + std::to_string(workload.changes) + " documents (" +
                 std::to_string(workload.value_bytes) + "-byte bodies), one device each way";
  ReportRow push = casefile_figures.push;
  push.measure = "casefiled: one device pushes (500-change batches)";
  ReportRow pull = casefile_figures.pull;
  pull.measure = "casefiled: a new device pulls (500-entry pages)";
  report.rows.push_back(push);
  report.rows.push_back(pull);
  report.rows.push_back({"peer: PouchDB replicates up to express-pouchdb", docs / pouch_push, "docs/s",
                         std::nullopt, std::nullopt});
  report.rows.push_back(
      {"peer: a fresh PouchDB replicates down", docs / pouch_pull, "docs/s", std::nullopt, pouch_server});
  const double casefile_seconds = casefile_figures.push_seconds + casefile_figures.pull_seconds;
  const double pouch_seconds = pouch_push + pouch_pull;
  report.ratio_name = "PouchDB seconds / Casefile seconds (push + pull)";
  report.ratio = pouch_seconds / casefile_seconds;
  report.target = ">= 10";
  report.met = report.ratio >= 10;
  char line[256];
  std::snprintf(line, sizeof line,
                "seconds: Casefile push %.1f + pull %.1f = %.1f; PouchDB push %.1f + pull %.1f = %.1f",
                casefile_figures.push_seconds, casefile_figures.pull_seconds, casefile_seconds, pouch_push,
                pouch_pull, pouch_seconds);
  report.notes.push_back(line);
  report.notes.push_back(
      "the peer runs plain HTTP and LevelDB without an fsync per batch (express-pouchdb's server CPU and "
      "peak RSS "
      "are over its whole life, on the last row); Casefile runs TLS, signs and verifies every batch, and "
      "commits "
      "with synchronous=FULL: both favour the peer. Batches of 500 on both sides");
  return report;
}

}  // namespace casefile::bench
