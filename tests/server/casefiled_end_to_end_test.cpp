// casefiled's transport, end to end: the real binary, a real instance, real
// TLS with the pinning client context that devices use.
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/error.hpp>
#include <boost/json/parse.hpp>

#include "casefiled_process.hpp"
#include "crypto/random.hpp"
#include "crypto/tls_identity.hpp"
#include "server/instance.hpp"
#include "tests/support/shell_command.hpp"

namespace casefile::server {
namespace {

namespace fs = std::filesystem;
using namespace casefile::server::testing;

std::string error_code_of(const HttpResponse& response) {
  return std::string(boost::json::parse(response.body()).at("error").as_string());
}

class CasefiledEndToEndTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    directory_ = new fs::path(fs::temp_directory_path() / ("casefile-e2e-" + std::to_string(::getpid())));
    fs::remove_all(*directory_);
    fs::create_directories(*directory_);
    InstanceRequest request;
    request.root = *directory_ / "instance";
    request.admin_passphrase = "correct horse battery staple";
    auto summary = create_instance(request);
    if (!summary.ok()) throw std::runtime_error(summary.error().message);
    pin_ = new crypto::Sha256Digest(summary->tls_spki_pin);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*directory_);
    delete directory_;
    delete pin_;
  }

  void SetUp() override {
    test_directory_ = *directory_ / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(test_directory_);
  }

  // An instance of this test's own, for tests that change its files.
  fs::path copy_instance() {
    const fs::path copy = test_directory_ / "instance";
    fs::copy(*directory_ / "instance", copy, fs::copy_options::recursive);
    return copy;
  }

  std::unique_ptr<CasefiledProcess> start(std::vector<std::string> flags = {}, fs::path instance = {}) {
    if (instance.empty()) instance = *directory_ / "instance";
    return std::make_unique<CasefiledProcess>(InstanceLayout(instance).config(),
                                              test_directory_ / "casefiled.log", *pin_, std::move(flags));
  }

  static fs::path* directory_;
  static crypto::Sha256Digest* pin_;
  fs::path test_directory_;
};

fs::path* CasefiledEndToEndTest::directory_ = nullptr;
crypto::Sha256Digest* CasefiledEndToEndTest::pin_ = nullptr;

TEST_F(CasefiledEndToEndTest, ServesOperationsRoutesOverPinnedTls13) {
  auto server = start();
  auto context = pinned_client_context(*pin_);
  TlsClient client(context, server->port());
  ASSERT_FALSE(client.connect());
  EXPECT_EQ(SSL_version(client.native()), TLS1_3_VERSION);

  const auto health = client.request("GET", "/healthz");
  EXPECT_EQ(health.result_int(), 200u);
  EXPECT_EQ(boost::json::parse(health.body()).at("status"), "alive");
  EXPECT_EQ(client.request("GET", "/readyz").result_int(), 200u);
  EXPECT_EQ(error_code_of(client.request("GET", "/v1/nothing")), "not_found");

  const auto metrics = client.request("GET", "/metrics");
  EXPECT_EQ(metrics.result_int(), 200u);
  EXPECT_NE(
      metrics.body().find("casefile_http_requests_total{route=\"/healthz\",method=\"GET\",code=\"200\"} 1"),
      std::string::npos)
      << metrics.body();
  EXPECT_NE(
      metrics.body().find("casefile_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"}"),
      std::string::npos);
  EXPECT_NE(metrics.body().find("casefile_http_open_connections "), std::string::npos);

  // The pin and the URL are announced at start.
  EXPECT_NE(server->log().find(crypto::to_hex(*pin_)), std::string::npos);
  EXPECT_NE(server->log().find("https://127.0.0.1:" + std::to_string(server->port())), std::string::npos);
}

TEST_F(CasefiledEndToEndTest, ResumesTls13SessionsWithTickets) {
  auto server = start();
  auto context = pinned_client_context(*pin_);
  SSL_SESSION* session = nullptr;
  {
    TlsClient first(context, server->port());
    ASSERT_FALSE(first.connect());
    EXPECT_EQ(first.request("GET", "/healthz").result_int(), 200u);  // the ticket arrives after the handshake
    session = SSL_get1_session(first.native());
    ASSERT_NE(session, nullptr);
    // OpenSSL keeps a session resumable only if its connection ended with close_notify.
    EXPECT_FALSE(first.shutdown());
  }
  TlsClient second(context, server->port());
  SSL_set_session(second.native(), session);
  SSL_SESSION_free(session);
  ASSERT_FALSE(second.connect());
  EXPECT_EQ(SSL_session_reused(second.native()), 1);
}

TEST_F(CasefiledEndToEndTest, Tls12IsAcceptedOnlyWithEcdheAeadSuites) {
  auto server = start();
  auto aead = pinned_client_context(*pin_);
  SSL_CTX_set_max_proto_version(aead.native_handle(), TLS1_2_VERSION);
  TlsClient modern(aead, server->port());
  ASSERT_FALSE(modern.connect());
  EXPECT_EQ(SSL_version(modern.native()), TLS1_2_VERSION);
  EXPECT_EQ(modern.request("GET", "/healthz").result_int(), 200u);

  auto cbc = pinned_client_context(*pin_);
  SSL_CTX_set_max_proto_version(cbc.native_handle(), TLS1_2_VERSION);
  ASSERT_EQ(SSL_CTX_set_cipher_list(cbc.native_handle(), "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA"),
            1);
  TlsClient legacy(cbc, server->port());
  EXPECT_TRUE(legacy.connect());  // refused: no shared cipher
}

TEST_F(CasefiledEndToEndTest, ClientRefusesAServerWhoseKeyIsNotThePinnedOne) {
  auto server = start();
  crypto::Sha256Digest wrong = *pin_;
  wrong[0] ^= 1;
  auto context = pinned_client_context(wrong);
  TlsClient client(context, server->port());
  EXPECT_TRUE(client.connect());
  EXPECT_EQ(SSL_get_verify_result(client.native()), X509_V_ERR_CERT_REJECTED);
}

TEST_F(CasefiledEndToEndTest, GigabyteContentLengthIsAnswered413WithoutReadingTheBody) {
  auto server = start();
  auto context = pinned_client_context(*pin_);
  TlsClient client(context, server->port());
  ASSERT_FALSE(client.connect());
  ASSERT_FALSE(
      client.write("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                   "1073741824\r\n\r\n"));
  HttpResponse response;
  ASSERT_FALSE(client.read(response));
  EXPECT_EQ(response.result_int(), 413u);
  EXPECT_EQ(error_code_of(response), "payload_too_large");
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(CasefiledEndToEndTest, HeaderThatNeverEndsIsAnswered431OrClosed) {
  auto server = start();
  auto context = pinned_client_context(*pin_);
  TlsClient client(context, server->port());
  ASSERT_FALSE(client.connect());
  ASSERT_FALSE(client.write("GET /healthz HTTP/1.1\r\nHost: x\r\n"));
  HttpResponse response;
  client.start_read(response);
  const std::string line = "X-Filler: " + std::string(1000, 'a') + "\r\n";
  std::size_t written = 0;
  bool write_failed = false;
  while (!client.read_result() && !write_failed && written < 1024 * 1024) {
    write_failed = static_cast<bool>(client.write(line));
    written += line.size();
  }
  const auto read_result = client.finish_read();
  EXPECT_LT(written, 1024u * 1024u);  // the server stopped it long before
  if (!read_result) {
    EXPECT_EQ(response.result_int(), 431u);
    EXPECT_EQ(error_code_of(response), "header_too_large");
  }
}

TEST_F(CasefiledEndToEndTest, SlowlorisDripIsCutOffByTheHeaderTimeout) {
  auto server = start({"--header-read-seconds", "1"});
  auto context = pinned_client_context(*pin_);
  TlsClient client(context, server->port());
  ASSERT_FALSE(client.connect());
  HttpResponse response;
  client.start_read(response);
  const std::string drip = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Drip: " + std::string(200, 'a');
  std::size_t sent = 0;
  for (; sent < drip.size() && !client.read_result(); ++sent) {
    if (client.write(std::string_view(&drip[sent], 1))) break;
    client.run_for(std::chrono::milliseconds(100));  // one byte every 100 ms: 20 s in all
  }
  const auto read_result = client.finish_read();
  EXPECT_LT(sent, drip.size()) << "the server waited for the whole drip";
  if (!read_result) {
    EXPECT_EQ(response.result_int(), 408u);
    EXPECT_EQ(error_code_of(response), "timeout");
  }
}

TEST_F(CasefiledEndToEndTest, SilentConnectionIsClosedByTheHandshakeTimeout) {
  auto server = start({"--handshake-seconds", "1"});
  const auto result = wait_for_plain_close(server->port());
  EXPECT_TRUE(result == net::error::eof || result == net::error::connection_reset) << result.message();
}

TEST_F(CasefiledEndToEndTest, PipelinedRequestsBeyondTheCapAreAllAnsweredInOrder) {
  auto server = start({"--max-pipelined-requests", "2"});
  auto context = pinned_client_context(*pin_);
  TlsClient client(context, server->port());
  ASSERT_FALSE(client.connect());
  std::string burst;
  for (int i = 0; i < 12; ++i) {
    burst += std::string("GET ") + (i % 2 == 0 ? "/healthz" : "/missing") + " HTTP/1.1\r\nHost: x\r\n\r\n";
  }
  ASSERT_FALSE(client.write(burst));
  for (int i = 0; i < 12; ++i) {
    HttpResponse response;
    ASSERT_FALSE(client.read(response)) << "response " << i;
    EXPECT_EQ(response.result_int(), i % 2 == 0 ? 200u : 404u) << "response " << i;
  }
  EXPECT_EQ(client.request("GET", "/healthz").result_int(), 200u);  // still open
}

TEST_F(CasefiledEndToEndTest, ConnectionsOverTheCapAreAnswered503TooManyConnections) {
  auto server = start({"--max-connections", "2"});
  auto context = pinned_client_context(*pin_);
  TlsClient first(context, server->port());
  ASSERT_FALSE(first.connect());
  // The fixture's readiness probes may still be closing: wait until this
  // connection is the only one open.
  const auto deadline = std::chrono::steady_clock::now() + kTestDeadline;
  while (first.request("GET", "/metrics").body().find("casefile_http_open_connections 1\n") ==
         std::string::npos) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "probe connections never closed";
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  TlsClient second(context, server->port());
  ASSERT_FALSE(second.connect());
  EXPECT_EQ(first.request("GET", "/healthz").result_int(), 200u);
  EXPECT_EQ(second.request("GET", "/healthz").result_int(), 200u);

  TlsClient third(context, server->port());
  ASSERT_FALSE(third.connect());
  const auto refused = third.request("GET", "/healthz");
  EXPECT_EQ(refused.result_int(), 503u);
  EXPECT_EQ(error_code_of(refused), "too_many_connections");
  EXPECT_TRUE(third.closed_by_server());
  EXPECT_EQ(first.request("GET", "/healthz").result_int(), 200u);
}

TEST_F(CasefiledEndToEndTest, SighupReloadsTheCertificateWithoutDroppingOpenConnections) {
  const fs::path instance = copy_instance();
  auto server = start({}, instance);
  auto old_context = pinned_client_context(*pin_);
  TlsClient kept(old_context, server->port());
  ASSERT_FALSE(kept.connect());
  EXPECT_EQ(kept.request("GET", "/healthz").result_int(), 200u);

  crypto::SelfSignedRequest request;
  request.common_name = "casefiled";
  request.ip_addresses = {"127.0.0.1"};
  auto identity = crypto::generate_self_signed_identity(request);
  ASSERT_TRUE(identity.ok());
  auto new_pin = crypto::spki_sha256_pin(identity->certificate_pem);
  ASSERT_TRUE(new_pin.ok());
  const InstanceLayout layout(instance);
  {
    std::ofstream(test_directory_ / "new.key", std::ios::binary)
        .write(reinterpret_cast<const char*>(identity->private_key_pem.data()),
               static_cast<std::streamsize>(identity->private_key_pem.size()));
    std::ofstream(test_directory_ / "new.crt", std::ios::binary) << identity->certificate_pem;
  }
  fs::rename(test_directory_ / "new.key", layout.tls_private_key());
  fs::rename(test_directory_ / "new.crt", layout.tls_certificate());
  server->signal(SIGHUP);
  ASSERT_TRUE(server->wait_for_log_event("tls_reloaded"));

  EXPECT_EQ(kept.request("GET", "/healthz").result_int(), 200u);  // same connection, old certificate
  TlsClient old_pin(old_context, server->port());
  EXPECT_TRUE(old_pin.connect());
  auto new_context = pinned_client_context(*new_pin);
  TlsClient fresh(new_context, server->port());
  ASSERT_FALSE(fresh.connect());
  EXPECT_EQ(fresh.request("GET", "/healthz").result_int(), 200u);

  // A broken certificate is refused, logged, and the current one kept.
  std::ofstream(layout.tls_certificate(), std::ios::trunc) << "-----BEGIN CERTIFICATE-----\nnot base64\n";
  server->signal(SIGHUP);
  ASSERT_TRUE(server->wait_for_log_event("tls_reload_failed"));
  TlsClient after_failure(new_context, server->port());
  ASSERT_FALSE(after_failure.connect());
  EXPECT_EQ(after_failure.request("GET", "/healthz").result_int(), 200u);
  EXPECT_EQ(kept.request("GET", "/healthz").result_int(), 200u);
}

TEST_F(CasefiledEndToEndTest, SigtermFinishesTheRequestInFlightThenExitsZero) {
  auto server = start();
  auto context = pinned_client_context(*pin_);
  TlsClient in_flight(context, server->port());
  ASSERT_FALSE(in_flight.connect());
  // A whole request and half of the next, in one write: once the first is
  // answered, the server holds the second's first bytes and is reading it
  // when SIGTERM arrives.
  ASSERT_FALSE(
      in_flight.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                      "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                      "10\r\n\r\n{\"a\":"));
  HttpResponse first;
  ASSERT_FALSE(in_flight.read(first));
  EXPECT_TRUE(first.keep_alive());
  server->signal(SIGTERM);
  ASSERT_TRUE(server->wait_for_log_event("draining"));

  // No new connections once draining.
  EXPECT_EQ(plain_connect_error(server->port()), net::error::connection_refused);

  ASSERT_FALSE(in_flight.write("1234}"));
  HttpResponse response;
  const auto read_error = in_flight.read(response);
  ASSERT_FALSE(read_error) << read_error.message() << "\n" << server->log();
  EXPECT_EQ(response.result_int(), 200u);
  EXPECT_FALSE(response.keep_alive());
  EXPECT_TRUE(in_flight.closed_by_server());
  (void)in_flight.shutdown();
  EXPECT_EQ(server->wait_for_exit(), 0) << server->log();
}

}  // namespace
}  // namespace casefile::server

namespace casefile::server {
namespace {

// casefiled with `store.kind = "postgres"` and a database it cannot reach
// refuses to start with store_unavailable, and its output never repeats the
// connection string's password.
TEST(CasefiledStoreChoice, AnUnreachablePostgresIsRefusedAtStartupWithoutRepeatingThePassword) {
  const fs::path directory = fs::temp_directory_path() / ("casefile-store-choice-" + std::to_string(::getpid()));
  fs::remove_all(directory);
  InstanceRequest request;
  request.root = directory / "instance";
  request.admin_passphrase = "correct horse battery staple";
  ASSERT_TRUE(create_instance(request).ok());
  const std::string command = std::string(CASEFILED_BINARY) + " --config " +
                              InstanceLayout(request.root).config().string() +
                              " --store postgres --postgres-url "
                              "'host=127.0.0.1 port=1 connect_timeout=2 password=hunter2-secret' 2>&1";
  const test_support::CommandRun run = test_support::run_shell_command(command);
  fs::remove_all(directory);
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_NE(run.out.find("store_unavailable"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("hunter2"), std::string::npos) << run.out;
}

}  // namespace
}  // namespace casefile::server
