// FieldDevice's case keyrings (issue #7, docs/device.md "Case keyrings"): the
// accepted head is stored and enforced (a lower epoch, a broken chain, a
// lowered format are refused and change nothing), writes use the head epoch,
// a device the head leaves out cannot write, the genesis epoch, the recovery
// key statement, purge, and re-encryption (resumable and idempotent).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crypto/envelope.hpp"
#include "crypto/hash.hpp"
#include "crypto/random.hpp"
#include "device/field_device.hpp"
#include "sync/case_key_wrap.hpp"
#include "sync/device_certificate.hpp"
#include "sync/recovery_key_statement.hpp"
#include "tests/device/field_device_test_support.hpp"

namespace casefile::device {
namespace {

using testing::case_fields;
using testing::create_device;
using testing::find_field;
using testing::interview_fields;
using testing::kNow;
using testing::ScratchDirectory;

class FieldDeviceKeyring : public ::testing::Test {
 protected:
  void SetUp() override {
    auto authority = crypto::Ed25519PrivateKey::generate();
    ASSERT_TRUE(authority.ok());
    authority_.emplace(std::move(*authority));
    auto recovery = crypto::X25519PrivateKey::generate();
    ASSERT_TRUE(recovery.ok());
    recovery_.emplace(std::move(*recovery));
    certify(alice_, "alice");
    certify(bruno_, "bruno");
    CASEFILE_ASSERT_OK(alice_.cache_certificate(*bruno_.profile().certificate));
    auto signature = sync::sign_recovery_key_statement(recovery_->public_key(), *authority_);
    ASSERT_TRUE(signature.ok());
    CASEFILE_ASSERT_OK(alice_.record_recovery_key(recovery_->public_key(), *signature));

    auto created = alice_.create_case(case_fields("the case summary"), kNow);
    CASEFILE_ASSERT_OK(created);
    case_id_ = *created;
    // What the sync round does: genesis signed by alice, accepted as the head.
    auto genesis = alice_.prepare_genesis(case_id_, kNow);
    CASEFILE_ASSERT_OK(genesis);
    manifests_.push_back(genesis->manifest);
    wraps_.push_back(genesis->wraps);
    CASEFILE_ASSERT_OK(alice_.accept_keyring(case_id_, entries_for(alice_)));
  }

  void certify(FieldDevice& device, const std::string& user) {
    CASEFILE_ASSERT_OK(device.begin_enrolment(ServerEndpoint{"https://localhost:1", "localhost", 1, {}},
                                              crypto::sha256(authority_->public_key())));
    sync::DeviceCertificate certificate;
    certificate.device = device.profile().device_id;
    certificate.user = user;
    certificate.role = "lawyer";
    certificate.signing_public_key = device.signing_key().public_key();
    certificate.wrapping_public_key = device.wrapping_key().public_key();
    certificate.not_before_ms = 0;
    certificate.not_after_ms = kNow * 2;
    auto signed_certificate = sync::sign_certificate(certificate, *authority_);
    ASSERT_TRUE(signed_certificate.ok());
    CASEFILE_ASSERT_OK(device.record_certificate(*signed_certificate, authority_->public_key(), kNow));
  }

  // The authority's next epoch for `members`, appended to the chain, with
  // wraps to each member and the recovery key.
  void rotate(std::vector<sync::DeviceId> members, std::optional<std::uint8_t> minimum_version = std::nullopt) {
    auto key = crypto::random_secret(crypto::kCaseKeySize);
    ASSERT_TRUE(key.ok());
    auto plan = sync::plan_rotation(manifests_.back(), members, std::move(*key), kNow);
    CASEFILE_ASSERT_OK(plan);
    if (minimum_version) plan->manifest.minimum_envelope_version = *minimum_version;
    std::vector<sync::RecipientKey> recipients{{sync::kRecoveryRecipient, recovery_->public_key()}};
    for (FieldDevice* device : {&alice_, &bruno_}) {
      recipients.push_back({device->profile().device_id, device->wrapping_key().public_key()});
    }
    auto wraps = sync::wrap_rotation(*plan, recipients);
    CASEFILE_ASSERT_OK(wraps);
    auto signed_manifest = sync::sign_manifest(plan->manifest, *authority_);
    CASEFILE_ASSERT_OK(signed_manifest);
    manifests_.push_back(*signed_manifest);
    wraps_.push_back(*wraps);
  }

  // GET /v1/keys/{case} as `device` would receive it: the whole chain.
  std::vector<sync::KeyringEpochEntry> entries_for(FieldDevice& device) {
    std::vector<sync::KeyringEpochEntry> entries;
    for (std::size_t i = 0; i < manifests_.size(); ++i) {
      sync::KeyringEpochEntry entry;
      entry.epoch = manifests_[i].epoch;
      entry.manifest = sync::encode_manifest(manifests_[i]);
      for (const sync::RecipientWrap& wrap : wraps_[i]) {
        if (wrap.recipient == device.profile().device_id) entry.wrap = wrap.wrap;
      }
      entries.push_back(std::move(entry));
    }
    return entries;
  }

  std::uint32_t head_epoch(FieldDevice& device) {
    auto head = device.keyring_head(case_id_);
    EXPECT_TRUE(head.ok());
    return head.ok() && head->has_value() ? (*head)->epoch : 0;
  }

  // The epoch of the sealed value `field` of `record` shows.
  std::uint32_t value_epoch(FieldDevice& device, const sync::RecordKey& record, const std::string& field) {
    auto state = device.store().load_record(record);
    EXPECT_TRUE(state.ok() && state->has_value());
    const auto& sealed = std::get<sync::SealedValue>((*state)->field(field)->winner()->value);
    return crypto::read_envelope_epoch(sealed.envelope).value();
  }

  sync::RecordKey write_interview(const std::string& notes) {
    auto written = alice_.write(case_id_, "interviews", std::nullopt, interview_fields(case_id_, notes), kNow);
    EXPECT_TRUE(written.ok()) << written.error().code;
    return *written;
  }

  std::string read_notes(const sync::RecordKey& record) {
    auto read = alice_.read(record);
    EXPECT_TRUE(read.ok());
    const FieldRead* notes = find_field(*read, "notes");
    EXPECT_NE(notes, nullptr);
    EXPECT_EQ(notes->winner.unreadable, "");
    return std::get<std::string>(notes->winner.value);
  }

  ScratchDirectory alice_directory_;
  ScratchDirectory bruno_directory_;
  FieldDevice alice_ = create_device(alice_directory_.path(), "alice passphrase");
  FieldDevice bruno_ = create_device(bruno_directory_.path(), "bruno passphrase");
  std::optional<crypto::Ed25519PrivateKey> authority_;
  std::optional<crypto::X25519PrivateKey> recovery_;
  sync::CaseId case_id_;
  std::vector<sync::KeyringManifest> manifests_;
  std::vector<std::vector<sync::RecipientWrap>> wraps_;
};

TEST_F(FieldDeviceKeyring, GenesisIsSignedByTheCreatingDeviceAndStoredAsTheHead) {
  const sync::KeyringManifest& genesis = manifests_.front();
  EXPECT_EQ(genesis.epoch, 1u);
  EXPECT_EQ(genesis.members, std::vector<sync::DeviceId>{alice_.profile().device_id});
  EXPECT_EQ(genesis.recovery_key_fingerprint, crypto::sha256(recovery_->public_key()));
  CASEFILE_ASSERT_OK(sync::verify_genesis_manifest(genesis, authority_->public_key(), alice_.signing_key().public_key()));
  // The recovery key receives the case key too.
  ASSERT_EQ(wraps_.front().size(), 2u);
  EXPECT_EQ(wraps_.front().back().recipient, sync::kRecoveryRecipient);
  auto recovered =
      sync::unwrap_case_key(wraps_.front().back().wrap, case_id_, 1, sync::kRecoveryRecipient, *recovery_);
  CASEFILE_ASSERT_OK(recovered);
  EXPECT_EQ(recovered->view().size(), 32u);
  EXPECT_EQ(head_epoch(alice_), 1u);
  auto awaiting = alice_.cases_awaiting_genesis();
  CASEFILE_ASSERT_OK(awaiting);
  EXPECT_TRUE(awaiting->empty());
}

TEST_F(FieldDeviceKeyring, ACaseCreatedHereAwaitsItsGenesisUntilAHeadIsAccepted) {
  auto other = alice_.create_case(case_fields("another case"), kNow);
  CASEFILE_ASSERT_OK(other);
  auto awaiting = alice_.cases_awaiting_genesis();
  CASEFILE_ASSERT_OK(awaiting);
  EXPECT_EQ(*awaiting, std::vector<sync::CaseId>{*other});
}

TEST_F(FieldDeviceKeyring, GenesisNeedsTheVerifiedRecoveryKey) {
  auto other = bruno_.create_case(case_fields("bruno's case"), kNow);
  CASEFILE_ASSERT_OK(other);
  auto genesis = bruno_.prepare_genesis(*other, kNow);
  ASSERT_FALSE(genesis.ok());
  EXPECT_EQ(genesis.error().code, "recovery_key_missing");
  // A statement the authority did not sign is refused, and nothing is kept.
  auto impostor = crypto::Ed25519PrivateKey::generate();
  ASSERT_TRUE(impostor.ok());
  auto forged = sync::sign_recovery_key_statement(recovery_->public_key(), *impostor);
  ASSERT_TRUE(forged.ok());
  auto recorded = bruno_.record_recovery_key(recovery_->public_key(), *forged);
  ASSERT_FALSE(recorded.ok());
  EXPECT_EQ(recorded.error().code, "recovery_key_invalid");
  EXPECT_FALSE(bruno_.profile().recovery_public_key.has_value());
}

TEST_F(FieldDeviceKeyring, TheHeadSurvivesUnlockAndNewWritesUseIt) {
  const sync::RecordKey before = write_interview("under epoch one");
  EXPECT_EQ(value_epoch(alice_, before, "notes"), 1u);
  rotate({alice_.profile().device_id, bruno_.profile().device_id});
  CASEFILE_ASSERT_OK(alice_.accept_keyring(case_id_, entries_for(alice_)));
  EXPECT_EQ(head_epoch(alice_), 2u);

  FieldDevice reopened = testing::unlock_device(alice_directory_.path(), "alice passphrase");
  alice_ = std::move(reopened);
  EXPECT_EQ(head_epoch(alice_), 2u);
  const sync::RecordKey after = write_interview("under epoch two");
  EXPECT_EQ(value_epoch(alice_, after, "notes"), 2u);
  // Old values stay readable under the epoch they were sealed with.
  EXPECT_EQ(read_notes(before), "under epoch one");
  EXPECT_EQ(read_notes(after), "under epoch two");
}

TEST_F(FieldDeviceKeyring, ALowerEpochIsRefusedAndChangesNothing) {
  rotate({alice_.profile().device_id});
  CASEFILE_ASSERT_OK(alice_.accept_keyring(case_id_, entries_for(alice_)));
  std::vector<sync::KeyringEpochEntry> rolled_back = entries_for(alice_);
  rolled_back.pop_back();  // the server hands the chain only up to epoch 1
  auto accepted = alice_.accept_keyring(case_id_, rolled_back);
  ASSERT_FALSE(accepted.ok());
  EXPECT_EQ(accepted.error().code, "keyring_epoch_lower");
  EXPECT_EQ(head_epoch(alice_), 2u);
  EXPECT_EQ(value_epoch(alice_, write_interview("still epoch two"), "notes"), 2u);
}

TEST_F(FieldDeviceKeyring, ABrokenChainIsRefusedAndChangesNothing) {
  rotate({alice_.profile().device_id});
  // Epoch 3 that names another predecessor than the epoch 2 the device holds.
  sync::KeyringManifest forked = manifests_.back();
  forked.epoch = 3;
  forked.previous_manifest_hash = crypto::sha256(crypto::as_bytes(std::string("another epoch two")));
  auto signed_fork = sync::sign_manifest(forked, *authority_);
  CASEFILE_ASSERT_OK(signed_fork);
  manifests_.push_back(*signed_fork);
  wraps_.push_back({});
  auto accepted = alice_.accept_keyring(case_id_, entries_for(alice_));
  ASSERT_FALSE(accepted.ok());
  EXPECT_EQ(accepted.error().code, "keyring_chain_broken");
  EXPECT_EQ(head_epoch(alice_), 1u);
}

TEST_F(FieldDeviceKeyring, ALoweredFormatIsRefusedAndChangesNothing) {
  rotate({alice_.profile().device_id}, 2);
  CASEFILE_ASSERT_OK(alice_.accept_keyring(case_id_, entries_for(alice_)));
  rotate({alice_.profile().device_id}, 1);
  auto accepted = alice_.accept_keyring(case_id_, entries_for(alice_));
  ASSERT_FALSE(accepted.ok());
  EXPECT_EQ(accepted.error().code, "keyring_format_lowered");
  EXPECT_EQ(head_epoch(alice_), 2u);
}

TEST_F(FieldDeviceKeyring, AManifestNotSignedByTheAuthorityIsRefused) {
  rotate({alice_.profile().device_id});
  auto impostor = crypto::Ed25519PrivateKey::generate();
  ASSERT_TRUE(impostor.ok());
  sync::KeyringManifest forged = manifests_.back();
  forged.authority_fingerprint = crypto::sha256(authority_->public_key());
  forged.signature = impostor->sign(sync::manifest_signing_message(forged)).value();
  manifests_.back() = forged;
  auto accepted = alice_.accept_keyring(case_id_, entries_for(alice_));
  ASSERT_FALSE(accepted.ok());
  EXPECT_EQ(accepted.error().code, "keyring_signature_invalid");
  EXPECT_EQ(head_epoch(alice_), 1u);
}

TEST_F(FieldDeviceKeyring, ADeviceTheHeadLeavesOutCannotWriteButStillReads) {
  const sync::RecordKey before = write_interview("written before the rotation");
  rotate({bruno_.profile().device_id});  // alice's device is no longer a member
  CASEFILE_ASSERT_OK(alice_.accept_keyring(case_id_, entries_for(alice_)));
  EXPECT_EQ(head_epoch(alice_), 2u);
  auto written = alice_.write(case_id_, "interviews", std::nullopt, interview_fields(case_id_, "refused"), kNow);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code, "case_key_unavailable");
  EXPECT_EQ(read_notes(before), "written before the rotation");
}

TEST_F(FieldDeviceKeyring, BeforeItsFirstKeyringADeviceWritesUnderItsNewestKey) {
  auto other = alice_.create_case(case_fields("not yet uploaded"), kNow);
  CASEFILE_ASSERT_OK(other);
  auto written = alice_.write(*other, "interviews", std::nullopt, interview_fields(*other, "offline"), kNow);
  CASEFILE_ASSERT_OK(written);
  EXPECT_EQ(value_epoch(alice_, *written, "notes"), 1u);
}

TEST_F(FieldDeviceKeyring, PurgeRemovesTheHeadAndTheKeys) {
  CASEFILE_ASSERT_OK(alice_.purge_case(case_id_));
  EXPECT_EQ(head_epoch(alice_), 0u);
  EXPECT_TRUE(alice_.cases_with_keys().empty());
  auto heads = alice_.keyring_heads();
  CASEFILE_ASSERT_OK(heads);
  EXPECT_TRUE(heads->empty());
}

TEST_F(FieldDeviceKeyring, WipeDestroysTheHeadsWithTheReplica) {
  const auto replica = alice_directory_.path() / "replica.db";
  ASSERT_TRUE(std::filesystem::exists(replica));
  CASEFILE_ASSERT_OK(alice_.wipe());
  EXPECT_FALSE(std::filesystem::exists(replica));
  auto head = alice_.keyring_head(case_id_);
  ASSERT_FALSE(head.ok());
  EXPECT_EQ(head.error().code, "device_wiped");
}

TEST_F(FieldDeviceKeyring, AcceptingTheSameHeadAgainKeepsItsSharingMark) {
  CASEFILE_ASSERT_OK(alice_.mark_held_epochs_shared(case_id_));
  CASEFILE_ASSERT_OK(alice_.accept_keyring(case_id_, entries_for(alice_)));
  auto heads = alice_.keyring_heads();
  CASEFILE_ASSERT_OK(heads);
  ASSERT_EQ(heads->size(), 1u);
  EXPECT_TRUE(heads->front().held_epochs_shared);
  rotate({alice_.profile().device_id});
  CASEFILE_ASSERT_OK(alice_.accept_keyring(case_id_, entries_for(alice_)));
  heads = alice_.keyring_heads();
  CASEFILE_ASSERT_OK(heads);
  EXPECT_FALSE(heads->front().held_epochs_shared);  // a new head: share again
}

// --- Re-encryption ---

class FieldDeviceReencrypt : public FieldDeviceKeyring {
 protected:
  // Every sealed value of the case, epoch by epoch.
  std::map<std::uint32_t, int> sealed_epochs() {
    std::map<std::uint32_t, int> epochs;
    auto records = alice_.list_records(case_id_);
    EXPECT_TRUE(records.ok());
    for (const sync::RecordKey& key : *records) {
      auto state = alice_.store().load_record(key);
      EXPECT_TRUE(state.ok() && state->has_value());
      for (const auto& [name, field_register] : (*state)->fields()) {
        for (const sync::RegisterEntry& entry : field_register.entries()) {
          if (const auto* sealed = std::get_if<sync::SealedValue>(&entry.value)) {
            ++epochs[crypto::read_envelope_epoch(sealed->envelope).value()];
          }
        }
      }
    }
    return epochs;
  }

  std::uint64_t outbox_depth() { return alice_.store().outbox_depth().value(); }
};

TEST_F(FieldDeviceReencrypt, RewritesOldValuesUnderTheHeadAsOrdinaryChangesAndIsIdempotent) {
  std::vector<sync::RecordKey> interviews;
  for (int i = 0; i < 5; ++i) interviews.push_back(write_interview("notes " + std::to_string(i)));
  rotate({alice_.profile().device_id});
  CASEFILE_ASSERT_OK(alice_.accept_keyring(case_id_, entries_for(alice_)));
  EXPECT_EQ(sealed_epochs(), (std::map<std::uint32_t, int>{{1, 6}}));  // the case summary and 5 notes
  const std::uint64_t outbox_before = outbox_depth();

  auto report = alice_.reencrypt_case(case_id_, {}, kNow + 1);
  CASEFILE_ASSERT_OK(report);
  EXPECT_EQ(report->epoch, 2u);
  EXPECT_EQ(report->records, 6u);
  EXPECT_EQ(report->records_rewritten, 6u);
  EXPECT_EQ(report->values_rewritten, 6u);
  EXPECT_EQ(sealed_epochs(), (std::map<std::uint32_t, int>{{2, 6}}));
  EXPECT_EQ(outbox_depth(), outbox_before + 6);  // one change a record, queued to sync
  for (int i = 0; i < 5; ++i) EXPECT_EQ(read_notes(interviews[i]), "notes " + std::to_string(i));

  auto again = alice_.reencrypt_case(case_id_, {}, kNow + 2);
  CASEFILE_ASSERT_OK(again);
  EXPECT_EQ(again->records_rewritten, 0u);
  EXPECT_EQ(again->values_current, 6u);
  EXPECT_EQ(outbox_depth(), outbox_before + 6);
}

TEST_F(FieldDeviceReencrypt, ACancelledPassResumesWhereItStopped) {
  for (int i = 0; i < 5; ++i) write_interview("notes " + std::to_string(i));
  rotate({alice_.profile().device_id});
  CASEFILE_ASSERT_OK(alice_.accept_keyring(case_id_, entries_for(alice_)));
  std::vector<ReencryptProgress> seen;
  auto stopped = alice_.reencrypt_case(
      case_id_,
      [&](const ReencryptProgress& progress) {
        seen.push_back(progress);
        return false;  // stop after the first batch
      },
      kNow + 1, 2);
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().code, "reencrypt_cancelled");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen.front().records_done, 2u);
  EXPECT_EQ(seen.front().records_total, 6u);
  // The first batch is committed whole; the rest is untouched.
  EXPECT_EQ(sealed_epochs(), (std::map<std::uint32_t, int>{{1, 4}, {2, 2}}));

  auto resumed = alice_.reencrypt_case(case_id_, {}, kNow + 2, 2);
  CASEFILE_ASSERT_OK(resumed);
  EXPECT_EQ(resumed->records_rewritten, 4u);
  EXPECT_EQ(resumed->values_current, 2u);
  EXPECT_EQ(sealed_epochs(), (std::map<std::uint32_t, int>{{2, 6}}));
}

TEST_F(FieldDeviceReencrypt, LeavesFinalizedRecordsUnderTheirEpoch) {
  const sync::RecordKey finalized = write_interview("final words");
  CASEFILE_ASSERT_OK(alice_.finalize(finalized, kNow));
  const sync::RecordKey draft = write_interview("draft words");
  rotate({alice_.profile().device_id});
  CASEFILE_ASSERT_OK(alice_.accept_keyring(case_id_, entries_for(alice_)));

  auto report = alice_.reencrypt_case(case_id_, {}, kNow + 1);
  CASEFILE_ASSERT_OK(report);
  EXPECT_EQ(report->records_immutable, 1u);
  EXPECT_EQ(value_epoch(alice_, finalized, "notes"), 1u);  // immutable: an amendment is the way
  EXPECT_EQ(value_epoch(alice_, draft, "notes"), 2u);
  EXPECT_EQ(read_notes(finalized), "final words");
}

TEST_F(FieldDeviceReencrypt, ADeviceWithoutTheHeadKeyCannotReencrypt) {
  rotate({bruno_.profile().device_id});
  CASEFILE_ASSERT_OK(alice_.accept_keyring(case_id_, entries_for(alice_)));
  auto report = alice_.reencrypt_case(case_id_, {}, kNow);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code, "case_key_unavailable");
}

}  // namespace
}  // namespace casefile::device
