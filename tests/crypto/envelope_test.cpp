// Sealed-field envelopes: a value opens only where it was sealed, under the
// key and epoch it was sealed with; any altered bit is refused; Padmé sizes
// follow the paper's formula.
#include "crypto/envelope.hpp"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "crypto/random.hpp"

namespace casefile::crypto {
namespace {

constexpr FieldContext kContext{"case-7f3a", "interviews", "0190f1e2-aaaa-7bbb-8ccc-0123456789ab",
                                "allegation"};
constexpr std::uint32_t kEpoch = 3;
constexpr std::string_view kValue = "Beaten during transfer on 12 March; refused a doctor.";

Bytes copy(ByteView view) { return Bytes(view.begin(), view.end()); }

class EnvelopeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = random_secret(kCaseKeySize);
    ASSERT_TRUE(key.ok());
    case_key_ = std::move(key).value();
    auto sealed = seal_field(kContext, kEpoch, case_key_.view(), as_bytes(kValue));
    ASSERT_TRUE(sealed.ok()) << sealed.error().message;
    envelope_ = std::move(sealed).value();
  }

  std::string open_error(const FieldContext& context, std::uint32_t epoch, ByteView key, ByteView envelope) {
    auto opened = open_field(context, epoch, key, envelope);
    return opened.ok() ? "opened" : opened.error().code;
  }

  SecretBytes case_key_;
  Bytes envelope_;
};

TEST_F(EnvelopeTest, RoundTripRecoversTheValue) {
  auto opened = open_field(kContext, kEpoch, case_key_.view(), envelope_);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(copy(opened->view()), copy(as_bytes(kValue)));
}

TEST_F(EnvelopeTest, EmptyAndMaximumValuesRoundTrip) {
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, kEnvelopeMaxPlaintextSize}) {
    const Bytes value(size, 0x5a);
    auto sealed = seal_field(kContext, kEpoch, case_key_.view(), value);
    ASSERT_TRUE(sealed.ok()) << size;
    auto opened = open_field(kContext, kEpoch, case_key_.view(), *sealed);
    ASSERT_TRUE(opened.ok()) << size << ": " << opened.error().message;
    EXPECT_EQ(copy(opened->view()), value);
  }
  EXPECT_EQ(seal_field(kContext, kEpoch, case_key_.view(), Bytes(kEnvelopeMaxPlaintextSize + 1)).error().code,
            "value_too_large");
}

TEST_F(EnvelopeTest, LayoutIsVersionSuiteEpochSaltCommitmentCiphertext) {
  ASSERT_GE(envelope_.size(), kEnvelopeHeaderSize);
  EXPECT_EQ(envelope_[0], kEnvelopeVersion);
  EXPECT_EQ(envelope_[1], kEnvelopeSuite);
  EXPECT_EQ(Bytes(envelope_.begin() + 2, envelope_.begin() + 6), (Bytes{0, 0, 0, 3}));
  EXPECT_EQ(envelope_.size(), kEnvelopeHeaderSize + padme_length(4 + kValue.size()) + 16);
  auto epoch = read_envelope_epoch(envelope_);
  ASSERT_TRUE(epoch.ok());
  EXPECT_EQ(*epoch, kEpoch);
}

TEST_F(EnvelopeTest, SealingTwiceUsesFreshSalts) {
  auto again = seal_field(kContext, kEpoch, case_key_.view(), as_bytes(kValue));
  ASSERT_TRUE(again.ok());
  EXPECT_NE(Bytes(again->begin() + 6, again->begin() + 38),
            Bytes(envelope_.begin() + 6, envelope_.begin() + 38));
  EXPECT_NE(*again, envelope_);
}

TEST_F(EnvelopeTest, EverySingleBitFlipIsRefused) {
  std::size_t refused = 0;
  for (std::size_t bit = 0; bit < envelope_.size() * 8; ++bit) {
    Bytes flipped = envelope_;
    flipped[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    auto opened = open_field(kContext, kEpoch, case_key_.view(), flipped);
    EXPECT_FALSE(opened.ok()) << "bit " << bit << " flipped and the envelope still opened";
    if (!opened.ok()) ++refused;
  }
  EXPECT_EQ(refused, envelope_.size() * 8);
}

TEST_F(EnvelopeTest, FlippedRegionsReportTheirOwnCodes) {
  auto flip = [&](std::size_t byte) {
    Bytes flipped = envelope_;
    flipped[byte] ^= 0x01;
    return open_error(kContext, kEpoch, case_key_.view(), flipped);
  };
  EXPECT_EQ(flip(0), "unsupported_version");
  EXPECT_EQ(flip(1), "unsupported_suite");
  EXPECT_EQ(flip(5), "wrong_epoch");
  EXPECT_EQ(flip(6), "bad_commitment");   // salt
  EXPECT_EQ(flip(38), "bad_commitment");  // commitment
  EXPECT_EQ(flip(kEnvelopeHeaderSize), "decrypt_failed");
  EXPECT_EQ(flip(envelope_.size() - 1), "decrypt_failed");  // tag
}

TEST_F(EnvelopeTest, ValueMovedToAnotherPlaceIsRefused) {
  const std::vector<std::pair<const char*, FieldContext>> elsewhere = {
      {"field", {kContext.case_id, kContext.collection, kContext.record_id, "charges"}},
      {"record",
       {kContext.case_id, kContext.collection, "0190f1e2-aaaa-7bbb-8ccc-0123456789ac", kContext.field_name}},
      {"collection", {kContext.case_id, "notes", kContext.record_id, kContext.field_name}},
      {"case", {"case-7f3b", kContext.collection, kContext.record_id, kContext.field_name}},
      // Same bytes, different split between parts: the length prefixes tell them apart.
      {"boundary", {"case-7f3ai", "nterviews", kContext.record_id, kContext.field_name}},
  };
  for (const auto& [what, context] : elsewhere) {
    EXPECT_EQ(open_error(context, kEpoch, case_key_.view(), envelope_), "decrypt_failed") << what;
  }
}

TEST_F(EnvelopeTest, WrongEpochIsRefused) {
  EXPECT_EQ(open_error(kContext, kEpoch + 1, case_key_.view(), envelope_), "wrong_epoch");
}

TEST_F(EnvelopeTest, RewrittenEpochIsRefusedEvenWithTheMatchingKeyRequest) {
  Bytes rewritten = envelope_;
  rewritten[5] = kEpoch + 1;
  EXPECT_EQ(open_error(kContext, kEpoch + 1, case_key_.view(), rewritten), "decrypt_failed");
}

TEST_F(EnvelopeTest, UnknownVersionIsRefusedWithoutNegotiation) {
  for (std::uint8_t version : {0, 2, 255}) {
    Bytes future = envelope_;
    future[0] = version;
    EXPECT_EQ(open_error(kContext, kEpoch, case_key_.view(), future), "unsupported_version");
    EXPECT_EQ(read_envelope_epoch(future).error().code, "unsupported_version");
  }
}

TEST_F(EnvelopeTest, AnotherCaseKeyFailsTheCommitment) {
  auto other_key = random_secret(kCaseKeySize);
  ASSERT_TRUE(other_key.ok());
  EXPECT_EQ(open_error(kContext, kEpoch, other_key->view(), envelope_), "bad_commitment");
}

TEST_F(EnvelopeTest, BadCommitmentIsRefusedEvenIfTheCiphertextWereValid) {
  Bytes forged = envelope_;
  for (std::size_t i = 38; i < 70; ++i) forged[i] = 0;
  EXPECT_EQ(open_error(kContext, kEpoch, case_key_.view(), forged), "bad_commitment");
}

TEST_F(EnvelopeTest, TruncatedOversizedAndEmptyEnvelopesAreMalformed) {
  EXPECT_EQ(open_error(kContext, kEpoch, case_key_.view(), {}), "malformed_envelope");
  EXPECT_EQ(
      open_error(kContext, kEpoch, case_key_.view(), ByteView(envelope_).first(kEnvelopeHeaderSize + 19)),
      "malformed_envelope");
  Bytes huge = envelope_;
  huge.resize(kEnvelopeHeaderSize + padme_length(4 + kEnvelopeMaxPlaintextSize) + 17);
  EXPECT_EQ(open_error(kContext, kEpoch, case_key_.view(), huge), "malformed_envelope");
  EXPECT_EQ(read_envelope_epoch(ByteView(envelope_).first(10)).error().code, "malformed_envelope");
  // One byte short of intact: structurally fine, fails authentication.
  EXPECT_EQ(open_error(kContext, kEpoch, case_key_.view(), ByteView(envelope_).first(envelope_.size() - 1)),
            "decrypt_failed");
}

TEST_F(EnvelopeTest, BadKeysAndContextsAreRefused) {
  EXPECT_EQ(seal_field(kContext, kEpoch, Bytes(16, 1), as_bytes("x")).error().code, "invalid_key");
  EXPECT_EQ(seal_field({"", "c", "r", "f"}, kEpoch, case_key_.view(), as_bytes("x")).error().code,
            "invalid_context");
  const std::string long_name(kEnvelopeMaxContextFieldSize + 1, 'f');
  EXPECT_EQ(seal_field({"c", "c", "r", long_name}, kEpoch, case_key_.view(), as_bytes("x")).error().code,
            "invalid_context");
  EXPECT_EQ(open_error(kContext, kEpoch, Bytes(31, 1), envelope_), "invalid_key");
}

// Padmé, PURBs paper §4: E = floor(log2 L), S = floor(log2 E) + 1, the last
// E - S bits of L are rounded up. Expected values computed from that formula.
TEST(Padme, LengthsMatchThePaperFormula) {
  const std::pair<std::size_t, std::size_t> table[] = {
      {0, 0},
      {1, 1},
      {2, 2},
      {3, 3},
      {4, 4},
      {7, 7},
      {8, 8},
      {9, 10},
      {15, 16},
      {16, 16},
      {17, 18},
      {31, 32},
      {33, 36},
      {63, 64},
      {65, 72},
      {100, 104},
      {255, 256},
      {257, 272},
      {1000, 1024},
      {1025, 1088},
      {4100, 4352},
      {5000, 5120},
      {65537, 67584},
      {1000000, 1015808},
      {1048580, 1081344},
  };
  for (const auto& [length, padded] : table) EXPECT_EQ(padme_length(length), padded) << length;
}

TEST(Padme, OverheadStaysWithinTwelvePercentAndLengthsNeverShrink) {
  for (std::size_t length = 1; length < 70000; ++length) {
    const std::size_t padded = padme_length(length);
    ASSERT_GE(padded, length);
    ASSERT_LE((padded - length) * 100, length * 12) << length;
    ASSERT_EQ(padme_length(padded), padded) << "padded lengths are fixed points";
  }
}

}  // namespace
}  // namespace casefile::crypto
