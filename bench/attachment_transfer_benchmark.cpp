// Attachment transfer through the whole server, and through the real device
// library, of a 1 GiB attachment over pinned TLS on loopback (issue #8).
//
// casefiled: one in-process client uploads it to a real casefiled with tus
// PATCH requests of 8 MiB (each streamed to disk and fsynced), then downloads
// it with 8 MiB range GETs (streamed from the file; the client reads each body
// straight from TLS into one reused buffer, as the baseline does). casefiled's
// peak RSS (VmHWM) is read before and after: it must not grow with the file.
//
// Device: `casefile-device` child processes (the real FieldDevice, SQLCipher
// replica, SyncClient and HttpsClient) attach (encrypt) a file, sync (push the
// record, upload the ciphertext) and fetch (download, check SHA-256, decrypt)
// it, once with a 1 MiB file and once with the full size. Each process's
// VmHWM is polled from /proc while it runs: flat means the same for both
// sizes. Device MiB/s is the extra bytes over the extra seconds of the large
// run, so the fixed cost of a command (scrypt unlock, sign-in) cancels out.
//
// Baseline, same run: raw TLS on loopback with the same certificate, key and
// negotiated cipher, in-process (one Beast/Asio TLS connection pushing the
// same bytes each way, discarding them): what the wire itself allows.
//
// `attachment_transfer_benchmark [--bytes N]` (default 1 GiB; tools/run-benchmarks
// passes Google Benchmark flags, which are ignored).
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
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
#include "sync/device_authentication.hpp"
#include "tests/e2e/e2e_fixture.hpp"
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

// One row of the table: a measure, its figure, the baseline's.
struct Row {
  std::string measure;
  double value = 0;
  double baseline = 0;  // 0: no baseline for this row
};

void print_table(const std::vector<Row>& rows) {
  std::printf("| %-50s | %10s | %10s | %7s |\n", "measure", "value", "raw TLS", "ratio");
  std::printf("|%s|%s|%s|%s|\n", std::string(52, '-').c_str(), std::string(12, '-').c_str(),
              std::string(12, '-').c_str(), std::string(9, '-').c_str());
  for (const Row& row : rows) {
    if (row.baseline > 0) {
      std::printf("| %-50s | %10.1f | %10.1f | %7.2f |\n", row.measure.c_str(), row.value, row.baseline,
                  row.value / row.baseline);
    } else {
      std::printf("| %-50s | %10.1f | %10s | %7s |\n", row.measure.c_str(), row.value, "", "");
    }
  }
}

// One casefile-device command: how long it took and its peak RSS, polled
// from /proc while it ran.
struct DeviceRun {
  double seconds = 0;
  double peak_rss_mib = 0;
  boost::json::object answer;
};

DeviceRun run_device(e2e::E2eDevice& device, const std::vector<std::string>& arguments) {
  const auto started = Clock::now();
  auto process = device.start(arguments);
  const std::string pid = std::to_string(process->pid());
  DeviceRun run;
  while (process->running()) {
    run.peak_rss_mib = std::max(run.peak_rss_mib, peak_rss_mib(pid));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const auto result = process->wait(std::chrono::hours(1));
  run.seconds = seconds_since(started);
  run.answer = result.json();
  if (result.exit_code != 0) throw std::runtime_error(result.describe());
  return run;
}

// A file of `size` bytes, `block` repeated.
fs::path plaintext_file(const fs::path& path, const std::string& block, std::uint64_t size) {
  std::ofstream out(path, std::ios::binary);
  for (std::uint64_t written = 0; written < size; written += block.size()) {
    out.write(block.data(),
              static_cast<std::streamsize>(std::min<std::uint64_t>(block.size(), size - written)));
  }
  if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
  return path;
}

// Attach, sync (upload) and fetch (download, decrypt) of one file.
struct DeviceTransfer {
  DeviceRun attach;
  DeviceRun sync;
  DeviceRun fetch;
};

DeviceTransfer device_transfer(e2e::E2eDevice& device, const std::string& case_id, const fs::path& file,
                               const fs::path& output) {
  DeviceTransfer transfer;
  transfer.attach = run_device(device, {"attach", "--case", case_id, "--file", file.string(), "--category",
                                        "audio", "--name", "interview.ogg"});
  const std::string record(transfer.attach.answer.at("record").as_string());
  transfer.sync = run_device(device, {"sync"});
  transfer.fetch = run_device(device, {"fetch", "--record", record, "--out", output.string()});
  require(fs::file_size(output) == fs::file_size(file), "fetched size");
  fs::remove(output);
  return transfer;
}

// A casefile-device of `user`, made, enrolled through casefiled and certified.
std::unique_ptr<e2e::E2eDevice> enrolled_device(e2e::CommandRunner& runner, const fs::path& directory,
                                                AccessAdministration& administration,
                                                const crypto::Ed25519PrivateKey& authority,
                                                const InstanceSummary& summary, unsigned short port) {
  auto device = std::make_unique<e2e::E2eDevice>(directory, "bench-device", "amina", runner);
  device->set_id(std::string(device->ok({"init"}).at("device_id").as_string()));
  const auto code = administration.create_enrolment_code("amina", std::chrono::minutes(15)).value().text;
  const auto payload = sync::enrolment_payload("https://127.0.0.1:" + std::to_string(port),
                                               summary.tls_spki_pin, summary.authority_fingerprint, code);
  auto enrolling = device->start({"enrol", boost::json::serialize(payload), "--wait", "120"});
  const auto device_id = sync::parse_id<sync::DeviceId>(device->id());
  require(device_id.has_value(), "device id");
  // Certified as soon as its enrolment reaches casefiled.
  while (!administration.certify_device(*device_id, authority).ok()) {
    require(enrolling->running(), "the enrolment ended before it was certified");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  require(enrolling->wait().exit_code == 0, "enrol");
  return device;
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

// GET of bytes [first, last] of `target`: the header through Beast, the body
// read straight from TLS into `body` (reused), as the raw TLS baseline reads.
// Returns the body's size.
std::uint64_t read_range(TlsClient& client, const std::string& target, const std::string& token,
                         std::uint64_t first, std::uint64_t last, std::vector<char>& body) {
  const std::string request = "GET " + target + " HTTP/1.1\r\nHost: casefiled\r\nAuthorization: Bearer " +
                              token + "\r\nRange: bytes=" + std::to_string(first) + "-" +
                              std::to_string(last) + "\r\n\r\n";
  if (auto error = client.write(request)) throw std::runtime_error("write failed: " + error.message());
  HttpResponse head;
  if (auto error = client.read_header(head)) throw std::runtime_error("range GET: " + error.message());
  require(head.result_int() == 206u && head.count(http::field::content_length) == 1, "range GET");
  const std::uint64_t remaining = std::stoull(std::string(head[http::field::content_length]));
  require(remaining <= body.size(), "range larger than asked");
  std::uint64_t received = 0;
  beast::error_code error;
  while (received < remaining && !error) {
    received += client.read_some(body.data() + received, remaining - received, error);
  }
  require(!error, "range body: " + error.message());
  return remaining;
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
  std::vector<char> body(kChunk);
  for (std::uint64_t offset = 0; offset < size; offset += kChunk) {
    const std::uint64_t last = std::min<std::uint64_t>(offset + kChunk, size) - 1;
    downloaded += read_range(client, target, device.token, offset, last, body);
  }
  const double download_seconds = seconds_since(download_started);
  require(downloaded == size, "downloaded size");

  const double rss_after_download = peak_rss_mib(pid);

  std::cerr << "device: enrol\n";
  e2e::CommandRunner runner(directory.path() / "commands");
  auto field_device = enrolled_device(runner, directory.path() / "device", administration, authority, summary,
                                      casefiled.port());
  const std::string device_case(
      field_device
          ->ok({"case", "new", "--set", "stage=investigation", "--set", "province=North", "--set",
                "channel=duty_lawyer", "--set", "opened_on=2026-11-01"})
          .at("case_id")
          .as_string());
  field_device->ok({"sync"});
  constexpr std::uint64_t kSmall = 1024 * 1024;
  std::cerr << "device: 1 MiB\n";
  const auto small = device_transfer(*field_device, device_case,
                                     plaintext_file(directory.path() / "small.ogg", content.block, kSmall),
                                     directory.path() / "small.out");
  std::cerr << "device: " << size / (1024 * 1024) << " MiB\n";
  const fs::path large_file = plaintext_file(directory.path() / "large.ogg", content.block, size);
  const auto large = device_transfer(*field_device, device_case, large_file, directory.path() / "large.out");
  fs::remove(large_file);
  const double rss_after_device = peak_rss_mib(pid);
  // The extra bytes over the extra seconds: a command's fixed cost cancels out.
  auto device_rate = [&](const DeviceRun& small_run, const DeviceRun& large_run) {
    return mebibytes_per_second(size - kSmall, large_run.seconds - small_run.seconds);
  };

  std::cerr << "raw TLS baseline\n";
  const auto [raw_upload, raw_download] =
      raw_tls(InstanceLayout(request.root).tls_certificate(), InstanceLayout(request.root).tls_private_key(),
              summary.tls_spki_pin, content);
  std::printf("attachment of %.0f MiB, PATCH and range GET of %zu MiB\n\n", size / (1024.0 * 1024.0),
              kChunk / (1024 * 1024));
  const std::string mib = std::to_string(size / (1024 * 1024)) + " MiB";
  print_table({
      {"casefiled upload MiB/s (tus PATCH, fsync each)", mebibytes_per_second(size, upload_seconds),
       raw_upload},
      {"casefiled download MiB/s (range GETs)", mebibytes_per_second(size, download_seconds), raw_download},
      {"device attach MiB/s (encrypt to its directory)", device_rate(small.attach, large.attach), 0},
      {"device sync MiB/s (tus upload of the ciphertext)", device_rate(small.sync, large.sync), raw_upload},
      {"device fetch MiB/s (download, SHA-256, decrypt)", device_rate(small.fetch, large.fetch),
       raw_download},
      {"casefiled VmHWM MiB before", rss_before, 0},
      {"casefiled VmHWM MiB after upload", rss_after_upload, 0},
      {"casefiled VmHWM MiB after download", rss_after_download, 0},
      {"casefiled VmHWM MiB after the device's runs", rss_after_device, 0},
      {"casefile-device attach VmHWM MiB, 1 MiB file", small.attach.peak_rss_mib, 0},
      {"casefile-device attach VmHWM MiB, " + mib, large.attach.peak_rss_mib, 0},
      {"casefile-device sync VmHWM MiB, 1 MiB file", small.sync.peak_rss_mib, 0},
      {"casefile-device sync VmHWM MiB, " + mib, large.sync.peak_rss_mib, 0},
      {"casefile-device fetch VmHWM MiB, 1 MiB file", small.fetch.peak_rss_mib, 0},
      {"casefile-device fetch VmHWM MiB, " + mib, large.fetch.peak_rss_mib, 0},
  });
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
