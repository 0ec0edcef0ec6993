// The device's HTTPS client against the real casefiled over real TLS: keep-
// alive, reconnection, the pin checked on every connection, and each
// transport failure answered with its own code.
#include "device/https_client.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/device/device_server_fixture.hpp"

namespace casefile::device::testing {
namespace {

using HttpsClientTest = DeviceServerFixture;

HttpsRequest get(std::string target) { return HttpsRequest{"GET", std::move(target), {}, {}, {}}; }

TEST_F(HttpsClientTest, RequestsShareOneKeepAliveConnectionAndReconnectAfterADrop) {
  auto client = HttpsClient::create(endpoint());
  ASSERT_TRUE(client.ok());
  auto first = client->send(get("/healthz"));
  ASSERT_TRUE(first.ok()) << first.error().code;
  EXPECT_EQ(first->status, 200u);
  auto second = client->send(get("/v1/authority"));
  ASSERT_TRUE(second.ok()) << second.error().code;
  EXPECT_EQ(second->status, 200u);
  EXPECT_EQ(client->connections_opened(), 1u);

  client->disconnect();
  EXPECT_FALSE(client->connected());
  auto third = client->send(get("/healthz"));
  ASSERT_TRUE(third.ok()) << third.error().code;
  EXPECT_EQ(third->status, 200u);
  EXPECT_EQ(client->connections_opened(), 2u);
}

TEST_F(HttpsClientTest, TheAuthorityRouteServesTheKeyWhoseHashIsTheEnrolmentFingerprint) {
  auto client = HttpsClient::create(endpoint());
  ASSERT_TRUE(client.ok());
  auto response = client->send(get("/v1/authority"));
  ASSERT_TRUE(response.ok());
  const auto body = boost::json::parse(response->body).as_object();
  const auto key = sync::bytes_from_wire_text(body.at("public_key").as_string()).value();
  EXPECT_TRUE(key ==
              crypto::Bytes(summary_.authority_public_key.begin(), summary_.authority_public_key.end()));
  EXPECT_EQ(crypto::sha256(key), summary_.authority_fingerprint);
  EXPECT_EQ(body.at("fingerprint").as_string(), sync::bytes_to_wire_text(summary_.authority_fingerprint));
}

TEST_F(HttpsClientTest, AnotherServerKeyIsPinMismatchOnEveryConnection) {
  ServerEndpoint wrong = endpoint();
  wrong.pin[0] ^= 0x01;
  auto client = HttpsClient::create(wrong);
  ASSERT_TRUE(client.ok());
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto response = client->send(get("/healthz"));
    ASSERT_FALSE(response.ok());
    EXPECT_EQ(response.error().code, "pin_mismatch");
  }
  EXPECT_EQ(client->connections_opened(), 0u);
  EXPECT_FALSE(client->connected());
}

TEST_F(HttpsClientTest, TheAnnouncedNextPinIsAcceptedAndReportedAndAnUnknownKeyStillIsNot) {
  // Pinned to another key, with the server's real key announced as the next one.
  ServerEndpoint old_key = endpoint();
  old_key.pin[0] ^= 0x01;
  auto client = HttpsClient::create(old_key);
  ASSERT_TRUE(client.ok());
  crypto::Sha256Digest unknown = endpoint().pin;
  unknown[1] ^= 0x01;
  ASSERT_TRUE(client->set_pins(old_key.pin, unknown).ok());
  auto refused = client->send(get("/healthz"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "pin_mismatch");

  ASSERT_TRUE(client->set_pins(old_key.pin, endpoint().pin).ok());
  auto accepted = client->send(get("/healthz"));
  ASSERT_TRUE(accepted.ok()) << accepted.error().code;
  EXPECT_TRUE(client->connected_under_next_pin());
  // Adopted as the pin: the next connection is under the pin itself.
  ASSERT_TRUE(client->set_pins(endpoint().pin, std::nullopt).ok());
  EXPECT_FALSE(client->connected());
  auto again = client->send(get("/healthz"));
  ASSERT_TRUE(again.ok()) << again.error().code;
  EXPECT_FALSE(client->connected_under_next_pin());
}

TEST_F(HttpsClientTest, AResponseOverTheBodyLimitIsResponseTooLarge) {
  HttpsClientOptions options;
  options.response_body_limit = 16;
  auto client = HttpsClient::create(endpoint(), options);
  ASSERT_TRUE(client.ok());
  auto response = client->send(get("/metrics"));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, "response_too_large");
}

TEST_F(HttpsClientTest, NobodyListeningIsConnectFailed) {
  ServerEndpoint closed = endpoint();
  closed.port = server::testing::pick_free_port();
  auto client = HttpsClient::create(closed);
  ASSERT_TRUE(client.ok());
  auto response = client->send(get("/healthz"));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, "connect_failed");
}

// A socket that listens but never speaks TLS: the kernel accepts the TCP
// connection, the handshake never completes.
TEST(HttpsClientTimeoutTest, AServerThatNeverAnswersTheHandshakeIsTimeout) {
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  HttpsClientOptions options;
  options.handshake_timeout = std::chrono::milliseconds(200);
  auto client = HttpsClient::create(
      ServerEndpoint{"https://127.0.0.1", "127.0.0.1", ntohs(address.sin_port), crypto::Sha256Digest{}},
      options);
  ASSERT_TRUE(client.ok());
  auto response = client->send(get("/healthz"));
  ::close(listener);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, "timeout");
}

}  // namespace
}  // namespace casefile::device::testing
