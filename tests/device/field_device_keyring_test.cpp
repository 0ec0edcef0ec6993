// FieldDevice's case keyrings (issue #7, docs/device.md "Case keyrings"): the
// accepted head is stored and enforced (a lower epoch, a broken chain, a
// lowered format are refused and change nothing), writes use the head epoch,
// a device the head leaves out cannot write, the genesis epoch, the recovery
// key statement, purge, and re-encryption (resumable and idempotent).
#include <gtest/gtest.h>

#include <algorithm>
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

// One device for the whole suite (each FieldDevice costs two scrypt
// derivations); every test works on a case of its own.
class FieldDeviceKeyring : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    shared_ = new Shared;
    Shared& shared = *shared_;
    shared.alice.emplace(create_device(shared.alice_directory.path(), "alice passphrase"));
    FieldDevice& alice = *shared.alice;
    shared.bruno = sync::DeviceId{{0xb0, 0x01}};
    CASEFILE_ASSERT_OK(alice.begin_enrolment(ServerEndpoint{"https://localhost:1", "localhost", 1, {}},
                                             crypto::sha256(shared.authority.public_key())));
    CASEFILE_ASSERT_OK(alice.record_certificate(
        certificate(alice.profile().device_id, "alice", alice.signing_key().public_key(),
                    alice.wrapping_key().public_key()),
        shared.authority.public_key(), kNow));
    // bruno is a certified colleague: his keys, no device of his own here.
    CASEFILE_ASSERT_OK(alice.cache_certificate(certificate(
        shared.bruno, "bruno", shared.bruno_signing.public_key(), shared.bruno_wrapping.public_key())));
    auto signature = sync::sign_recovery_key_statement(shared.recovery.public_key(), shared.authority);
    ASSERT_TRUE(signature.ok());
    CASEFILE_ASSERT_OK(alice.record_recovery_key(shared.recovery.public_key(), *signature));
  }

  static void TearDownTestSuite() {
    delete shared_;
    shared_ = nullptr;
  }

  void SetUp() override { start_case(); }

  // A new case of alice's, its genesis accepted as the head; the fixture's
  // chain starts again with it.
  void start_case() {
    manifests_.clear();
    wraps_.clear();
    auto created = alice().create_case(case_fields("the case summary"), kNow);
    CASEFILE_ASSERT_OK(created);
    case_id_ = *created;
    // What the sync round does: genesis signed by alice, accepted as the head.
    auto genesis = alice().prepare_genesis(case_id_, kNow);
    CASEFILE_ASSERT_OK(genesis);
    manifests_.push_back(genesis->manifest);
    wraps_.push_back(genesis->wraps);
    CASEFILE_ASSERT_OK(alice().accept_keyring(case_id_, entries_for(alice_id())));
  }

  static sync::DeviceCertificate certificate(const sync::DeviceId& device, const std::string& user,
                                             const crypto::Ed25519PublicKey& signing_key,
                                             const crypto::X25519PublicKey& wrapping_key) {
    sync::DeviceCertificate certificate;
    certificate.device = device;
    certificate.user = user;
    certificate.role = "lawyer";
    certificate.signing_public_key = signing_key;
    certificate.wrapping_public_key = wrapping_key;
    certificate.not_before_ms = 0;
    certificate.not_after_ms = kNow * 2;
    auto signed_certificate = sync::sign_certificate(certificate, shared_->authority);
    return signed_certificate.value();
  }

  static FieldDevice& alice() { return *shared_->alice; }
  static sync::DeviceId alice_id() { return shared_->alice->profile().device_id; }
  static sync::DeviceId bruno_id() { return shared_->bruno; }
  static const crypto::Ed25519PrivateKey& authority() { return shared_->authority; }
  static const crypto::X25519PrivateKey& recovery() { return shared_->recovery; }

  // The authority's next epoch for `members`, appended to the chain, with
  // wraps to each member and the recovery key.
  void rotate(std::vector<sync::DeviceId> members,
              std::optional<std::uint8_t> minimum_version = std::nullopt) {
    auto key = crypto::random_secret(crypto::kCaseKeySize);
    ASSERT_TRUE(key.ok());
    auto plan = sync::plan_rotation(manifests_.back(), members, std::move(*key), kNow);
    CASEFILE_ASSERT_OK(plan);
    if (minimum_version) plan->manifest.minimum_envelope_version = *minimum_version;
    const std::vector<sync::RecipientKey> recipients{{sync::kRecoveryRecipient, recovery().public_key()},
                                                     {alice_id(), alice().wrapping_key().public_key()},
                                                     {bruno_id(), shared_->bruno_wrapping.public_key()}};
    auto wraps = sync::wrap_rotation(*plan, recipients);
    CASEFILE_ASSERT_OK(wraps);
    auto signed_manifest = sync::sign_manifest(plan->manifest, authority());
    CASEFILE_ASSERT_OK(signed_manifest);
    manifests_.push_back(*signed_manifest);
    wraps_.push_back(*wraps);
  }

  // GET /v1/keys/{case} as `device` would receive it: the whole chain.
  std::vector<sync::KeyringEpochEntry> entries_for(const sync::DeviceId& device) {
    std::vector<sync::KeyringEpochEntry> entries;
    for (std::size_t i = 0; i < manifests_.size(); ++i) {
      sync::KeyringEpochEntry entry;
      entry.epoch = manifests_[i].epoch;
      entry.manifest = sync::encode_manifest(manifests_[i]);
      for (const sync::RecipientWrap& wrap : wraps_[i]) {
        if (wrap.recipient == device) entry.wrap = wrap.wrap;
      }
      entries.push_back(std::move(entry));
    }
    return entries;
  }

  std::uint32_t head_epoch() {
    auto head = alice().keyring_head(case_id_);
    EXPECT_TRUE(head.ok());
    return head.ok() && head->has_value() ? (*head)->epoch : 0;
  }

  // The epoch of the sealed value `field` of `record` shows.
  std::uint32_t value_epoch(const sync::RecordKey& record, const std::string& field) {
    auto state = alice().store().load_record(record);
    EXPECT_TRUE(state.ok() && state->has_value());
    const auto& sealed = std::get<sync::SealedValue>((*state)->field(field)->winner()->value);
    return crypto::read_envelope_epoch(sealed.envelope).value();
  }

  bool shared_mark() {
    auto heads = alice().keyring_heads();
    EXPECT_TRUE(heads.ok());
    for (const KeyringHeadSummary& head : *heads) {
      if (head.case_id == case_id_) return head.held_epochs_shared;
    }
    ADD_FAILURE() << "no head for the case";
    return false;
  }

  sync::RecordKey write_interview(const std::string& notes) {
    auto written =
        alice().write(case_id_, "interviews", std::nullopt, interview_fields(case_id_, notes), kNow);
    EXPECT_TRUE(written.ok()) << written.error().code;
    return *written;
  }

  std::string read_notes(const sync::RecordKey& record) {
    auto read = alice().read(record);
    EXPECT_TRUE(read.ok());
    const FieldRead* notes = find_field(*read, "notes");
    EXPECT_NE(notes, nullptr);
    EXPECT_EQ(notes->winner.unreadable, "");
    return std::get<std::string>(notes->winner.value);
  }

  // --- The behaviours, each on a case of its own (grouped below into few
  // tests: each test is a process, and each process makes a device) ---

  void genesisIsSignedByTheCreatingDeviceAndStoredAsTheHead() {
    const sync::KeyringManifest& genesis = manifests_.front();
    EXPECT_EQ(genesis.epoch, 1u);
    EXPECT_EQ(genesis.members, std::vector<sync::DeviceId>{alice_id()});
    EXPECT_EQ(genesis.recovery_key_fingerprint, crypto::sha256(recovery().public_key()));
    CASEFILE_ASSERT_OK(
        sync::verify_genesis_manifest(genesis, authority().public_key(), alice().signing_key().public_key()));
    // The recovery key receives the case key too.
    ASSERT_EQ(wraps_.front().size(), 2u);
    EXPECT_EQ(wraps_.front().back().recipient, sync::kRecoveryRecipient);
    auto recovered =
        sync::unwrap_case_key(wraps_.front().back().wrap, case_id_, 1, sync::kRecoveryRecipient, recovery());
    CASEFILE_ASSERT_OK(recovered);
    EXPECT_EQ(recovered->view().size(), 32u);
    EXPECT_EQ(head_epoch(), 1u);
    auto awaiting = alice().cases_awaiting_genesis();
    CASEFILE_ASSERT_OK(awaiting);
    EXPECT_EQ(std::count(awaiting->begin(), awaiting->end(), case_id_), 0);
  }
  void aCaseCreatedHereAwaitsItsGenesisUntilAHeadIsAccepted() {
    auto other = alice().create_case(case_fields("another case"), kNow);
    CASEFILE_ASSERT_OK(other);
    auto awaiting = alice().cases_awaiting_genesis();
    CASEFILE_ASSERT_OK(awaiting);
    EXPECT_EQ(std::count(awaiting->begin(), awaiting->end(), *other), 1);
    EXPECT_EQ(std::count(awaiting->begin(), awaiting->end(), case_id_), 0);
  }
  void aRecoveryKeyTheAuthorityDidNotSignIsRefused() {
    auto impostor = crypto::Ed25519PrivateKey::generate();
    ASSERT_TRUE(impostor.ok());
    auto planted = crypto::X25519PrivateKey::generate();
    ASSERT_TRUE(planted.ok());
    auto forged = sync::sign_recovery_key_statement(planted->public_key(), *impostor);
    ASSERT_TRUE(forged.ok());
    auto recorded = alice().record_recovery_key(planted->public_key(), *forged);
    ASSERT_FALSE(recorded.ok());
    EXPECT_EQ(recorded.error().code, "recovery_key_invalid");
    // The verified key stays, so genesis epochs keep wrapping to it.
    EXPECT_EQ(alice().profile().recovery_public_key, recovery().public_key());
  }
  void theHeadSurvivesUnlockAndNewWritesUseIt() {
    const sync::RecordKey before = write_interview("under epoch one");
    EXPECT_EQ(value_epoch(before, "notes"), 1u);
    rotate({alice_id(), bruno_id()});
    CASEFILE_ASSERT_OK(alice().accept_keyring(case_id_, entries_for(alice_id())));
    EXPECT_EQ(head_epoch(), 2u);

    shared_->alice.reset();
    shared_->alice.emplace(testing::unlock_device(shared_->alice_directory.path(), "alice passphrase"));
    EXPECT_EQ(head_epoch(), 2u);
    const sync::RecordKey after = write_interview("under epoch two");
    EXPECT_EQ(value_epoch(after, "notes"), 2u);
    // Old values stay readable under the epoch they were sealed with.
    EXPECT_EQ(read_notes(before), "under epoch one");
    EXPECT_EQ(read_notes(after), "under epoch two");
  }
  void aLowerEpochIsRefusedAndChangesNothing() {
    rotate({alice_id()});
    CASEFILE_ASSERT_OK(alice().accept_keyring(case_id_, entries_for(alice_id())));
    std::vector<sync::KeyringEpochEntry> rolled_back = entries_for(alice_id());
    rolled_back.pop_back();  // the server hands the chain only up to epoch 1
    auto accepted = alice().accept_keyring(case_id_, rolled_back);
    ASSERT_FALSE(accepted.ok());
    EXPECT_EQ(accepted.error().code, "keyring_epoch_lower");
    EXPECT_EQ(head_epoch(), 2u);
    EXPECT_EQ(value_epoch(write_interview("still epoch two"), "notes"), 2u);
  }
  void aBrokenChainIsRefusedAndChangesNothing() {
    rotate({alice_id()});
    // Epoch 3 that names another predecessor than the epoch 2 the device holds.
    sync::KeyringManifest forked = manifests_.back();
    forked.epoch = 3;
    forked.previous_manifest_hash = crypto::sha256(crypto::as_bytes(std::string("another epoch two")));
    auto signed_fork = sync::sign_manifest(forked, authority());
    CASEFILE_ASSERT_OK(signed_fork);
    manifests_.push_back(*signed_fork);
    wraps_.push_back({});
    auto accepted = alice().accept_keyring(case_id_, entries_for(alice_id()));
    ASSERT_FALSE(accepted.ok());
    EXPECT_EQ(accepted.error().code, "keyring_chain_broken");
    EXPECT_EQ(head_epoch(), 1u);
  }
  void aLoweredFormatIsRefusedAndChangesNothing() {
    rotate({alice_id()}, 2);
    CASEFILE_ASSERT_OK(alice().accept_keyring(case_id_, entries_for(alice_id())));
    rotate({alice_id()}, 1);
    auto accepted = alice().accept_keyring(case_id_, entries_for(alice_id()));
    ASSERT_FALSE(accepted.ok());
    EXPECT_EQ(accepted.error().code, "keyring_format_lowered");
    EXPECT_EQ(head_epoch(), 2u);
  }
  void aManifestNotSignedByTheAuthorityIsRefused() {
    rotate({alice_id()});
    auto impostor = crypto::Ed25519PrivateKey::generate();
    ASSERT_TRUE(impostor.ok());
    sync::KeyringManifest forged = manifests_.back();
    forged.authority_fingerprint = crypto::sha256(authority().public_key());
    forged.signature = impostor->sign(sync::manifest_signing_message(forged)).value();
    manifests_.back() = forged;
    auto accepted = alice().accept_keyring(case_id_, entries_for(alice_id()));
    ASSERT_FALSE(accepted.ok());
    EXPECT_EQ(accepted.error().code, "keyring_signature_invalid");
    EXPECT_EQ(head_epoch(), 1u);
  }
  void aDeviceTheHeadLeavesOutCannotWriteButStillReads() {
    const sync::RecordKey before = write_interview("written before the rotation");
    rotate({bruno_id()});  // alice's device is no longer a member
    CASEFILE_ASSERT_OK(alice().accept_keyring(case_id_, entries_for(alice_id())));
    EXPECT_EQ(head_epoch(), 2u);
    auto written =
        alice().write(case_id_, "interviews", std::nullopt, interview_fields(case_id_, "refused"), kNow);
    ASSERT_FALSE(written.ok());
    EXPECT_EQ(written.error().code, "case_key_unavailable");
    EXPECT_EQ(read_notes(before), "written before the rotation");
  }
  void beforeItsFirstKeyringADeviceWritesUnderItsNewestKey() {
    auto other = alice().create_case(case_fields("not yet uploaded"), kNow);
    CASEFILE_ASSERT_OK(other);
    auto written =
        alice().write(*other, "interviews", std::nullopt, interview_fields(*other, "offline"), kNow);
    CASEFILE_ASSERT_OK(written);
    EXPECT_EQ(value_epoch(*written, "notes"), 1u);
  }
  void purgeRemovesTheHeadAndTheKeys() {
    CASEFILE_ASSERT_OK(alice().purge_case(case_id_));
    EXPECT_EQ(head_epoch(), 0u);
    const std::vector<sync::CaseId> with_keys = alice().cases_with_keys();
    EXPECT_EQ(std::count(with_keys.begin(), with_keys.end(), case_id_), 0);
    auto heads = alice().keyring_heads();
    CASEFILE_ASSERT_OK(heads);
    EXPECT_EQ(std::count_if(heads->begin(), heads->end(),
                            [&](const auto& head) { return head.case_id == case_id_; }),
              0);
  }
  void acceptingTheSameHeadAgainKeepsItsSharingMark() {
    CASEFILE_ASSERT_OK(alice().mark_held_epochs_shared(case_id_));
    CASEFILE_ASSERT_OK(alice().accept_keyring(case_id_, entries_for(alice_id())));
    EXPECT_TRUE(shared_mark());
    rotate({alice_id()});
    CASEFILE_ASSERT_OK(alice().accept_keyring(case_id_, entries_for(alice_id())));
    EXPECT_FALSE(shared_mark());  // a new head: share again
  }

  struct Shared {
    ScratchDirectory alice_directory;
    std::optional<FieldDevice> alice;
    crypto::Ed25519PrivateKey authority = crypto::Ed25519PrivateKey::generate().value();
    crypto::X25519PrivateKey recovery = crypto::X25519PrivateKey::generate().value();
    sync::DeviceId bruno;
    crypto::Ed25519PrivateKey bruno_signing = crypto::Ed25519PrivateKey::generate().value();
    crypto::X25519PrivateKey bruno_wrapping = crypto::X25519PrivateKey::generate().value();
  };
  static Shared* shared_;

  sync::CaseId case_id_;
  std::vector<sync::KeyringManifest> manifests_;
  std::vector<std::vector<sync::RecipientWrap>> wraps_;
};

FieldDeviceKeyring::Shared* FieldDeviceKeyring::shared_ = nullptr;

TEST_F(FieldDeviceKeyring, GenesisIsSignedByTheCreatingDeviceWithTheVerifiedRecoveryKey) {
  {
    SCOPED_TRACE("GenesisIsSignedByTheCreatingDeviceAndStoredAsTheHead");
    genesisIsSignedByTheCreatingDeviceAndStoredAsTheHead();
  }
  start_case();
  {
    SCOPED_TRACE("ACaseCreatedHereAwaitsItsGenesisUntilAHeadIsAccepted");
    aCaseCreatedHereAwaitsItsGenesisUntilAHeadIsAccepted();
  }
  start_case();
  {
    SCOPED_TRACE("ARecoveryKeyTheAuthorityDidNotSignIsRefused");
    aRecoveryKeyTheAuthorityDidNotSignIsRefused();
  }
}

TEST_F(FieldDeviceKeyring, TheHeadRefusesALowerEpochABrokenChainALoweredFormatAndAForgedManifest) {
  {
    SCOPED_TRACE("ALowerEpochIsRefusedAndChangesNothing");
    aLowerEpochIsRefusedAndChangesNothing();
  }
  start_case();
  {
    SCOPED_TRACE("ABrokenChainIsRefusedAndChangesNothing");
    aBrokenChainIsRefusedAndChangesNothing();
  }
  start_case();
  {
    SCOPED_TRACE("ALoweredFormatIsRefusedAndChangesNothing");
    aLoweredFormatIsRefusedAndChangesNothing();
  }
  start_case();
  {
    SCOPED_TRACE("AManifestNotSignedByTheAuthorityIsRefused");
    aManifestNotSignedByTheAuthorityIsRefused();
  }
}

TEST_F(FieldDeviceKeyring, WritesUseTheHeadEpochOnlyAndPurgeForgetsIt) {
  {
    SCOPED_TRACE("TheHeadSurvivesUnlockAndNewWritesUseIt");
    theHeadSurvivesUnlockAndNewWritesUseIt();
  }
  start_case();
  {
    SCOPED_TRACE("ADeviceTheHeadLeavesOutCannotWriteButStillReads");
    aDeviceTheHeadLeavesOutCannotWriteButStillReads();
  }
  start_case();
  {
    SCOPED_TRACE("BeforeItsFirstKeyringADeviceWritesUnderItsNewestKey");
    beforeItsFirstKeyringADeviceWritesUnderItsNewestKey();
  }
  start_case();
  {
    SCOPED_TRACE("AcceptingTheSameHeadAgainKeepsItsSharingMark");
    acceptingTheSameHeadAgainKeepsItsSharingMark();
  }
  start_case();
  {
    SCOPED_TRACE("PurgeRemovesTheHeadAndTheKeys");
    purgeRemovesTheHeadAndTheKeys();
  }
}

// --- Re-encryption ---

class FieldDeviceReencrypt : public FieldDeviceKeyring {
 protected:
  // Every sealed value of the case, epoch by epoch.
  std::map<std::uint32_t, int> sealed_epochs() {
    std::map<std::uint32_t, int> epochs;
    auto records = alice().list_records(case_id_);
    EXPECT_TRUE(records.ok());
    for (const sync::RecordKey& key : *records) {
      auto state = alice().store().load_record(key);
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

  std::uint64_t outbox_depth() { return alice().store().outbox_depth().value(); }

  void rewritesOldValuesUnderTheHeadAsOrdinaryChangesAndIsIdempotent() {
    std::vector<sync::RecordKey> interviews;
    for (int i = 0; i < 5; ++i) interviews.push_back(write_interview("notes " + std::to_string(i)));
    rotate({alice_id()});
    CASEFILE_ASSERT_OK(alice().accept_keyring(case_id_, entries_for(alice_id())));
    EXPECT_EQ(sealed_epochs(), (std::map<std::uint32_t, int>{{1, 6}}));  // the case summary and 5 notes
    const std::uint64_t outbox_before = outbox_depth();

    auto report = alice().reencrypt_case(case_id_, {}, kNow + 1);
    CASEFILE_ASSERT_OK(report);
    EXPECT_EQ(report->epoch, 2u);
    EXPECT_EQ(report->records, 6u);
    EXPECT_EQ(report->records_rewritten, 6u);
    EXPECT_EQ(report->values_rewritten, 6u);
    EXPECT_EQ(sealed_epochs(), (std::map<std::uint32_t, int>{{2, 6}}));
    EXPECT_EQ(outbox_depth(), outbox_before + 6);  // one change a record, queued to sync
    for (int i = 0; i < 5; ++i) EXPECT_EQ(read_notes(interviews[i]), "notes " + std::to_string(i));

    auto again = alice().reencrypt_case(case_id_, {}, kNow + 2);
    CASEFILE_ASSERT_OK(again);
    EXPECT_EQ(again->records_rewritten, 0u);
    EXPECT_EQ(again->values_current, 6u);
    EXPECT_EQ(outbox_depth(), outbox_before + 6);
  }
  void aCancelledPassResumesWhereItStopped() {
    for (int i = 0; i < 5; ++i) write_interview("notes " + std::to_string(i));
    rotate({alice_id()});
    CASEFILE_ASSERT_OK(alice().accept_keyring(case_id_, entries_for(alice_id())));
    std::vector<ReencryptProgress> seen;
    auto stopped = alice().reencrypt_case(
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

    auto resumed = alice().reencrypt_case(case_id_, {}, kNow + 2, 2);
    CASEFILE_ASSERT_OK(resumed);
    EXPECT_EQ(resumed->records_rewritten, 4u);
    EXPECT_EQ(resumed->values_current, 2u);
    EXPECT_EQ(sealed_epochs(), (std::map<std::uint32_t, int>{{2, 6}}));
  }
  void leavesFinalizedRecordsUnderTheirEpoch() {
    const sync::RecordKey finalized = write_interview("final words");
    CASEFILE_ASSERT_OK(alice().finalize(finalized, kNow));
    const sync::RecordKey draft = write_interview("draft words");
    rotate({alice_id()});
    CASEFILE_ASSERT_OK(alice().accept_keyring(case_id_, entries_for(alice_id())));

    auto report = alice().reencrypt_case(case_id_, {}, kNow + 1);
    CASEFILE_ASSERT_OK(report);
    EXPECT_EQ(report->records_immutable, 1u);
    EXPECT_EQ(value_epoch(finalized, "notes"), 1u);  // immutable: an amendment is the way
    EXPECT_EQ(value_epoch(draft, "notes"), 2u);
    EXPECT_EQ(read_notes(finalized), "final words");
  }
  void aDeviceWithoutTheHeadKeyCannotReencrypt() {
    rotate({bruno_id()});
    CASEFILE_ASSERT_OK(alice().accept_keyring(case_id_, entries_for(alice_id())));
    auto report = alice().reencrypt_case(case_id_, {}, kNow);
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.error().code, "case_key_unavailable");
  }
};

TEST_F(FieldDeviceReencrypt, ReencryptionRewritesOldValuesIsResumableAndIdempotentAndSkipsWhatCannotChange) {
  {
    SCOPED_TRACE("RewritesOldValuesUnderTheHeadAsOrdinaryChangesAndIsIdempotent");
    rewritesOldValuesUnderTheHeadAsOrdinaryChangesAndIsIdempotent();
  }
  start_case();
  {
    SCOPED_TRACE("ACancelledPassResumesWhereItStopped");
    aCancelledPassResumesWhereItStopped();
  }
  start_case();
  {
    SCOPED_TRACE("LeavesFinalizedRecordsUnderTheirEpoch");
    leavesFinalizedRecordsUnderTheirEpoch();
  }
  start_case();
  {
    SCOPED_TRACE("ADeviceWithoutTheHeadKeyCannotReencrypt");
    aDeviceWithoutTheHeadKeyCannotReencrypt();
  }
}

}  // namespace
}  // namespace casefile::device
