// Case-key wraps and device keyrings: the wrap opens for its one recipient,
// case and epoch only; a device keeps only keys its signed manifests commit
// to; rotation plans cost one wrap per member plus recovery; and a revoked
// device's keys open nothing of the epoch that excluded it (issue 7).
#include "sync/case_keyring.hpp"

#include <gtest/gtest.h>

#include "crypto/envelope.hpp"
#include "sync/case_key_wrap.hpp"
#include "tests/sync/keyring_test_support.hpp"

namespace casefile::sync {
namespace {

using namespace keyring_test;

std::string hex_of(const crypto::SecretBytes& secret) { return crypto::to_hex(secret.view()); }

TEST(CaseKeyWrap, InfoAndCommitmentMatchTheDocumentedBytes) {
  EXPECT_EQ(crypto::to_hex(case_key_wrap_info(example_case(), 3, device(0xd0))),
            crypto::to_hex(crypto::as_bytes("casefile case key v1")) + "00" +
                "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf" + "00000003" + "d0d1d2d3d4d5d6d7d8d9dadbdcdddedf");
  // HMAC-SHA256(00..1f, "casefile case key commitment v1" || 00 || c0..cf || 00000003), computed
  // independently.
  EXPECT_EQ(crypto::to_hex(case_key_commitment(case_key(0x00), example_case(), 3)),
            "8240eb8600b4ee264b5fddea534d68075c5b18ea7d5204e4b29d568e87fa791c");
}

TEST(CaseKeyWrap, RoundTripsForItsRecipient) {
  const auto recipient = x25519_key(0x40);
  const auto key = case_key(0x10);
  const crypto::Bytes wrap =
      wrap_case_key(key, example_case(), 3, device(0xd0), recipient.public_key()).value();
  EXPECT_EQ(wrap.size(), kCaseKeyWrapSize);
  EXPECT_EQ(hex_of(unwrap_case_key(wrap, example_case(), 3, device(0xd0), recipient).value()), hex_of(key));
  // A fresh encapsulation each time: two wraps of one key differ.
  EXPECT_NE(wrap, wrap_case_key(key, example_case(), 3, device(0xd0), recipient.public_key()).value());
}

TEST(CaseKeyWrap, AnotherDeviceCaseOrEpochCannotOpenIt) {
  const auto recipient = x25519_key(0x40);
  const auto other_device_key = x25519_key(0x50);
  const crypto::Bytes wrap =
      wrap_case_key(case_key(0x10), example_case(), 3, device(0xd0), recipient.public_key()).value();
  const CaseId other_case{filled<16>(0x10)};
  EXPECT_EQ(unwrap_case_key(wrap, example_case(), 3, device(0xd0), other_device_key).error().code,
            "case_key_unwrap_failed");
  EXPECT_EQ(unwrap_case_key(wrap, example_case(), 3, device(0xe0), recipient).error().code,
            "case_key_unwrap_failed");
  EXPECT_EQ(unwrap_case_key(wrap, other_case, 3, device(0xd0), recipient).error().code,
            "case_key_unwrap_failed");
  EXPECT_EQ(unwrap_case_key(wrap, example_case(), 4, device(0xd0), recipient).error().code,
            "case_key_unwrap_failed");
}

TEST(CaseKeyWrap, EveryAlteredByteAndEveryWrongSizeIsRefused) {
  const auto recipient = x25519_key(0x40);
  const crypto::Bytes wrap =
      wrap_case_key(case_key(0x10), example_case(), 3, device(0xd0), recipient.public_key()).value();
  for (std::size_t i = 0; i < wrap.size(); ++i) {
    crypto::Bytes altered = wrap;
    altered[i] ^= 0x01;
    EXPECT_EQ(unwrap_case_key(altered, example_case(), 3, device(0xd0), recipient).error().code,
              "case_key_unwrap_failed")
        << "byte " << i;
  }
  crypto::Bytes shorter(wrap.begin(), wrap.end() - 1);
  crypto::Bytes longer = wrap;
  longer.push_back(0);
  for (const crypto::Bytes& bytes : {shorter, longer, crypto::Bytes{}}) {
    EXPECT_EQ(unwrap_case_key(bytes, example_case(), 3, device(0xd0), recipient).error().code,
              "case_key_unwrap_failed");
  }
}

TEST(CaseKeyWrap, OnlyA32ByteCaseKeyIsWrapped) {
  const crypto::SecretBytes short_key(filled<16>(0));
  EXPECT_EQ(
      wrap_case_key(short_key, example_case(), 1, device(0xd0), x25519_key(0x40).public_key()).error().code,
      "invalid_key");
}

TEST(CaseKeyWrap, TheRecoveryWrapOpensWithTheRecoveryKeyOnly) {
  const auto recovery = x25519_key(0x70);
  const auto key = case_key(0x10);
  const crypto::Bytes wrap =
      wrap_case_key(key, example_case(), 2, kRecoveryRecipient, recovery.public_key()).value();
  EXPECT_EQ(hex_of(unwrap_case_key(wrap, example_case(), 2, kRecoveryRecipient, recovery).value()),
            hex_of(key));
  EXPECT_EQ(unwrap_case_key(wrap, example_case(), 2, kRecoveryRecipient, x25519_key(0x40)).error().code,
            "case_key_unwrap_failed");
  EXPECT_EQ(to_text(kRecoveryRecipient), "00000000-0000-0000-0000-000000000000");
}

// Three devices A (0xd0), B (0xe0), R (0xf0), each with its X25519 key; epoch
// 1 is wrapped to all three, epoch 2 is the rotation that revokes R.
class CaseKeyringTest : public ::testing::Test {
 protected:
  crypto::Ed25519PrivateKey authority = authority_key();
  crypto::X25519PrivateKey recovery = x25519_key(0x70);
  DeviceId a = device(0xd0), b = device(0xe0), r = device(0xf0);
  crypto::X25519PrivateKey a_key = x25519_key(0x40), b_key = x25519_key(0x50), r_key = x25519_key(0x60);
  SignedChain chain = signed_chain(authority, recovery.public_key(), {{a, b, r}, {a, b}});
  std::vector<std::vector<RecipientWrap>> wraps_by_epoch;

  void SetUp() override {
    const std::vector<RecipientKey> keys = {{a, a_key.public_key()},
                                            {b, b_key.public_key()},
                                            {r, r_key.public_key()},
                                            {kRecoveryRecipient, recovery.public_key()}};
    for (const RotationPlan& plan : chain.plans) wraps_by_epoch.push_back(wrap_rotation(plan, keys).value());
  }

  // What GET /v1/keys/{case} returns to `recipient`.
  std::vector<KeyringEpochEntry> entries_for(const DeviceId& recipient) const {
    std::vector<KeyringEpochEntry> entries;
    for (std::size_t i = 0; i < chain.manifests.size(); ++i) {
      KeyringEpochEntry entry{chain.manifests[i].epoch, encode_manifest(chain.manifests[i]), std::nullopt};
      for (const RecipientWrap& wrap : wraps_by_epoch[i]) {
        if (wrap.recipient == recipient) entry.wrap = wrap.wrap;
      }
      entries.push_back(std::move(entry));
    }
    return entries;
  }

  Result<CaseKeyring> open_for(const DeviceId& self, const crypto::X25519PrivateKey& key,
                               const std::vector<KeyringEpochEntry>& entries,
                               const std::optional<KeyringManifest>& accepted = std::nullopt) const {
    return CaseKeyring::open(example_case(), entries, authority.public_key(), certified_signers(), self, key,
                             accepted);
  }
};

TEST_F(CaseKeyringTest, AMemberHoldsEveryEpochAndWritesUnderTheNewest) {
  const CaseKeyring keyring = open_for(a, a_key, entries_for(a)).value();
  EXPECT_EQ(keyring.held_epochs(), (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(keyring.head(), chain.manifests[1]);
  EXPECT_EQ(keyring.write_epoch().value(), 2u);
  EXPECT_EQ(crypto::to_hex(keyring.key(1).value()), hex_of(chain.plans[0].case_key));
  EXPECT_EQ(crypto::to_hex(keyring.key(2).value()), hex_of(chain.plans[1].case_key));
  EXPECT_EQ(keyring.key(3).error().code, "case_key_unavailable");
}

TEST_F(CaseKeyringTest, ARotationCostsOneWrapPerMemberDevicePlusRecovery) {
  EXPECT_EQ(chain.plans[1].recipients, (std::vector<DeviceId>{a, b, kRecoveryRecipient}));
  EXPECT_EQ(wraps_by_epoch[1].size(), 3u);
  const RotationPlan next =
      plan_rotation(chain.manifests[1], {r, a, a, b}, case_key(0x30), kIssuedAt).value();
  EXPECT_EQ(next.manifest.epoch, 3u);
  EXPECT_EQ(next.manifest.members, (std::vector<DeviceId>{a, b, r}));  // sorted, duplicates collapsed
  EXPECT_EQ(next.recipients, (std::vector<DeviceId>{a, b, r, kRecoveryRecipient}));
  EXPECT_EQ(next.manifest.previous_manifest_hash, manifest_hash(chain.manifests[1]));
  EXPECT_EQ(next.manifest.recovery_key_fingerprint, chain.manifests[1].recovery_key_fingerprint);
  EXPECT_EQ(next.manifest.minimum_envelope_version, chain.manifests[1].minimum_envelope_version);
  EXPECT_EQ(next.manifest.case_key_commitment, case_key_commitment(case_key(0x30), example_case(), 3));
}

TEST_F(CaseKeyringTest, PlansRefuseBadMembersKeysAndTheLastEpoch) {
  EXPECT_EQ(
      plan_rotation(chain.manifests[1], {a, kRecoveryRecipient}, case_key(0x30), kIssuedAt).error().code,
      "keyring_manifest_invalid");
  EXPECT_EQ(
      plan_rotation(chain.manifests[1], {a}, crypto::SecretBytes(filled<16>(0)), kIssuedAt).error().code,
      "invalid_key");
  KeyringManifest last = chain.manifests[1];
  last.epoch = kMaxKeyringEpoch;
  EXPECT_EQ(plan_rotation(last, {a}, case_key(0x30), kIssuedAt).error().code, "keyring_epoch_exhausted");
  EXPECT_EQ(
      plan_first_epoch(example_case(), {a}, recovery.public_key(), 0, case_key(0x30), kIssuedAt).error().code,
      "keyring_manifest_invalid");
}

TEST_F(CaseKeyringTest, WrappingNeedsEveryRecipientsKeyAndTheNamedRecoveryKey) {
  const std::vector<RecipientKey> without_b = {{a, a_key.public_key()},
                                               {kRecoveryRecipient, recovery.public_key()}};
  EXPECT_EQ(wrap_rotation(chain.plans[1], without_b).error().code, "keyring_recipient_unknown");
  const std::vector<RecipientKey> other_recovery = {
      {a, a_key.public_key()}, {b, b_key.public_key()}, {kRecoveryRecipient, x25519_key(0x71).public_key()}};
  EXPECT_EQ(wrap_rotation(chain.plans[1], other_recovery).error().code, "keyring_recovery_key_mismatch");
}

TEST_F(CaseKeyringTest, TheRecoveryKeyOpensEveryEpoch) {
  const CaseKeyring keyring = open_for(kRecoveryRecipient, recovery, entries_for(kRecoveryRecipient)).value();
  EXPECT_EQ(keyring.held_epochs(), (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(crypto::to_hex(keyring.key(2).value()), hex_of(chain.plans[1].case_key));
}

TEST_F(CaseKeyringTest, ARevokedDeviceCannotOpenTheEpochThatExcludedIt) {
  // R holds epoch 1 and nothing of epoch 2: no wrap of it opens with R's key,
  // under R's id or the wrap's own recipient id.
  const CaseKeyring revoked = open_for(r, r_key, entries_for(r)).value();
  EXPECT_EQ(revoked.held_epochs(), (std::vector<std::uint32_t>{1}));
  EXPECT_EQ(revoked.write_epoch().error().code, "case_key_unavailable");
  for (const RecipientWrap& wrap : wraps_by_epoch[1]) {
    EXPECT_FALSE(unwrap_case_key(wrap.wrap, example_case(), 2, r, r_key).ok());
    EXPECT_FALSE(unwrap_case_key(wrap.wrap, example_case(), 2, wrap.recipient, r_key).ok());
  }
  // A server handing R another member's epoch-2 wrap as its own gains R nothing.
  std::vector<KeyringEpochEntry> relayed = entries_for(r);
  relayed[1].wrap = entries_for(a)[1].wrap;
  EXPECT_EQ(open_for(r, r_key, relayed).error().code, "case_key_unwrap_failed");

  // A value A writes after the rotation: A's keyring opens it, no key R holds does.
  const CaseKeyring member = open_for(a, a_key, entries_for(a)).value();
  const crypto::FieldContext field{"c0c1c2c3-c4c5-c6c7-c8c9-cacbcccdcecf", "interviews", "record-1",
                                   "allegation"};
  const std::uint32_t epoch = member.write_epoch().value();
  const crypto::Bytes sealed =
      crypto::seal_field(field, epoch, member.key(epoch).value(), crypto::as_bytes("statement")).value();
  EXPECT_TRUE(crypto::open_field(field, epoch, member.key(epoch).value(), sealed).ok());
  for (std::uint32_t held : revoked.held_epochs()) {
    EXPECT_FALSE(crypto::open_field(field, epoch, revoked.key(held).value(), sealed).ok());
  }
}

TEST_F(CaseKeyringTest, AKeyTheManifestDoesNotCommitToIsRefused) {
  // Base-mode HPKE is unauthenticated: a server can wrap a key of its own to
  // A. The signed commitment is what refuses it.
  std::vector<KeyringEpochEntry> substituted = entries_for(a);
  substituted[1].wrap = wrap_case_key(case_key(0x99), example_case(), 2, a, a_key.public_key()).value();
  EXPECT_EQ(open_for(a, a_key, substituted).error().code, "case_key_unwrap_failed");
}

TEST_F(CaseKeyringTest, AnAddedMemberReceivesEveryHeldEpoch) {
  const DeviceId added = device(0x20);
  const auto added_key = x25519_key(0x80);
  const CaseKeyring member = open_for(a, a_key, entries_for(a)).value();
  const std::vector<EpochWrap> wraps = member.wrap_held_epochs(added, added_key.public_key()).value();
  ASSERT_EQ(wraps.size(), 2u);
  std::vector<KeyringEpochEntry> entries = entries_for(added);
  for (std::size_t i = 0; i < wraps.size(); ++i) entries[i].wrap = wraps[i].wrap;
  const CaseKeyring joined = open_for(added, added_key, entries).value();
  EXPECT_EQ(joined.held_epochs(), (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(joined.write_epoch().value(), 2u);
}

TEST_F(CaseKeyringTest, TheChainRulesApplyBeforeAnyKeyIsKept) {
  std::vector<KeyringEpochEntry> mislabelled = entries_for(a);
  mislabelled[1].epoch = 3;
  EXPECT_EQ(open_for(a, a_key, mislabelled).error().code, "keyring_chain_broken");
  std::vector<KeyringEpochEntry> rolled_back = entries_for(a);
  rolled_back.pop_back();
  EXPECT_EQ(open_for(a, a_key, rolled_back, chain.manifests[1]).error().code, "keyring_epoch_lower");
  std::vector<KeyringEpochEntry> garbled = entries_for(a);
  garbled[0].manifest.push_back(0);
  EXPECT_EQ(open_for(a, a_key, garbled).error().code, "keyring_manifest_invalid");
}

TEST(CaseKeyringGenesis, ADeviceCreatedCaseOpensForItsCreatorAndLaterMembers) {
  const auto authority = authority_key();
  const auto creator_signing = authority_key(0x30);
  const auto recovery = x25519_key(0x70);
  const DeviceId creator = device(0xd0), joiner = device(0xe0);
  const auto creator_key = x25519_key(0x40), joiner_key = x25519_key(0x50);
  const SignedChain chain =
      genesis_chain(authority, creator_signing, creator, recovery.public_key(), {{creator, joiner}});
  const std::vector<RecipientKey> keys = {{creator, creator_key.public_key()},
                                          {joiner, joiner_key.public_key()},
                                          {kRecoveryRecipient, recovery.public_key()}};
  std::vector<KeyringEpochEntry> entries;
  for (std::size_t i = 0; i < chain.plans.size(); ++i) {
    const auto wraps = wrap_rotation(chain.plans[i], keys).value();
    entries.push_back(
        KeyringEpochEntry{chain.manifests[i].epoch, encode_manifest(chain.manifests[i]), wraps[0].wrap});
  }
  const auto signers = certified_signers({{creator, creator_signing.public_key()}});
  const CaseKeyring keyring =
      CaseKeyring::open(example_case(), entries, authority.public_key(), signers, creator, creator_key)
          .value();
  EXPECT_EQ(keyring.held_epochs(), (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(keyring.write_epoch().value(), 2u);
  // Without the creator's certificate the genesis cannot be trusted.
  EXPECT_EQ(CaseKeyring::open(example_case(), entries, authority.public_key(), certified_signers(), creator,
                              creator_key)
                .error()
                .code,
            "keyring_signature_invalid");
}

}  // namespace
}  // namespace casefile::sync
