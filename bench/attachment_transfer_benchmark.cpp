// Attachment transfer through the whole server: one device uploads a 1 GiB
// attachment to a real casefiled over pinned TLS on loopback (tus PATCH
// requests of 8 MiB, each streamed to disk and fsynced), then downloads it
// with 8 MiB range GETs (streamed from the file). casefiled's peak RSS
// (VmHWM) is read before and after: it must not grow with the file.
//
// Baseline, same run: raw TLS on loopback with the same certificate, key and
// negotiated cipher, in-process (one Beast/Asio TLS connection pushing the
// same bytes each way, discarding them): what the wire itself allows.
//
// `attachment_transfer_benchmark [--bytes N]` (default 1 GiB; tools/run-benchmarks
// passes Google Benchmark flags, which are ignored).
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include "crypto/key_file.hpp"
#include "crypto/tls_context.hpp"
#include "server/access/sqlcipher_control_store.hpp"
#include "server/instance.hpp"
#include "tests/server/attachments/tus_client.hpp"
#include "tests/support/scratch_directory.hpp"

namespace casefile {
namespace {

using namespace casefile::server;
using namespace casefile::server::testing;
namespace fs = std::filesystem;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr const char* kAdminPassphrase = "benchmark passphrase, not a secret";
constexpr std::size_t kChunk = 8 * 1024 * 1024;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double mebibytes_per_second(std::uint64_t bytes, double seconds) {
  return bytes / (1024.0 * 1024.0) / seconds;
}

// VmHWM of a process, in MiB (0 when unreadable).
double peak_rss_mib(const std::string& pid) {
  std::ifstream status("/proc/" + pid + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

// One row of the table: a measure, casefiled's figure, the baseline's.
struct Row {
  std::string measure;
  double casefiled = 0;
  double baseline = 0;  // 0: no baseline for this row
};

void print_table(const std::vector<Row>& rows) {
  std::printf("| %-36s | %12s | %12s | %7s |\n", "measure", "casefiled", "raw TLS", "ratio");
  std::printf("|%s|%s|%s|%s|\n", std::string(38, '-').c_str(), std::string(14, '-').c_str(),
              std::string(14, '-').c_str(), std::string(9, '-').c_str());
  for (const Row& row : rows) {
    if (row.baseline > 0) {
      std::printf("| %-36s | %12.1f | %12.1f | %7.2f |\n", row.measure.c_str(), row.casefiled, row.baseline,
                  row.casefiled / row.baseline);
    } else {
      std::printf("| %-36s | %12.1f | %12s | %7s |\n", row.measure.c_str(), row.casefiled, "", "");
    }
  }
}

// The same 8 MiB of random bytes repeated: the attachment's "ciphertext".
struct Content {
  std::string block;
  std::uint64_t size = 0;
  std::string sha256_hex;
};

Content make_content(std::uint64_t size) {
  Content content;
  content.block = random_bytes(kChunk, 7);
  content.size = size;
  crypto::Sha256 hash;
  for (std::uint64_t at = 0; at < size; at += kChunk) {
    hash.update(crypto::as_bytes(
        std::string_view(content.block).substr(0, std::min<std::uint64_t>(kChunk, size - at))));
  }
  const auto digest = hash.finish();
  content.sha256_hex = crypto::to_hex(crypto::ByteView(digest.data(), digest.size()));
  return content;
}

// Raw TLS: a server thread reads `size` bytes then writes them back; the
// client writes then reads. Returns (upload, download) MiB/s.
std::pair<double, double> raw_tls(const fs::path& certificate, const fs::path& key,
                                  const crypto::Sha256Digest& pin, const Content& content) {
  net::io_context server_io;
  auto handle = crypto::load_server_tls_context(certificate, key);
  if (!handle.ok()) throw std::runtime_error(handle.error().message);
  net::ssl::context server_context(handle->release());
  tcp::acceptor acceptor(server_io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  const unsigned short port = acceptor.local_endpoint().port();
  std::thread server([&] {
    net::ssl::stream<tcp::socket> stream(server_io, server_context);
    acceptor.accept(stream.lowest_layer());
    stream.handshake(net::ssl::stream_base::server);
    std::vector<char> buffer(kChunk);
    std::uint64_t received = 0;
    while (received < content.size) received += stream.read_some(net::buffer(buffer));
    for (std::uint64_t sent = 0; sent < content.size; sent += kChunk) {
      net::write(stream,
                 net::buffer(content.block.data(), std::min<std::uint64_t>(kChunk, content.size - sent)));
    }
    // The client reads every byte before it ends; no close_notify exchange.
    beast::error_code ignored;
    stream.lowest_layer().shutdown(tcp::socket::shutdown_send, ignored);
  });
  auto client_context = pinned_client_context(pin);
  TlsClient client(client_context, port);
  if (auto error = client.connect()) throw std::runtime_error("raw TLS connect: " + error.message());
  const auto upload_started = Clock::now();
  for (std::uint64_t sent = 0; sent < content.size; sent += kChunk) {
    client.write(
        std::string_view(content.block).substr(0, std::min<std::uint64_t>(kChunk, content.size - sent)));
  }
  const double upload_seconds = seconds_since(upload_started);
  const auto download_started = Clock::now();
  std::vector<char> buffer(kChunk);
  std::uint64_t received = 0;
  while (received < content.size) {
    beast::error_code error;
    received += client.read_some(buffer.data(), buffer.size(), error);
    if (error) break;
  }
  const double download_seconds = seconds_since(download_started);
  server.join();
  return {mebibytes_per_second(content.size, upload_seconds),
          mebibytes_per_second(content.size, download_seconds)};
}

int run(std::uint64_t size) {
  test_support::ScratchDirectory directory;
  InstanceRequest request;
  request.root = directory.path() / "instance";
  request.admin_passphrase = kAdminPassphrase;
  const auto summary = create_instance(request).value();
  auto control = SqlCipherControlStore::open_in_instance(request.root).value();
  AccessAdministration administration(*control, "admin:bench");
  require(administration.add_user("amina", Role::lawyer).ok(), "add user");
  const auto seed = crypto::load_key_file(InstanceLayout(request.root).authority_key(), kAdminPassphrase,
                                          crypto::kKeyFilePurposeOrgAuthority)
                        .value();
  const auto authority = crypto::Ed25519PrivateKey::from_seed(seed.view()).value();
  const Content content = make_content(size);

  CasefiledProcess casefiled(InstanceLayout(request.root).config(), directory.path() / "casefiled.log",
                             summary.tls_spki_pin);
  const std::string pid = read_file(request.root / "casefiled.pid")
                              .substr(0, read_file(request.root / "casefiled.pid").find('\n'));
  auto context = pinned_client_context(summary.tls_spki_pin);
  TlsClient client(context, casefiled.port());
  if (auto error = client.connect()) throw std::runtime_error("connect: " + error.message());
  FieldDevice device = enrol_device(client, administration, authority, summary.tls_spki_pin, "amina", 1);
  const sync::CaseId case_id = case_number(1);
  const auto created_case =
      send(client, "POST", "/v1/cases", device.token,
           boost::json::serialize(boost::json::object{{"case_id", sync::to_text(case_id)}}));
  require(created_case.result_int() == 201u, "create case: " + created_case.body());
  push_attachment_record(client, device, case_id, record_number(1), content.size, content.sha256_hex);
  const double rss_before = peak_rss_mib(pid);
  std::cerr << "uploading\n";

  const auto created = send(client, "POST", "/v1/uploads", device.token, {},
                            tus_headers() + "Upload-Length: " + std::to_string(size) + "\r\n" +
                                metadata(case_id, record_number(1)));
  require(created.result_int() == 201u, "create upload: " + created.body());
  const std::string location(created[http::field::location]);
  const auto upload_started = Clock::now();
  for (std::uint64_t offset = 0; offset < size; offset += kChunk) {
    const auto chunk =
        std::string_view(content.block).substr(0, std::min<std::uint64_t>(kChunk, size - offset));
    const auto answer =
        send(client, "PATCH", location, device.token, std::string(chunk), patch_headers(offset));
    require(answer.result_int() == 204u, "PATCH: " + answer.body());
  }
  const double upload_seconds = seconds_since(upload_started);
  const double rss_after_upload = peak_rss_mib(pid);

  const std::string target =
      "/v1/cases/" + sync::to_text(case_id) + "/attachments/" + sync::to_text(record_number(1));
  std::cerr << "downloading\n";
  const auto download_started = Clock::now();
  std::uint64_t downloaded = 0;
  for (std::uint64_t offset = 0; offset < size; offset += kChunk) {
    const std::uint64_t last = std::min<std::uint64_t>(offset + kChunk, size) - 1;
    const auto answer = send(client, "GET", target, device.token, {},
                             "Range: bytes=" + std::to_string(offset) + "-" + std::to_string(last) + "\r\n");
    require(answer.result_int() == 206u, "range GET");
    downloaded += answer.body().size();
  }
  const double download_seconds = seconds_since(download_started);
  require(downloaded == size, "downloaded size");
  const double rss_after_download = peak_rss_mib(pid);

  std::cerr << "raw TLS baseline\n";
  const auto [raw_upload, raw_download] =
      raw_tls(InstanceLayout(request.root).tls_certificate(), InstanceLayout(request.root).tls_private_key(),
              summary.tls_spki_pin, content);
  std::printf("attachment of %.0f MiB, PATCH and range GET of %zu MiB\n\n", size / (1024.0 * 1024.0),
              kChunk / (1024 * 1024));
  print_table(
      {{"upload MiB/s (tus PATCH, fsync each)", mebibytes_per_second(size, upload_seconds), raw_upload},
       {"download MiB/s (range GETs)", mebibytes_per_second(size, download_seconds), raw_download},
       {"casefiled VmHWM MiB before", rss_before, 0},
       {"casefiled VmHWM MiB after upload", rss_after_upload, 0},
       {"casefiled VmHWM MiB after download", rss_after_download, 0}});
  return 0;
}

}  // namespace
}  // namespace casefile

int main(int argc, char** argv) {
  std::uint64_t size = std::uint64_t{1} << 30;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--bytes") size = std::stoull(argv[i + 1]);
  }
  try {
    return casefile::run(size);
  } catch (const std::exception& error) {
    std::cerr << "attachment_transfer_benchmark: " << error.what() << "\n";
    return 1;
  }
}
