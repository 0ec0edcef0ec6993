// The authority-signed TLS pin statement: its documented bytes, its
// signature under its own label only, strict decoding, and the sequence rule
// devices apply (a lower sequence is refused).
#include "sync/tls_pin_statement.hpp"

#include <gtest/gtest.h>

#include "crypto/bytes.hpp"
#include "sync/device_certificate.hpp"
#include "sync/wipe_order.hpp"

namespace casefile::sync {
namespace {

crypto::Ed25519PrivateKey authority_key(std::uint8_t fill = 0x01) {
  crypto::Bytes seed(32, fill);
  return crypto::Ed25519PrivateKey::from_seed(seed).value();
}

crypto::Sha256Digest pin(std::uint8_t fill) {
  crypto::Sha256Digest digest{};
  digest.fill(fill);
  return digest;
}

TlsPinStatement example(bool with_next = true) {
  TlsPinStatement statement;
  statement.sequence = 7;
  statement.issued_at_ms = 1'700'000'000'000;
  statement.current_pin = pin(0xaa);
  if (with_next) statement.next_pin = pin(0xbb);
  return statement;
}

TEST(TlsPinStatement, BodyMatchesTheDocumentedBytes) {
  const auto authority = authority_key();
  const TlsPinStatement signed_statement = sign_tls_pin_statement(example(), authority).value();
  const crypto::Bytes encoded = encode_tls_pin_statement(signed_statement);
  const std::string expected = std::string("01")              // version
                               + "0000000000000007"           // sequence
                               + "0000018bcfe56800"           // issued_at
                               + std::string(64, 'a') + "01"  // current pin, has next
                               + std::string(64, 'b')         // next pin
                               + crypto::to_hex(crypto::sha256(authority.public_key()));
  ASSERT_EQ(encoded.size(), expected.size() / 2 + 64);
  EXPECT_EQ(crypto::to_hex(crypto::ByteView(encoded.data(), expected.size() / 2)), expected);
  const crypto::Bytes message = tls_pin_statement_signing_message(signed_statement);
  EXPECT_EQ(std::string(message.begin(), message.begin() + 21), std::string("casefile tls pins v1") + '\0');
}

TEST(TlsPinStatement, RoundTripsThroughTextWithAndWithoutANextPin) {
  const auto authority = authority_key();
  for (bool with_next : {true, false}) {
    const TlsPinStatement statement = sign_tls_pin_statement(example(with_next), authority).value();
    const std::string text = tls_pin_statement_to_text(statement);
    EXPECT_LE(text.size(), kMaxTlsPinStatementText);
    auto decoded = tls_pin_statement_from_text(text);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(*decoded, statement);
    EXPECT_TRUE(verify_tls_pin_statement(*decoded, authority.public_key()).ok());
  }
}

TEST(TlsPinStatement, EveryChangedFieldAndEveryOtherLabelBreaksTheSignature) {
  const auto authority = authority_key();
  const TlsPinStatement good = sign_tls_pin_statement(example(), authority).value();
  std::vector<TlsPinStatement> tampered(5, good);
  tampered[0].sequence = 8;
  tampered[1].issued_at_ms += 1;
  tampered[2].current_pin = pin(0xbb);
  tampered[3].next_pin = pin(0xcc);
  tampered[4].next_pin.reset();
  for (std::size_t i = 0; i < tampered.size(); ++i) {
    EXPECT_EQ(verify_tls_pin_statement(tampered[i], authority.public_key()).error().code, "tls_pins_invalid")
        << "field " << i;
  }
  EXPECT_EQ(verify_tls_pin_statement(good, authority_key(0x02).public_key()).error().code,
            "tls_pins_wrong_authority");
  // The same body signed under another authority label.
  for (std::string_view label : {kDeviceCertificateLabel, kWipeOrderLabel}) {
    crypto::Bytes message(label.begin(), label.end());
    message.push_back(0);
    const crypto::Bytes signed_message = tls_pin_statement_signing_message(good);
    message.insert(message.end(), signed_message.begin() + kTlsPinStatementLabel.size() + 1,
                   signed_message.end());
    TlsPinStatement forged = good;
    forged.signature = authority.sign(message).value();
    EXPECT_EQ(verify_tls_pin_statement(forged, authority.public_key()).error().code, "tls_pins_invalid")
        << label;
  }
}

TEST(TlsPinStatement, ALowerSequenceIsStaleAndAnEqualOrHigherOneIsAccepted) {
  const auto authority = authority_key();
  const TlsPinStatement statement = sign_tls_pin_statement(example(), authority).value();
  EXPECT_TRUE(accept_tls_pin_statement(statement, authority.public_key(), std::nullopt).ok());
  EXPECT_TRUE(accept_tls_pin_statement(statement, authority.public_key(), 7).ok());
  EXPECT_TRUE(accept_tls_pin_statement(statement, authority.public_key(), 6).ok());
  EXPECT_EQ(accept_tls_pin_statement(statement, authority.public_key(), 8).error().code, "tls_pins_stale");
}

TEST(TlsPinStatement, MalformedBytesAreRefused) {
  const crypto::Bytes good =
      encode_tls_pin_statement(sign_tls_pin_statement(example(), authority_key()).value());
  for (std::size_t size = 0; size < good.size(); ++size) {
    EXPECT_EQ(decode_tls_pin_statement(crypto::ByteView(good.data(), size)).error().code, "tls_pins_invalid")
        << size;
  }
  crypto::Bytes longer = good;
  longer.push_back(0);
  EXPECT_EQ(decode_tls_pin_statement(longer).error().code, "tls_pins_invalid");
  crypto::Bytes bad_flag = good;
  bad_flag[1 + 8 + 8 + 32] = 2;
  EXPECT_EQ(decode_tls_pin_statement(bad_flag).error().code, "tls_pins_invalid");
  crypto::Bytes bad_version = good;
  bad_version[0] = 2;
  EXPECT_EQ(decode_tls_pin_statement(bad_version).error().code, "tls_pins_invalid");
  EXPECT_EQ(tls_pin_statement_from_text("not base64url!").error().code, "tls_pins_invalid");
  EXPECT_EQ(tls_pin_statement_from_text(std::string(kMaxTlsPinStatementText + 1, 'A')).error().code,
            "tls_pins_invalid");
}

}  // namespace
}  // namespace casefile::sync
