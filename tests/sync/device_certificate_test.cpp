// Device certificates, wipe orders and the enrolment and sign-in messages:
// golden encodings (docs/security.md walks through the same bytes), and every
// tampering a verifier must notice.
#include "sync/device_certificate.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "sync/device_authentication.hpp"
#include "sync/wipe_order.hpp"

namespace casefile::sync {
namespace {

template <std::size_t N>
std::array<std::uint8_t, N> filled(std::uint8_t first) {
  std::array<std::uint8_t, N> bytes{};
  for (std::size_t i = 0; i < N; ++i) bytes[i] = static_cast<std::uint8_t>(first + i);
  return bytes;
}

crypto::Ed25519PrivateKey key_from_seed(std::uint8_t first) {
  const auto seed = filled<32>(first);
  return crypto::Ed25519PrivateKey::from_seed(seed).value();
}

DeviceCertificate example_certificate() {
  DeviceCertificate certificate;
  certificate.device = DeviceId{filled<16>(0xd0)};
  certificate.user = "ana";
  certificate.role = "lawyer";
  certificate.signing_public_key = filled<32>(0x20);
  certificate.wrapping_public_key = filled<32>(0x40);
  certificate.not_before_ms = 0x0102030405;
  certificate.not_after_ms = 0x0a0b0c0d0e;
  return certificate;
}

const std::string kSigningKeyHex = "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";
const std::string kWrappingKeyHex = "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f";

TEST(DeviceCertificate, BodyMatchesTheDocumentedBytes) {
  const auto authority = key_from_seed(0x01);
  const DeviceCertificate certificate = sign_certificate(example_certificate(), authority).value();
  const std::string expected = std::string("01")                                          // version
                               + "d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"                       // device id
                               + "0003" + "616e61"                                        // user "ana"
                               + "0006" + "6c6177796572"                                  // role "lawyer"
                               + kSigningKeyHex + kWrappingKeyHex                         // public keys
                               + "0000000102030405"                                       // not_before
                               + "0000000a0b0c0d0e"                                       // not_after
                               + crypto::to_hex(crypto::sha256(authority.public_key()));  // fingerprint
  EXPECT_EQ(crypto::to_hex(encode_certificate_body(certificate)), expected);
  const std::string label_hex = crypto::to_hex(crypto::as_bytes("casefile device certificate v1")) + "00";
  EXPECT_EQ(crypto::to_hex(certificate_signing_message(certificate)), label_hex + expected);
  // Ed25519 is deterministic: the signature over those bytes is fixed too.
  EXPECT_EQ(crypto::to_hex(certificate.signature),
            crypto::to_hex(authority.sign(certificate_signing_message(certificate)).value()));
  EXPECT_EQ(encode_certificate(certificate).size(), expected.size() / 2 + 64);
}

TEST(DeviceCertificate, VerifiesUnderItsAuthorityWithinItsPeriod) {
  const auto authority = key_from_seed(0x01);
  const auto certificate = sign_certificate(example_certificate(), authority).value();
  EXPECT_TRUE(verify_certificate(certificate, authority.public_key(), certificate.not_before_ms).ok());
  EXPECT_TRUE(verify_certificate(certificate, authority.public_key(), certificate.not_after_ms).ok());
}

TEST(DeviceCertificate, OutsideItsPeriodIsExpired) {
  const auto authority = key_from_seed(0x01);
  const auto certificate = sign_certificate(example_certificate(), authority).value();
  EXPECT_EQ(
      verify_certificate(certificate, authority.public_key(), certificate.not_after_ms + 1).error().code,
      "certificate_expired");
  EXPECT_EQ(
      verify_certificate(certificate, authority.public_key(), certificate.not_before_ms - 1).error().code,
      "certificate_expired");
}

TEST(DeviceCertificate, AnotherAuthorityIsRefused) {
  const auto certificate = sign_certificate(example_certificate(), key_from_seed(0x01)).value();
  const auto other = key_from_seed(0x02);
  EXPECT_EQ(verify_certificate(certificate, other.public_key(), certificate.not_before_ms).error().code,
            "certificate_wrong_authority");
}

TEST(DeviceCertificate, EveryTamperedFieldBreaksTheSignature) {
  const auto authority = key_from_seed(0x01);
  const auto good = sign_certificate(example_certificate(), authority).value();
  const std::int64_t now = good.not_before_ms + 1;
  std::vector<DeviceCertificate> tampered(7, good);
  tampered[0].device.bytes[0] ^= 1;
  tampered[1].user = "eve";
  tampered[2].role = "admin";
  tampered[3].signing_public_key[5] ^= 1;
  tampered[4].wrapping_public_key[5] ^= 1;
  tampered[5].not_after_ms += 1;
  tampered[6].signature[10] ^= 1;
  for (const auto& certificate : tampered) {
    EXPECT_EQ(verify_certificate(certificate, authority.public_key(), now).error().code,
              "certificate_invalid");
  }
}

TEST(DeviceCertificate, EveryFlippedByteOfTheStoredFormIsCaught) {
  const auto authority = key_from_seed(0x01);
  const auto good = sign_certificate(example_certificate(), authority).value();
  const crypto::Bytes stored = encode_certificate(good);
  for (std::size_t i = 0; i < stored.size(); ++i) {
    crypto::Bytes bytes = stored;
    bytes[i] ^= 0x01;
    auto decoded = decode_certificate(bytes);
    if (!decoded.ok()) continue;  // refused outright: as good as caught
    EXPECT_FALSE(verify_certificate(*decoded, authority.public_key(), good.not_before_ms).ok())
        << "byte " << i;
  }
}

TEST(DeviceCertificate, StoredAndWireFormsRoundTrip) {
  const auto certificate = sign_certificate(example_certificate(), key_from_seed(0x01)).value();
  EXPECT_EQ(decode_certificate(encode_certificate(certificate)).value(), certificate);
  const std::string text = boost::json::serialize(certificate_to_json(certificate));
  EXPECT_EQ(certificate_from_json(boost::json::parse(text)).value(), certificate);
}

TEST(DeviceCertificate, TruncatedOrPaddedStoredFormIsInvalid) {
  const crypto::Bytes stored =
      encode_certificate(sign_certificate(example_certificate(), key_from_seed(1)).value());
  crypto::Bytes shorter(stored.begin(), stored.end() - 1);
  crypto::Bytes longer = stored;
  longer.push_back(0);
  EXPECT_EQ(decode_certificate(shorter).error().code, "certificate_invalid");
  EXPECT_EQ(decode_certificate(longer).error().code, "certificate_invalid");
}

TEST(DeviceCertificate, MalformedWireFormIsInvalid) {
  auto json = certificate_to_json(sign_certificate(example_certificate(), key_from_seed(1)).value());
  auto unknown = json;
  unknown.as_object()["extra"] = 1;
  auto short_key = json;
  short_key.as_object()["signing_public_key"] = "AAAA";
  auto bad_role = json;
  bad_role.as_object()["role"] = "root";
  for (const auto& value : {unknown, short_key, bad_role}) {
    EXPECT_EQ(certificate_from_json(value).error().code, "certificate_invalid");
  }
}

WipeOrder example_wipe_order() {
  WipeOrder order;
  order.device = DeviceId{filled<16>(0xd0)};
  order.issued_at_ms = 0x0102030405;
  order.reason = "lost";
  return order;
}

TEST(WipeOrder, BodyMatchesTheDocumentedBytes) {
  const auto authority = key_from_seed(0x01);
  const WipeOrder order = sign_wipe_order(example_wipe_order(), authority).value();
  const std::string expected = std::string("01") + "d0d1d2d3d4d5d6d7d8d9dadbdcdddedf" + "0000000102030405" +
                               "0004" + "6c6f7374" + crypto::to_hex(crypto::sha256(authority.public_key()));
  EXPECT_EQ(crypto::to_hex(encode_wipe_order_body(order)), expected);
  EXPECT_EQ(crypto::to_hex(wipe_order_signing_message(order)),
            crypto::to_hex(crypto::as_bytes("casefile wipe order v1")) + "00" + expected);
}

TEST(WipeOrder, VerifiesAndRoundTrips) {
  const auto authority = key_from_seed(0x01);
  const WipeOrder order = sign_wipe_order(example_wipe_order(), authority).value();
  EXPECT_TRUE(verify_wipe_order(order, authority.public_key()).ok());
  EXPECT_EQ(decode_wipe_order(encode_wipe_order(order)).value(), order);
  EXPECT_EQ(
      wipe_order_from_json(boost::json::parse(boost::json::serialize(wipe_order_to_json(order)))).value(),
      order);
}

TEST(WipeOrder, TamperedOrForeignOrdersAreRefused) {
  const auto authority = key_from_seed(0x01);
  const WipeOrder good = sign_wipe_order(example_wipe_order(), authority).value();
  std::vector<WipeOrder> tampered(4, good);
  tampered[0].device.bytes[3] ^= 1;
  tampered[1].issued_at_ms += 1;
  tampered[2].reason = "lost!";
  tampered[3].signature[0] ^= 1;
  for (const auto& order : tampered) {
    EXPECT_EQ(verify_wipe_order(order, authority.public_key()).error().code, "wipe_order_invalid");
  }
  EXPECT_EQ(verify_wipe_order(good, key_from_seed(0x02).public_key()).error().code,
            "wipe_order_wrong_authority");
}

TEST(WipeOrder, ADeviceCertificateSignatureDoesNotPassAsAWipeOrder) {
  // Domain separation: the labels differ, so no signature serves both formats.
  const auto authority = key_from_seed(0x01);
  const auto certificate = sign_certificate(example_certificate(), authority).value();
  WipeOrder order = sign_wipe_order(example_wipe_order(), authority).value();
  std::copy(certificate.signature.begin(), certificate.signature.end(), order.signature.begin());
  EXPECT_EQ(verify_wipe_order(order, authority.public_key()).error().code, "wipe_order_invalid");
}

TEST(EnrolmentCode, TextRoundTripsAndToleratesCaseAndSeparators) {
  const EnrolmentCode code = filled<20>(0x11);
  const std::string text = enrolment_code_to_text(code);
  EXPECT_EQ(text.size(), 32u + 7u);
  EXPECT_EQ(text, "CEJB-GFAV-CYLR-QGI2-DMOB-2HQ7-EAQS-EIZE");
  EXPECT_EQ(enrolment_code_from_text(text), code);
  std::string relaxed;
  for (char c : text)
    relaxed += (c == '-') ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_EQ(enrolment_code_from_text(relaxed), code);
}

TEST(EnrolmentCode, AnythingButOneCodeIsRefused) {
  const std::string text = enrolment_code_to_text(filled<20>(0x11));
  EXPECT_FALSE(enrolment_code_from_text(text.substr(1)));
  EXPECT_FALSE(enrolment_code_from_text(text + "A"));
  EXPECT_FALSE(enrolment_code_from_text("1" + text.substr(1)));  // '1' is not base32
  EXPECT_FALSE(enrolment_code_from_text(""));
}

TEST(EnrolmentRequest, ProofBindsCodeDeviceAndBothKeys) {
  const auto device_key = key_from_seed(0x30);
  auto request =
      make_enrolment_request(filled<20>(0x11), DeviceId{filled<16>(0xd0)}, device_key, filled<32>(0x40))
          .value();
  EXPECT_TRUE(enrolment_proof_valid(request));
  const auto decoded = decode_enrolment_request(encode_enrolment_request(request)).value();
  EXPECT_TRUE(enrolment_proof_valid(decoded));
  for (int field = 0; field < 3; ++field) {
    EnrolmentRequest tampered = request;
    if (field == 0) tampered.code[0] ^= 1;
    if (field == 1) tampered.device.bytes[0] ^= 1;
    if (field == 2) tampered.wrapping_public_key[0] ^= 1;
    EXPECT_FALSE(enrolment_proof_valid(tampered)) << "field " << field;
  }
}

TEST(AuthChallenge, MessageMatchesTheDocumentedBytes) {
  const std::string expected = crypto::to_hex(crypto::as_bytes("casefile auth challenge v1")) + "00" +
                               crypto::to_hex(filled<32>(0x60)) + "d0d1d2d3d4d5d6d7d8d9dadbdcdddedf" +
                               crypto::to_hex(filled<32>(0x80));
  EXPECT_EQ(
      crypto::to_hex(auth_challenge_message(filled<32>(0x60), DeviceId{filled<16>(0xd0)}, filled<32>(0x80))),
      expected);
}

TEST(AuthChallenge, TokenRequestRoundTripsAndRefusesShortFields) {
  TokenRequest request{DeviceId{filled<16>(0xd0)}, filled<32>(0x60), filled<64>(0x01)};
  const auto decoded = decode_token_request(encode_token_request(request)).value();
  EXPECT_EQ(decoded.challenge, request.challenge);
  EXPECT_EQ(decoded.signature, request.signature);
  EXPECT_EQ(decode_token_request(R"({"device_id":"d0d1d2d3-d4d5-d6d7-d8d9-dadbdcdddedf","challenge":"AAAA",)"
                                 R"("signature":"AAAA"})")
                .error()
                .code,
            "json_invalid_value");
  EXPECT_EQ(decode_challenge_request(R"({"device_id":"nope"})").error().code, "json_invalid_value");
  EXPECT_EQ(decode_challenge_request(R"({"device":"x"})").error().code, "json_unknown_member");
}

}  // namespace
}  // namespace casefile::sync
