// Keyring manifests: the golden encoding (docs/security.md walks through the
// same bytes), every strict-decoding refusal, domain separation from the other
// authority-signed formats, and every chain rule a device applies.
#include "sync/keyring_manifest.hpp"

#include <gtest/gtest.h>

#include "crypto/envelope.hpp"
#include "sync/case_key_wrap.hpp"
#include "sync/device_authentication.hpp"
#include "sync/device_certificate.hpp"
#include "sync/tls_pin_statement.hpp"
#include "sync/recovery_key_statement.hpp"
#include "sync/wipe_order.hpp"
#include "tests/sync/keyring_test_support.hpp"

namespace casefile::sync {
namespace {

using namespace keyring_test;

KeyringManifest example_manifest() {
  KeyringManifest manifest;
  manifest.case_id = example_case();
  manifest.epoch = 3;
  manifest.minimum_envelope_version = 1;
  manifest.issued_at_ms = kIssuedAt;
  manifest.previous_manifest_hash = filled<32>(0x60);
  manifest.case_key_commitment = filled<32>(0x80);
  manifest.recovery_key_fingerprint = filled<32>(0xa0);
  manifest.members = {device(0xd0), device(0xe0)};
  return manifest;
}

// Offsets in the stored form of example_manifest().
constexpr std::size_t kEpochOffset = 17;
constexpr std::size_t kMinimumVersionOffset = 21;
constexpr std::size_t kIssuedAtOffset = 22;
constexpr std::size_t kMemberCountOffset = 126;
constexpr std::size_t kFirstMemberOffset = 128;

crypto::Bytes example_stored() {
  return encode_manifest(sign_manifest(example_manifest(), authority_key()).value());
}

TEST(KeyringManifest, BodyMatchesTheDocumentedBytes) {
  const auto authority = authority_key();
  const KeyringManifest manifest = sign_manifest(example_manifest(), authority).value();
  const std::string expected = std::string("01")                     // version
                               + "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"  // case id
                               + "00000003"                          // epoch
                               + "01"                                // minimum envelope
                               + "0000000102030405"                  // issued_at
                               + crypto::to_hex(filled<32>(0x60))    // previous hash
                               + crypto::to_hex(filled<32>(0x80))    // key commitment
                               + crypto::to_hex(filled<32>(0xa0))    // recovery fingerprint
                               + "0002"                              // member count
                               + "d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"  // member 1
                               + "e0e1e2e3e4e5e6e7e8e9eaebecedeeef"  // member 2
                               + crypto::to_hex(crypto::sha256(authority.public_key()));  // authority
  EXPECT_EQ(crypto::to_hex(encode_manifest_body(manifest)), expected);
  EXPECT_EQ(crypto::to_hex(manifest_signing_message(manifest)),
            crypto::to_hex(crypto::as_bytes("casefile keyring manifest v1")) + "00" + expected);
  const crypto::Bytes stored = encode_manifest(manifest);
  EXPECT_EQ(stored.size(), expected.size() / 2 + 64);
  EXPECT_EQ(crypto::to_hex(crypto::ByteView(stored).last(64)), crypto::to_hex(manifest.signature));
  EXPECT_EQ(manifest_hash(manifest), crypto::sha256(stored));
  EXPECT_EQ(stored[kMemberCountOffset + 1], 2);
}

TEST(KeyringManifest, StoredFormRoundTripsAndVerifies) {
  const auto authority = authority_key();
  const KeyringManifest manifest = sign_manifest(example_manifest(), authority).value();
  const KeyringManifest decoded = decode_manifest(encode_manifest(manifest)).value();
  EXPECT_EQ(decoded, manifest);
  EXPECT_TRUE(verify_manifest(decoded, authority.public_key()).ok());
}

TEST(KeyringManifest, EveryTruncationAndATrailingByteAreRefused) {
  const crypto::Bytes stored = example_stored();
  for (std::size_t size = 0; size < stored.size(); ++size) {
    const crypto::Bytes prefix(stored.begin(), stored.begin() + static_cast<std::ptrdiff_t>(size));
    EXPECT_EQ(decode_manifest(prefix).error().code, "keyring_manifest_invalid") << "size " << size;
  }
  crypto::Bytes longer = stored;
  longer.push_back(0);
  EXPECT_EQ(decode_manifest(longer).error().code, "keyring_manifest_invalid");
}

TEST(KeyringManifest, MalformedFieldsAreRefusedWhenDecoding) {
  const crypto::Bytes stored = example_stored();
  auto patched = [&](auto&& patch) {
    crypto::Bytes bytes = stored;
    patch(bytes);
    return bytes;
  };
  const std::vector<std::pair<std::string, crypto::Bytes>> cases = {
      {"version 2", patched([](crypto::Bytes& b) { b[0] = 2; })},
      {"epoch 0", patched([](crypto::Bytes& b) { std::fill_n(b.begin() + kEpochOffset, 4, 0); })},
      {"epoch 2^31", patched([](crypto::Bytes& b) { b[kEpochOffset] = 0x80; })},
      {"minimum envelope version 0", patched([](crypto::Bytes& b) { b[kMinimumVersionOffset] = 0; })},
      {"negative issued_at", patched([](crypto::Bytes& b) { b[kIssuedAtOffset] = 0x80; })},
      {"unsorted members", patched([](crypto::Bytes& b) {
         std::swap_ranges(b.begin() + kFirstMemberOffset, b.begin() + kFirstMemberOffset + 16,
                          b.begin() + kFirstMemberOffset + 16);
       })},
      {"duplicate members", patched([](crypto::Bytes& b) {
         std::copy_n(b.begin() + kFirstMemberOffset, 16, b.begin() + kFirstMemberOffset + 16);
       })},
      {"nil member", patched([](crypto::Bytes& b) { std::fill_n(b.begin() + kFirstMemberOffset, 16, 0); })},
      {"member count 4096", patched([](crypto::Bytes& b) {
         b[kMemberCountOffset] = 0x10;
         b[kMemberCountOffset + 1] = 0x00;
       })},
      {"member count 3 of 2", patched([](crypto::Bytes& b) { b[kMemberCountOffset + 1] = 3; })},
      {"member count 1 of 2", patched([](crypto::Bytes& b) { b[kMemberCountOffset + 1] = 1; })},
  };
  for (const auto& [what, bytes] : cases) {
    auto decoded = decode_manifest(bytes);
    ASSERT_FALSE(decoded.ok()) << what;
    EXPECT_EQ(decoded.error().code, "keyring_manifest_invalid") << what;
  }
}

TEST(KeyringManifest, InvalidFieldsAreNeitherSignedNorVerified) {
  const auto authority = authority_key();
  KeyringManifest unsorted = example_manifest();
  std::swap(unsorted.members[0], unsorted.members[1]);
  KeyringManifest epoch_zero = example_manifest();
  epoch_zero.epoch = 0;
  for (const KeyringManifest& manifest : {unsorted, epoch_zero}) {
    EXPECT_EQ(sign_manifest(manifest, authority).error().code, "keyring_manifest_invalid");
    KeyringManifest claimed = manifest;
    claimed.authority_fingerprint = crypto::sha256(authority.public_key());
    EXPECT_EQ(verify_manifest(claimed, authority.public_key()).error().code, "keyring_manifest_invalid");
  }
}

TEST(KeyringManifest, EveryTamperedFieldBreaksTheSignature) {
  const auto authority = authority_key();
  const KeyringManifest good = sign_manifest(example_manifest(), authority).value();
  std::vector<KeyringManifest> tampered(9, good);
  tampered[0].case_id.bytes[0] ^= 1;
  tampered[1].epoch += 1;
  tampered[2].minimum_envelope_version += 1;
  tampered[3].issued_at_ms += 1;
  tampered[4].previous_manifest_hash[0] ^= 1;
  tampered[5].case_key_commitment[0] ^= 1;
  tampered[6].recovery_key_fingerprint[0] ^= 1;
  tampered[7].members.pop_back();
  tampered[8].signature[0] ^= 1;
  for (std::size_t i = 0; i < tampered.size(); ++i) {
    EXPECT_EQ(verify_manifest(tampered[i], authority.public_key()).error().code, "keyring_signature_invalid")
        << "field " << i;
  }
  EXPECT_EQ(verify_manifest(good, authority_key(0x02).public_key()).error().code, "keyring_wrong_authority");
}

TEST(KeyringManifest, ASignatureOverAnotherLabelIsRefused) {
  // The same body signed under each other authority label (and the wrap's).
  const auto authority = authority_key();
  const KeyringManifest good = sign_manifest(example_manifest(), authority).value();
  for (std::string_view label :
       {kDeviceCertificateLabel, kWipeOrderLabel, kEnrolmentProofLabel, kAuthChallengeLabel,
        kCaseKeyWrapLabel, kKeyringGenesisLabel, kRecoveryKeyStatementLabel}) {
    crypto::Bytes message(label.begin(), label.end());
    message.push_back(0);
    const crypto::Bytes body = encode_manifest_body(good);
    message.insert(message.end(), body.begin(), body.end());
    KeyringManifest forged = good;
    forged.signature = authority.sign(message).value();
    EXPECT_EQ(verify_manifest(forged, authority.public_key()).error().code, "keyring_signature_invalid")
        << label;
  }
}

TEST(KeyringManifest, ItsLabelIsDistinctFromAndNoPrefixOfEveryOtherLabel) {
  const std::vector<std::string_view> labels = {
      kKeyringManifestLabel,   kDeviceCertificateLabel, kWipeOrderLabel,
      kEnrolmentProofLabel,    kAuthChallengeLabel,     kCaseKeyWrapLabel,
      kCaseKeyCommitmentLabel, kKeyringGenesisLabel,    kRecoveryKeyStatementLabel,
      kTlsPinStatementLabel};
  for (std::size_t i = 0; i < labels.size(); ++i) {
    for (std::size_t j = 0; j < labels.size(); ++j) {
      if (i == j) continue;
      EXPECT_NE(labels[i], labels[j]);
      EXPECT_FALSE(labels[j].starts_with(labels[i])) << labels[i] << " prefixes " << labels[j];
    }
  }
}

class KeyringChainTest : public ::testing::Test {
 protected:
  crypto::Ed25519PrivateKey authority = authority_key();
  crypto::X25519PrivateKey recovery = x25519_key(0x70);
  SignedChain chain =
      signed_chain(authority, recovery.public_key(),
                   {{device(0xd0), device(0xe0)}, {device(0xd0)}, {device(0xd0), device(0xf0)}});
  std::vector<KeyringManifest>& manifests = chain.manifests;

  Result<KeyringManifest> verify(std::vector<KeyringManifest> links,
                                 const std::optional<KeyringManifest>& accepted = std::nullopt) {
    return verify_keyring_chain(example_case(), links, authority.public_key(), certified_signers(), accepted);
  }
  // `manifest` with `change` applied, signed again so that only the change is wrong.
  template <typename Change>
  KeyringManifest resigned(KeyringManifest manifest, Change change) {
    change(manifest);
    return sign_manifest(manifest, authority).value();
  }
};

TEST_F(KeyringChainTest, AWholeChainIsAcceptedAndItsNewestIsTheHead) {
  EXPECT_EQ(verify(manifests).value(), manifests[2]);
  EXPECT_EQ(verify({manifests[0]}).value(), manifests[0]);
}

TEST_F(KeyringChainTest, AChainThroughTheAcceptedHeadMovesTheHeadForward) {
  EXPECT_EQ(verify(manifests, manifests[1]).value(), manifests[2]);
  EXPECT_EQ(verify(manifests, manifests[2]).value(), manifests[2]);       // nothing new: the same head
  EXPECT_EQ(verify({manifests[2]}, manifests[1]).value(), manifests[2]);  // a continuation
}

TEST_F(KeyringChainTest, AChainStoppingBelowTheAcceptedHeadIsAnEpochLower) {
  EXPECT_EQ(verify({manifests[0], manifests[1]}, manifests[2]).error().code, "keyring_epoch_lower");
}

TEST_F(KeyringChainTest, AContinuationAtOrBelowTheAcceptedEpochIsAnEpochLower) {
  EXPECT_EQ(verify({manifests[1], manifests[2]}, manifests[1]).error().code, "keyring_epoch_lower");
  EXPECT_EQ(verify({manifests[1]}, manifests[2]).error().code, "keyring_epoch_lower");
}

TEST_F(KeyringChainTest, AGapIsABrokenChain) {
  EXPECT_EQ(verify({manifests[0], manifests[2]}).error().code, "keyring_chain_broken");
  const KeyringManifest fourth =
      sign_manifest(plan_rotation(manifests[2], {device(0xd0)}, case_key(0x40), kIssuedAt).value().manifest,
                    authority)
          .value();
  EXPECT_EQ(verify({fourth}, manifests[1]).error().code, "keyring_chain_broken");
}

TEST_F(KeyringChainTest, AWrongPreviousHashIsABrokenChain) {
  const KeyringManifest relinked =
      resigned(manifests[1], [](KeyringManifest& m) { m.previous_manifest_hash[0] ^= 1; });
  EXPECT_EQ(verify({manifests[0], relinked}).error().code, "keyring_chain_broken");
  EXPECT_EQ(verify({relinked}, manifests[0]).error().code, "keyring_chain_broken");
  const KeyringManifest rooted =
      resigned(manifests[0], [](KeyringManifest& m) { m.previous_manifest_hash[5] = 1; });
  EXPECT_EQ(verify({rooted}).error().code, "keyring_chain_broken");
}

TEST_F(KeyringChainTest, AnEmptyChainOrOneNotStartingAtEpochOneIsBroken) {
  EXPECT_EQ(verify({}).error().code, "keyring_chain_broken");
  EXPECT_EQ(verify({manifests[1], manifests[2]}).error().code, "keyring_chain_broken");
}

TEST_F(KeyringChainTest, AForkOfTheAcceptedHeadIsABrokenChain) {
  // A properly signed epoch 2 with other members, and an epoch 3 on top of it.
  const KeyringManifest other_second =
      sign_manifest(plan_rotation(manifests[0], {device(0xe0)}, case_key(0x50), kIssuedAt).value().manifest,
                    authority)
          .value();
  const KeyringManifest other_third =
      sign_manifest(plan_rotation(other_second, {device(0xe0)}, case_key(0x60), kIssuedAt).value().manifest,
                    authority)
          .value();
  EXPECT_TRUE(verify({manifests[0], other_second, other_third}).ok());  // a valid chain on its own
  EXPECT_EQ(verify({manifests[0], other_second, other_third}, manifests[1]).error().code,
            "keyring_chain_broken");
}

TEST_F(KeyringChainTest, ALoweredMinimumFormatIsRefused) {
  const KeyringManifest raised =
      resigned(manifests[1], [](KeyringManifest& m) { m.minimum_envelope_version = 2; });
  const KeyringManifest lowered = resigned(manifests[2], [&](KeyringManifest& m) {
    m.previous_manifest_hash = manifest_hash(raised);
    m.minimum_envelope_version = 1;
  });
  const KeyringManifest kept = resigned(lowered, [](KeyringManifest& m) { m.minimum_envelope_version = 2; });
  EXPECT_TRUE(verify({manifests[0], raised, kept}).ok());
  EXPECT_EQ(verify({manifests[0], raised, lowered}).error().code, "keyring_format_lowered");
  EXPECT_EQ(verify({lowered}, raised).error().code, "keyring_format_lowered");
}

TEST_F(KeyringChainTest, AnAlteredManifestIsASignatureFailure) {
  KeyringManifest altered = manifests[1];
  altered.members.push_back(device(0xf0));  // slipping a device in
  EXPECT_EQ(verify({manifests[0], altered, manifests[2]}).error().code, "keyring_signature_invalid");
}

TEST_F(KeyringChainTest, AManifestOfAnotherAuthorityIsRefused) {
  KeyringManifest foreign = sign_manifest(manifests[1], authority_key(0x02)).value();
  EXPECT_EQ(verify({manifests[0], foreign, manifests[2]}).error().code, "keyring_wrong_authority");
}

TEST_F(KeyringChainTest, AnotherCasesManifestIsRefused) {
  const CaseId other_case{filled<16>(0x10)};
  const SignedChain other = signed_chain(authority, recovery.public_key(), {{device(0xd0)}}, other_case);
  EXPECT_EQ(verify(other.manifests).error().code, "keyring_case_mismatch");
  const KeyringManifest moved = resigned(manifests[1], [&](KeyringManifest& m) { m.case_id = other_case; });
  EXPECT_EQ(verify({manifests[0], moved}).error().code, "keyring_case_mismatch");
  EXPECT_EQ(verify(manifests, other.manifests[0]).error().code, "keyring_case_mismatch");
}

// Genesis: epoch 1 signed by the device that created the case (issue 7).
class GenesisChainTest : public ::testing::Test {
 protected:
  crypto::Ed25519PrivateKey authority = authority_key();
  crypto::Ed25519PrivateKey creator_key = authority_key(0x30);
  crypto::Ed25519PrivateKey other_device_key = authority_key(0x50);
  DeviceId creator = device(0xd0);
  crypto::X25519PrivateKey recovery = x25519_key(0x70);
  SignedChain chain = genesis_chain(authority, creator_key, creator, recovery.public_key(),
                                    {{creator, device(0xe0)}, {device(0xe0)}});
  DeviceSigningKeyLookup signers = certified_signers({{creator, creator_key.public_key()}});

  Result<KeyringManifest> verify(std::vector<KeyringManifest> links, const DeviceSigningKeyLookup& lookup,
                                 const std::optional<KeyringManifest>& accepted = std::nullopt) {
    return verify_keyring_chain(example_case(), links, authority.public_key(), lookup, accepted);
  }
  // Epoch 1 for `members`, signed under the genesis label by `signer` (bypassing
  // sign_genesis_manifest's own checks, as a forger would).
  KeyringManifest forged_genesis(std::vector<DeviceId> members, const crypto::Ed25519PrivateKey& signer) {
    KeyringManifest manifest = chain.manifests[0];
    manifest.members = std::move(members);
    manifest.signature = signer.sign(genesis_signing_message(manifest)).value();
    return manifest;
  }
};

TEST_F(GenesisChainTest, AChainFromADeviceSignedGenesisVerifiesThroughTheCertifiedSigner) {
  EXPECT_EQ(verify(chain.manifests, signers).value(), chain.manifests[2]);
  EXPECT_EQ(verify({chain.manifests[0]}, signers).value(), chain.manifests[0]);
  EXPECT_TRUE(
      verify_genesis_manifest(chain.manifests[0], authority.public_key(), creator_key.public_key()).ok());
  // The genesis signature is not an authority signature.
  EXPECT_EQ(verify_manifest(chain.manifests[0], authority.public_key()).error().code,
            "keyring_signature_invalid");
  EXPECT_EQ(chain.manifests[0].authority_fingerprint, crypto::sha256(authority.public_key()));
}

TEST_F(GenesisChainTest, AnUnknownOrWrongSignerIsRefused) {
  EXPECT_EQ(verify(chain.manifests, certified_signers()).error().code, "keyring_signature_invalid");
  EXPECT_EQ(verify(chain.manifests, DeviceSigningKeyLookup{}).error().code, "keyring_signature_invalid");
  EXPECT_EQ(
      verify(chain.manifests, certified_signers({{creator, other_device_key.public_key()}})).error().code,
      "keyring_signature_invalid");
  // Another certified device signing the creator's genesis.
  const KeyringManifest by_other = forged_genesis({creator}, other_device_key);
  const auto lookup =
      certified_signers({{creator, creator_key.public_key()}, {device(0xe0), other_device_key.public_key()}});
  EXPECT_EQ(verify({by_other}, lookup).error().code, "keyring_signature_invalid");
}

TEST_F(GenesisChainTest, ADeviceCannotSignAGenesisWithAnotherMemberOrALaterEpoch) {
  const auto lookup =
      certified_signers({{creator, creator_key.public_key()}, {device(0xe0), other_device_key.public_key()}});
  // Two members: only the authority may name more than the creator.
  EXPECT_EQ(verify({forged_genesis({creator, device(0xe0)}, creator_key)}, lookup).error().code,
            "keyring_signature_invalid");
  // Epoch 2 under the genesis label, by a member device.
  KeyringManifest second = chain.manifests[1];
  second.members = {creator};
  second.signature = creator_key.sign(genesis_signing_message(second)).value();
  EXPECT_EQ(verify({chain.manifests[0], second}, lookup).error().code, "keyring_signature_invalid");
  // The genesis label check itself.
  EXPECT_EQ(verify_genesis_manifest(second, authority.public_key(), creator_key.public_key()).error().code,
            "keyring_manifest_invalid");
}

TEST_F(GenesisChainTest, SigningAGenesisNeedsEpochOneOneMemberAndTheAuthorityNamed) {
  KeyringManifest unsigned_first = chain.plans[0].manifest;
  unsigned_first.authority_fingerprint = {};
  EXPECT_EQ(sign_genesis_manifest(unsigned_first, creator_key).error().code, "keyring_manifest_invalid");
  unsigned_first.authority_fingerprint = crypto::sha256(authority.public_key());
  KeyringManifest two = unsigned_first;
  two.members = {creator, device(0xe0)};
  EXPECT_EQ(sign_genesis_manifest(two, creator_key).error().code, "keyring_manifest_invalid");
  KeyringManifest later = unsigned_first;
  later.epoch = 2;
  EXPECT_EQ(sign_genesis_manifest(later, creator_key).error().code, "keyring_manifest_invalid");
  const KeyringManifest signed_first = sign_genesis_manifest(unsigned_first, creator_key).value();
  EXPECT_EQ(signed_first, chain.manifests[0]);
  EXPECT_EQ(verify_genesis_manifest(signed_first, authority_key(0x02).public_key(), creator_key.public_key())
                .error()
                .code,
            "keyring_wrong_authority");
}

TEST_F(GenesisChainTest, AnAlteredGenesisOrAGenesisOfAnotherAuthorityIsRefused) {
  KeyringManifest altered = chain.manifests[0];
  altered.recovery_key_fingerprint[0] ^= 1;  // a server substituting the recovery key
  EXPECT_EQ(verify({altered}, signers).error().code, "keyring_signature_invalid");
  KeyringManifest foreign = chain.plans[0].manifest;
  foreign.authority_fingerprint = crypto::sha256(authority_key(0x02).public_key());
  foreign = sign_genesis_manifest(foreign, creator_key).value();
  EXPECT_EQ(verify({foreign}, signers).error().code, "keyring_wrong_authority");
}

TEST_F(GenesisChainTest, AnAuthoritySignedEpochOneStillVerifiesWithoutALookup) {
  const SignedChain by_authority = signed_chain(authority, recovery.public_key(), {{creator}, {creator}});
  EXPECT_EQ(verify(by_authority.manifests, DeviceSigningKeyLookup{}).value(), by_authority.manifests[1]);
}

TEST(RecoveryKeyStatement, TheAuthoritysStatementVerifiesForThatKeyOnly) {
  const auto authority = authority_key();
  const crypto::X25519PublicKey recovery = x25519_key(0x70).public_key();
  EXPECT_EQ(crypto::to_hex(recovery_key_statement_message(recovery)),
            crypto::to_hex(crypto::as_bytes("casefile recovery key v1")) + "00" + crypto::to_hex(recovery));
  const crypto::Ed25519Signature signature = sign_recovery_key_statement(recovery, authority).value();
  EXPECT_TRUE(verify_recovery_key_statement(recovery, signature, authority.public_key()).ok());
  EXPECT_EQ(verify_recovery_key_statement(x25519_key(0x71).public_key(), signature, authority.public_key())
                .error()
                .code,
            "recovery_key_signature_invalid");
  EXPECT_EQ(verify_recovery_key_statement(recovery, signature, authority_key(0x02).public_key()).error().code,
            "recovery_key_signature_invalid");
  crypto::Ed25519Signature altered = signature;
  altered[5] ^= 1;
  EXPECT_EQ(verify_recovery_key_statement(recovery, altered, authority.public_key()).error().code,
            "recovery_key_signature_invalid");
  EXPECT_EQ(
      verify_recovery_key_statement(recovery, crypto::ByteView(signature).first(63), authority.public_key())
          .error()
          .code,
      "recovery_key_signature_invalid");
}

}  // namespace
}  // namespace casefile::sync
