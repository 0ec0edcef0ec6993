// FieldDevice writes and reads on one device: schema validation before
// anything is written, sealing of sealed fields (the outbox holds envelopes,
// reads give plaintext), lifecycle (finalize, amend), purge, and the profile.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "crypto/hash.hpp"
#include "device/device_profile_store.hpp"
#include "device/field_device.hpp"
#include "sync/change_encoding.hpp"
#include "sync/device_certificate.hpp"
#include "tests/device/field_device_test_support.hpp"

namespace casefile::device {
namespace {

using testing::case_fields;
using testing::create_device;
using testing::files_containing;
using testing::find_field;
using testing::interview_fields;
using testing::kNow;
using testing::ScratchDirectory;
using testing::unlock_device;

constexpr std::string_view kPassphrase = "records passphrase";
const std::string kMarker = "SEALED-MARKER-client-beaten-at-station-7";

class FieldDeviceRecords : public ::testing::Test {
 protected:
  void SetUp() override {
    auto created = device_.create_case(case_fields("summary of the case"), kNow);
    ASSERT_TRUE(created.ok()) << created.error().code << ": " << created.error().message;
    case_id_ = *created;
  }

  sync::RecordKey write_interview(const std::string& notes) {
    auto written =
        device_.write(case_id_, "interviews", std::nullopt, interview_fields(case_id_, notes), kNow);
    if (!written.ok()) throw std::runtime_error(written.error().code + ": " + written.error().message);
    return *written;
  }

  std::vector<sync::Change> outbox() {
    auto changes = device_.store().read_outbox(0, 1000);
    if (!changes.ok()) throw std::runtime_error(changes.error().code);
    return *changes;
  }

  ScratchDirectory scratch_;
  FieldDevice device_ = create_device(scratch_.path(), kPassphrase);
  sync::CaseId case_id_;
};

TEST_F(FieldDeviceRecords, CreateCaseMakesAnEpochOneKeyAndTheCasesRecord) {
  EXPECT_EQ(device_.cases_with_keys(), std::vector<sync::CaseId>{case_id_});
  auto records = device_.list_records(case_id_);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].collection, "cases");
  EXPECT_EQ((*records)[0].record_id.bytes, case_id_.bytes);
  DeviceProfileStore keys(device_.store().database());
  auto newest = keys.newest_case_key(case_id_);
  ASSERT_TRUE(newest.ok() && newest->has_value());
  EXPECT_EQ((*newest)->epoch, 1u);
}

TEST_F(FieldDeviceRecords, WriteRefusesSchemaViolationsWithTheSchemasCodesAndChangesNothing) {
  const sync::RecordKey interview = write_interview("first notes");
  auto before = device_.status();
  ASSERT_TRUE(before.ok());
  const auto outbox_before = outbox();

  struct Case {
    std::optional<sync::RecordId> record;
    PlainFields fields;
    std::string code;
  };
  PlainFields missing_required = interview_fields(case_id_, "x");
  missing_required.erase("held_on");
  PlainFields bad_enumeration = interview_fields(case_id_, "x");
  bad_enumeration["place_type"] = std::string("bar");
  PlainFields unknown = interview_fields(case_id_, "x");
  unknown["favourite_colour"] = std::string("blue");
  PlainFields sealed_wrong_type = interview_fields(case_id_, "x");
  sealed_wrong_type["notes"] = std::int64_t{7};
  PlainFields sealed_too_long = interview_fields(case_id_, "x");
  sealed_too_long["place_name"] = std::string(257, 'a');
  PlainFields sealed_bad_enumeration = interview_fields(case_id_, "x");
  sealed_bad_enumeration["rights_read"] = std::string("maybe");
  const std::vector<Case> cases = {
      {std::nullopt, missing_required, "required_field_missing"},
      {std::nullopt, bad_enumeration, "not_in_enumeration"},
      {std::nullopt, unknown, "unknown_field"},
      {std::nullopt, sealed_wrong_type, "wrong_type"},
      {std::nullopt, sealed_too_long, "value_too_long"},
      {std::nullopt, sealed_bad_enumeration, "not_in_enumeration"},
      {interview.record_id, {{"duration_minutes", std::int64_t{2000}}}, "value_out_of_range"},
      {interview.record_id, {{"held_on", std::monostate{}}}, "required_field_missing"},
  };
  for (const Case& refused : cases) {
    auto written = device_.write(case_id_, "interviews", refused.record, refused.fields, kNow);
    ASSERT_FALSE(written.ok()) << refused.code;
    EXPECT_EQ(written.error().code, refused.code) << written.error().message;
  }
  auto bad_collection = device_.write(case_id_, "parking_tickets", std::nullopt, {{"a", true}}, kNow);
  ASSERT_FALSE(bad_collection.ok());
  EXPECT_EQ(bad_collection.error().code, "unknown_collection");

  auto after = device_.status();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->records, before->records);
  EXPECT_EQ(after->outbox_depth, before->outbox_depth);
  EXPECT_EQ(outbox(), outbox_before);
  auto read = device_.read(interview);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(find_field(*read, "duration_minutes")->winner.value, PlainValue(std::int64_t{45}));
}

TEST_F(FieldDeviceRecords, SealedFieldsLeaveAsEnvelopesAndReadBackAsPlaintext) {
  const sync::RecordKey interview = write_interview(kMarker);
  const auto changes = outbox();
  const sync::Change* change = nullptr;
  for (const sync::Change& candidate : changes) {
    if (candidate.record == interview) change = &candidate;
  }
  ASSERT_NE(change, nullptr);
  for (const sync::Operation& operation : change->operations) {
    if (operation.field == "notes") {
      EXPECT_TRUE(std::holds_alternative<sync::SealedValue>(operation.value));
    }
    if (operation.field == "place_type") {
      EXPECT_EQ(operation.value, sync::FieldValue(std::string("detention_centre")));
    }
  }
  const crypto::Bytes encoded = sync::encode_change(*change);
  const std::string encoded_text(encoded.begin(), encoded.end());
  EXPECT_EQ(encoded_text.find(kMarker), std::string::npos);

  auto read = device_.read(interview);
  ASSERT_TRUE(read.ok()) << read.error().code;
  const FieldRead* notes = find_field(*read, "notes");
  ASSERT_NE(notes, nullptr);
  EXPECT_EQ(notes->winner.value, PlainValue(kMarker));
  EXPECT_TRUE(notes->winner.sealed);
  EXPECT_TRUE(notes->winner.unreadable.empty());
  EXPECT_EQ(notes->winner.author, device_.profile().device_id);
  EXPECT_EQ(notes->winner.hlc_wall_millis, static_cast<std::uint64_t>(kNow));
  EXPECT_FALSE(notes->in_conflict());
  const FieldRead* place_type = find_field(*read, "place_type");
  ASSERT_NE(place_type, nullptr);
  EXPECT_FALSE(place_type->winner.sealed);

  EXPECT_TRUE(files_containing(scratch_.path(), kMarker).empty());
}

TEST_F(FieldDeviceRecords, EditsSeeSealedValuesAndOverlayTheRecord) {
  const sync::RecordKey interview = write_interview("first");
  ASSERT_TRUE(
      device_.write(case_id_, "interviews", interview.record_id, {{"notes", std::string("second")}}, kNow + 1)
          .ok());
  auto read = device_.read(interview);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(find_field(*read, "notes")->winner.value, PlainValue(std::string("second")));
  EXPECT_EQ(find_field(*read, "notes")->siblings.size(), 1u);
  EXPECT_EQ(find_field(*read, "held_on")->winner.value, PlainValue(std::string("2026-11-17")));

  // A null clears a sealed field: nothing to seal, so no envelope is written.
  ASSERT_TRUE(
      device_.write(case_id_, "interviews", interview.record_id, {{"notes", std::monostate{}}}, kNow + 2)
          .ok());
  const std::vector<sync::Change> changes = outbox();
  const sync::Operation& cleared = changes.back().operations.front();
  EXPECT_EQ(cleared.field, "notes");
  EXPECT_EQ(cleared.value, sync::FieldValue(sync::NullValue{}));
  auto after_clear = device_.read(interview);
  ASSERT_TRUE(after_clear.ok());
  EXPECT_EQ(find_field(*after_clear, "notes")->winner.value, PlainValue(std::monostate{}));
  EXPECT_TRUE(find_field(*after_clear, "notes")->winner.unreadable.empty());
}

TEST_F(FieldDeviceRecords, WritesToUnknownRecordsOrCasesWithoutKeysAreRefused) {
  auto unknown = device_.write(case_id_, "interviews", sync::RecordId{}, {{"notes", std::string("x")}}, kNow);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "record_unknown");

  sync::CaseId other_case;
  other_case.bytes[0] = 0x42;
  auto no_key = device_.write(other_case, "notes", std::nullopt,
                              {{"created_on", std::string("2026-11-18")}, {"body", std::string("x")}}, kNow);
  ASSERT_FALSE(no_key.ok());
  EXPECT_EQ(no_key.error().code, "case_key_missing");
}

TEST_F(FieldDeviceRecords, FinalizedInterviewsRefuseEditsAndTakeAmendments) {
  const sync::RecordKey interview = write_interview("notes");
  const sync::RecordKey draft = write_interview("draft notes");
  CASEFILE_ASSERT_OK(device_.finalize(interview, kNow + 10));
  auto read = device_.read(interview);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(find_field(*read, "status")->winner.value, PlainValue(std::string("finalized")));
  EXPECT_EQ(find_field(*read, "finalized_at")->winner.value, PlainValue(std::int64_t{kNow + 10}));

  auto edit = device_.write(case_id_, "interviews", interview.record_id, {{"notes", std::string("later")}},
                            kNow + 20);
  ASSERT_FALSE(edit.ok());
  EXPECT_EQ(edit.error().code, "record_finalized");

  const PlainFields correction = {{"corrected_fields", std::string(R"({"notes":"corrected"})")},
                                  {"reason", std::string("the client corrected a date")}};
  auto amendment = device_.amend(interview, correction, kNow + 30);
  ASSERT_TRUE(amendment.ok()) << amendment.error().code << ": " << amendment.error().message;
  auto amended = device_.read(*amendment);
  ASSERT_TRUE(amended.ok());
  EXPECT_EQ(find_field(*amended, "amends_record")->winner.value,
            PlainValue(sync::to_text(interview.record_id)));
  EXPECT_EQ(find_field(*amended, "reason")->winner.value,
            PlainValue(std::string("the client corrected a date")));

  auto of_draft = device_.amend(draft, correction, kNow + 40);
  ASSERT_FALSE(of_draft.ok());
  EXPECT_EQ(of_draft.error().code, "amendment_target_not_finalized");
}

TEST_F(FieldDeviceRecords, PurgeCaseRemovesItsRecordsOutboxAndKeysOnly) {
  write_interview(kMarker);
  auto other = device_.create_case(case_fields("the other case"), kNow);
  ASSERT_TRUE(other.ok());
  CASEFILE_ASSERT_OK(device_.purge_case(case_id_));

  auto purged = device_.list_records(case_id_);
  ASSERT_TRUE(purged.ok());
  EXPECT_TRUE(purged->empty());
  EXPECT_EQ(device_.cases_with_keys(), std::vector<sync::CaseId>{*other});
  for (const sync::Change& change : outbox()) EXPECT_NE(change.record.case_id, case_id_);
  auto kept = device_.list_records(*other);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->size(), 1u);
  auto read = device_.read(sync::RecordKey{*other, "cases", sync::RecordId{other->bytes}});
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(find_field(*read, "summary")->winner.value, PlainValue(std::string("the other case")));
}

TEST_F(FieldDeviceRecords, OutboxCasesAreTheCasesOfTheWaitingChangesEachOnce) {
  write_interview("first notes");
  write_interview("second notes");
  auto other = device_.create_case(case_fields("the other case"), kNow);
  ASSERT_TRUE(other.ok());
  std::vector<sync::CaseId> expected{case_id_, *other};
  std::sort(expected.begin(), expected.end());
  auto cases = device_.store().outbox_cases();
  ASSERT_TRUE(cases.ok());
  EXPECT_EQ(*cases, expected);

  CASEFILE_ASSERT_OK(device_.purge_case(case_id_));
  cases = device_.store().outbox_cases();
  ASSERT_TRUE(cases.ok());
  EXPECT_EQ(*cases, std::vector<sync::CaseId>{*other});
}

TEST_F(FieldDeviceRecords, EnrolmentCertificateSessionAndCacheArePersisted) {
  auto authority = crypto::Ed25519PrivateKey::generate();
  ASSERT_TRUE(authority.ok());
  const crypto::Sha256Digest fingerprint = crypto::sha256(authority->public_key());
  ServerEndpoint server{"https://casefile.example:8443", "casefile.example", 8443,
                        crypto::sha256(crypto::as_bytes("spki"))};
  sync::DeviceCertificate early;
  auto before_enrolment = device_.record_certificate(early, authority->public_key(), kNow);
  ASSERT_FALSE(before_enrolment.ok());
  EXPECT_EQ(before_enrolment.error().code, "not_enrolled");
  auto before_certified = device_.cache_certificate(early);
  ASSERT_FALSE(before_certified.ok());
  EXPECT_EQ(before_certified.error().code, "not_certified");
  CASEFILE_ASSERT_OK(device_.begin_enrolment(server, fingerprint));
  EXPECT_EQ(device_.profile().state, EnrolmentState::pending);

  sync::DeviceCertificate certificate;
  certificate.device = device_.profile().device_id;
  certificate.user = "amina";
  certificate.role = "lawyer";
  certificate.signing_public_key = device_.signing_key().public_key();
  certificate.wrapping_public_key = device_.wrapping_key().public_key();
  certificate.not_before_ms = kNow - 1000;
  certificate.not_after_ms = kNow + 1'000'000;
  auto signed_certificate = sync::sign_certificate(certificate, *authority);
  ASSERT_TRUE(signed_certificate.ok());

  auto impostor = crypto::Ed25519PrivateKey::generate();
  ASSERT_TRUE(impostor.ok());
  auto wrong_authority = device_.record_certificate(*signed_certificate, impostor->public_key(), kNow);
  ASSERT_FALSE(wrong_authority.ok());
  EXPECT_EQ(wrong_authority.error().code, "certificate_wrong_authority");
  sync::DeviceCertificate someone_else = certificate;
  someone_else.device.bytes[0] ^= 1;
  auto not_mine = device_.record_certificate(*sync::sign_certificate(someone_else, *authority),
                                             authority->public_key(), kNow);
  ASSERT_FALSE(not_mine.ok());
  EXPECT_EQ(not_mine.error().code, "certificate_not_mine");
  auto expired = device_.record_certificate(*signed_certificate, authority->public_key(), kNow + 2'000'000);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().code, "certificate_expired");
  CASEFILE_ASSERT_OK(device_.record_certificate(*signed_certificate, authority->public_key(), kNow));

  // Another device's certificate: cached once verified, refused when forged.
  auto other_signing = crypto::Ed25519PrivateKey::generate();
  ASSERT_TRUE(other_signing.ok());
  sync::DeviceCertificate other = certificate;
  other.device.bytes[0] ^= 0xff;
  other.user = "bruno";
  other.signing_public_key = other_signing->public_key();
  auto other_signed = sync::sign_certificate(other, *authority);
  ASSERT_TRUE(other_signed.ok());
  EXPECT_FALSE(device_.author_key(other.device).has_value());
  sync::DeviceCertificate forged = *other_signed;
  forged.signing_public_key = impostor->public_key();
  auto refused = device_.cache_certificate(forged);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "certificate_invalid");
  CASEFILE_ASSERT_OK(device_.cache_certificate(*other_signed));

  CASEFILE_ASSERT_OK(device_.store_session_token("token-123", kNow + 60'000));
  CASEFILE_ASSERT_OK(device_.record_sync_completed(kNow + 5));

  // All of it survives closing and unlocking again.
  const sync::DeviceId id = device_.profile().device_id;
  { FieldDevice closing = std::move(device_); }  // one FieldDevice per directory at a time
  device_ = unlock_device(scratch_.path(), kPassphrase);
  EXPECT_EQ(device_.profile().device_id, id);
  EXPECT_EQ(device_.profile().state, EnrolmentState::certified);
  ASSERT_TRUE(device_.profile().server.has_value());
  EXPECT_EQ(device_.profile().server->url, server.url);
  EXPECT_EQ(device_.profile().server->port, 8443);
  EXPECT_EQ(device_.profile().server->pin, server.pin);
  EXPECT_EQ(device_.profile().authority_fingerprint, fingerprint);
  EXPECT_EQ(device_.profile().authority_key, authority->public_key());
  EXPECT_EQ(device_.profile().certificate, *signed_certificate);
  EXPECT_EQ(device_.author_key(other.device), other_signing->public_key());
  EXPECT_EQ(device_.author_key(id), device_.signing_key().public_key());
  EXPECT_EQ(device_.session_token(kNow), std::optional<std::string>("token-123"));
  EXPECT_FALSE(device_.session_token(kNow + 60'000).has_value());
  auto status = device_.status();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->last_sync_ms, std::optional<std::int64_t>(kNow + 5));
  EXPECT_EQ(status->state, EnrolmentState::certified);
}

}  // namespace
}  // namespace casefile::device
