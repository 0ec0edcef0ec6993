// Enrolment payload parsing (strict), and enrolment against the real
// casefiled: a wrong pin sends nothing, a pending device waits, a certified
// one records its certificate, a revoked one obeys its wipe order.
#include "device/enrolment.hpp"

#include <gtest/gtest.h>

#include "tests/device/device_server_fixture.hpp"

namespace casefile::device::testing {
namespace {

const std::string kPin(43, 'A');
const std::string kCode = "ABCD-EFGH-IJKL-MNOP-QRST-UVWX-YZ23-4567";

std::string payload_with(const std::string& url, const std::string& extra = "") {
  return R"({"v":1,"url":")" + url + R"(","pin":")" + kPin + R"(","authority":")" + kPin + R"(","code":")" +
         kCode + "\"" + extra + "}";
}

TEST(EnrolmentPayloadTest, TheAdminToolsPayloadParses) {
  auto payload = parse_enrolment_payload(payload_with("https://casefile.example:8443"));
  ASSERT_TRUE(payload.ok()) << payload.error().message;
  EXPECT_EQ(payload->server.host, "casefile.example");
  EXPECT_EQ(payload->server.port, 8443);
  EXPECT_EQ(payload->server.url, "https://casefile.example:8443");
  auto ipv6 = parse_enrolment_payload(payload_with("https://[::1]:8443"));
  ASSERT_TRUE(ipv6.ok()) << ipv6.error().message;
  EXPECT_EQ(ipv6->server.host, "::1");
}

TEST(EnrolmentPayloadTest, AnythingElseIsEnrolmentPayloadInvalid) {
  const std::vector<std::string> hostile = {
      "",
      "[]",
      payload_with("http://casefile.example:8443"),
      payload_with("https://casefile.example"),
      payload_with("https://casefile.example:8443/path"),
      payload_with("https://casefile.example:0"),
      payload_with("https://casefile.example:65536"),
      payload_with("https://casefile.example:08443"),
      payload_with("https://user@casefile.example:8443"),
      payload_with("https://[::1:8443"),
      payload_with("https://casefile.example:8443", R"(,"extra":1)"),
      payload_with("https://casefile.example:8443", R"(,"v":1)"),
      R"({"v":2,"url":"https://a:1","pin":")" + kPin + R"(","authority":")" + kPin + R"(","code":")" + kCode +
          "\"}",
      R"({"v":1,"url":"https://a:1","pin":"AAAA","authority":")" + kPin + R"(","code":")" + kCode + "\"}",
      R"({"v":1,"url":"https://a:1","pin":")" + kPin + R"(","authority":")" + kPin + R"(","code":"NOPE"})",
      R"({"v":1,"url":"https://a:1","pin":")" + kPin + R"(","authority":")" + kPin + "\"}",
      std::string(5000, ' '),
  };
  for (const auto& text : hostile) {
    auto payload = parse_enrolment_payload(text);
    ASSERT_FALSE(payload.ok()) << text;
    EXPECT_EQ(payload.error().code, "enrolment_payload_invalid") << text;
  }
}

using EnrolmentTest = DeviceServerFixture;

TEST_F(EnrolmentTest, AWrongPinIsRefusedAndSendsNothingSoTheCodeStaysUsable) {
  FieldDevice device = new_device("tablet");
  crypto::Sha256Digest wrong_pin = summary_.tls_spki_pin;
  wrong_pin[31] ^= 0x80;
  const std::string payload = enrolment_payload("amina", wrong_pin);
  auto refused = enrol(device, payload);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "pin_mismatch");
  EXPECT_EQ(device.profile().state, EnrolmentState::not_enrolled);
  EXPECT_TRUE(control_->list_devices().value().empty());

  // The single-use code never reached the server: the right pin enrols with it.
  auto payload_object = boost::json::parse(payload).as_object();
  payload_object["pin"] = sync::bytes_to_wire_text(summary_.tls_spki_pin);
  auto enrolled = enrol(device, boost::json::serialize(payload_object));
  ASSERT_TRUE(enrolled.ok()) << enrolled.error().code;
  EXPECT_EQ(device.profile().state, EnrolmentState::pending);
}

TEST_F(EnrolmentTest, APendingDeviceWaitsAndACertifiedOneRecordsItsCertificate) {
  FieldDevice device = new_device("tablet");
  ASSERT_TRUE(enrol(device, enrolment_payload("amina")).ok());
  auto pending = check_certification(device);
  ASSERT_TRUE(pending.ok()) << pending.error().code;
  EXPECT_EQ(pending->state, EnrolmentState::pending);

  ASSERT_TRUE(administration_->certify_device(device.profile().device_id, *authority_).ok());
  auto certified = check_certification(device);
  ASSERT_TRUE(certified.ok()) << certified.error().code << ": " << certified.error().message;
  EXPECT_EQ(certified->state, EnrolmentState::certified);
  EXPECT_EQ(device.profile().state, EnrolmentState::certified);
  ASSERT_TRUE(device.profile().authority_key.has_value());
  EXPECT_EQ(*device.profile().authority_key, summary_.authority_public_key);
  ASSERT_TRUE(device.profile().certificate.has_value());
  EXPECT_EQ(device.profile().certificate->user, "amina");
}

TEST_F(EnrolmentTest, ADeviceRevokedBeforeItsCertificateArrivedObeysTheWipeOrder) {
  FieldDevice device = new_device("tablet");
  ASSERT_TRUE(enrol(device, enrolment_payload("amina")).ok());
  ASSERT_TRUE(administration_->revoke_device(device.profile().device_id, *authority_, "code leaked").ok());
  const fs::path directory = device.directory();
  auto checked = check_certification(device);
  ASSERT_TRUE(checked.ok()) << checked.error().code;
  EXPECT_TRUE(checked->wiped);
  EXPECT_FALSE(fs::exists(directory / "storage.key"));
  EXPECT_FALSE(fs::exists(directory / "replica.db"));
}

}  // namespace
}  // namespace casefile::device::testing
