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
#include <boost/asio/ssl.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "bench/support/transport_load.hpp"
#include "crypto/tls_context.hpp"
#include "server/instance.hpp"
#include "tests/server/casefiled_process.hpp"

namespace {

namespace fs = std::filesystem;
namespace net = boost::asio;
using namespace casefile;
using bench::LoadCell;

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
  std::vector<LoadCell> minimal_requests, minimal_handshakes, casefiled_requests, casefiled_handshakes;
  {
    bench::MinimalServerProcess minimal(server_context, server_threads);
    server::testing::CasefiledProcess casefiled(layout.config(), directory / "casefiled.log",
                                                instance->tls_spki_pin, {"--log-level", "warning"});
    for (unsigned round = 0; round < rounds; ++round) {
      minimal_requests.push_back(
          bench::keep_alive_requests(client_context, minimal.port(), "/healthz", threads, seconds));
      casefiled_requests.push_back(
          bench::keep_alive_requests(client_context, casefiled.port(), "/healthz", threads, seconds));
      minimal_handshakes.push_back(
          bench::fresh_handshakes(client_context, minimal.port(), "/healthz", threads, seconds));
      casefiled_handshakes.push_back(
          bench::fresh_handshakes(client_context, casefiled.port(), "/healthz", threads, seconds));
    }
    casefiled.signal(SIGTERM);
    casefiled.wait_for_exit();
  }
  fs::remove_all(directory);

  const LoadCell mr = bench::median_cell(minimal_requests), cr = bench::median_cell(casefiled_requests);
  const LoadCell mh = bench::median_cell(minimal_handshakes), ch = bench::median_cell(casefiled_handshakes);
  std::printf(
      "transport: %u client threads, %u server I/O threads, median of %u interleaved rounds of %.1f s, "
      "loopback, TLS 1.3, P-256 certificate\n\n",
      threads, server_threads, rounds, seconds);
  std::printf("%-32s %18s %18s %8s\n", "cell", "minimal Beast TLS", "casefiled /healthz", "ratio");
  std::printf("%-32s %18s %18s %8.2f\n", "keep-alive GET (requests/s)", bench::format_rate(mr).c_str(),
              bench::format_rate(cr).c_str(), cr.per_second / mr.per_second);
  std::printf("%-32s %18s %18s %8.2f\n", "new connection (handshakes/s)", bench::format_rate(mh).c_str(),
              bench::format_rate(ch).c_str(), ch.per_second / mh.per_second);
  return 0;
}
