// The server's schema adapter: sync changes judged by the schema's write
// rules, with the record's merged state as "before".
#include "sync/schema_change_validator.hpp"

#include <gtest/gtest.h>

#include <map>

#include "crypto/envelope.hpp"

namespace casefile::sync {
namespace {

template <typename IdType>
IdType id(std::uint8_t tag, std::uint8_t number) {
  IdType value;
  value.bytes[0] = tag;
  value.bytes[6] = 0x40;
  value.bytes[8] = 0x80;
  value.bytes[15] = number;
  return value;
}

const CaseId kCase = id<CaseId>(0xca, 1);
const DeviceId kDevice = id<DeviceId>(0xd0, 1);
const DeviceId kOtherDevice = id<DeviceId>(0xd0, 2);

Operation set(const std::string& field, FieldValue value, std::vector<Dot> supersedes = {}) {
  return Operation{OperationKind::set_field, field, std::move(value), std::move(supersedes)};
}

class SchemaChangeValidatorTest : public ::testing::Test {
 protected:
  SchemaChangeValidatorTest()
      : validator_([this](const RecordKey& key) -> Result<std::optional<RecordState>> {
          auto found = records_.find(key);
          if (found == records_.end()) return std::optional<RecordState>();
          return std::optional<RecordState>(found->second);
        }) {}

  Change change(const DeviceId& device, const std::string& collection, std::uint8_t record,
                std::vector<Operation> operations) {
    Change result{ChangeId{device, next_sequence_++},
                  RecordKey{kCase, collection, id<RecordId>(0x7e, record)},
                  Hlc::from_parts(1'700'000'000'000 + next_sequence_, 0), std::move(operations)};
    canonicalize_change(result);
    return result;
  }

  Change draft_interview(std::uint8_t record, const std::string& status = "draft") {
    std::vector<Operation> operations = {
        set("case_record", to_text(id<RecordId>(0x7e, 99))), set("held_on", std::string("2025-03-11")),
        set("place_type", std::string("police_station")), set("status", status)};
    if (status == "finalized") operations.push_back(set("finalized_at", std::int64_t{1'700'000'000'000}));
    return change(kDevice, "interviews", record, std::move(operations));
  }

  // Applies `change` to the stored record it names, as the push path would.
  const RecordState& store(const Change& change) {
    auto [it, inserted] = records_.try_emplace(change.record, change.record);
    it->second.apply(change);
    return it->second;
  }

  Status judge(const Change& change) {
    auto found = records_.find(change.record);
    return validator_.validate(change, found == records_.end() ? nullptr : &found->second);
  }

  std::map<RecordKey, RecordState> records_;
  SchemaChangeValidator validator_;
  std::uint64_t next_sequence_ = 1;
};

TEST_F(SchemaChangeValidatorTest, ANewRecordNeedsEveryRequiredFieldAndKnownFields) {
  EXPECT_TRUE(judge(draft_interview(1)).ok());
  EXPECT_EQ(judge(change(kDevice, "interviews", 2, {set("status", std::string("draft"))})).error().code,
            "required_field_missing");
  EXPECT_EQ(judge(change(kDevice, "interviews", 3, {set("shoe_size", std::int64_t{42})})).error().code,
            "unknown_field");
  EXPECT_EQ(judge(change(kDevice, "gossip", 4, {set("x", true)})).error().code, "unknown_collection");
}

TEST_F(SchemaChangeValidatorTest, SealedFieldsMustHoldEnvelopesAndClearOnesMustNot) {
  store(draft_interview(1));
  EXPECT_EQ(judge(change(kDevice, "interviews", 1, {set("notes", std::string("in the clear"))})).error().code,
            "sealed_field_in_clear");
  EXPECT_EQ(judge(change(kDevice, "interviews", 1, {set("notes", SealedValue{{1, 2, 3}})})).error().code,
            "invalid_envelope");
  const crypto::Bytes key(32, 7);
  auto envelope = crypto::seal_field({"c", "interviews", "r", "notes"}, 1, key, crypto::as_bytes("words"));
  ASSERT_TRUE(envelope.ok());
  EXPECT_TRUE(judge(change(kDevice, "interviews", 1, {set("notes", SealedValue{*envelope})})).ok());
}

TEST_F(SchemaChangeValidatorTest, AFinalizedRecordRefusesEditsAndDeletion) {
  const RecordState& state = store(draft_interview(1, "finalized"));
  const std::vector<Dot> seen = state.live_dots("held_on");
  EXPECT_EQ(
      judge(change(kDevice, "interviews", 1, {set("held_on", std::string("2025-03-12"), seen)})).error().code,
      "record_finalized");
  Change deletion = change(kDevice, "interviews", 1,
                           {Operation{OperationKind::delete_record, "", NullValue{}, state.all_live_dots()}});
  EXPECT_EQ(judge(deletion).error().code, "record_finalized");
}

TEST_F(SchemaChangeValidatorTest, AConcurrentFinalizationCannotBeEditedAround) {
  const RecordState& draft = store(draft_interview(1));
  const std::vector<Dot> status_dots = draft.live_dots("status");
  // Two devices wrote status concurrently: one finalized, one kept it draft
  // with a later clock, so "draft" is the shown winner.
  store(change(kDevice, "interviews", 1,
               {set("finalized_at", std::int64_t{1'700'000'000'000}),
                set("status", std::string("finalized"), status_dots)}));
  Change draft_again =
      change(kOtherDevice, "interviews", 1, {set("status", std::string("draft"), status_dots)});
  draft_again.hlc = Hlc::from_parts(1'800'000'000'000, 0);
  store(draft_again);
  EXPECT_EQ(
      judge(change(kOtherDevice, "interviews", 1, {set("duration_minutes", std::int64_t{30})})).error().code,
      "record_finalized");
}

TEST_F(SchemaChangeValidatorTest, AnAmendmentMustNameAFinalizedRecordOfTheSameCase) {
  store(draft_interview(1, "draft"));
  store(draft_interview(2, "finalized"));
  const crypto::Bytes key(32, 7);
  const auto sealed = [&](const char* field) {
    return SealedValue{*crypto::seal_field({"c", "amendments", "r", field}, 1, key, crypto::as_bytes("{}"))};
  };
  const auto amendment = [&](std::uint8_t record, std::uint8_t target) {
    return change(kDevice, "amendments", record,
                  {set("amended_at", std::int64_t{1'700'000'000'000}),
                   set("amends_collection", std::string("interviews")),
                   set("amends_record", to_text(id<RecordId>(0x7e, target))),
                   set("corrected_fields", sealed("corrected_fields")), set("reason", sealed("reason"))});
  };
  EXPECT_EQ(judge(amendment(10, 1)).error().code, "amendment_target_not_finalized");
  EXPECT_EQ(judge(amendment(11, 3)).error().code, "amendment_target_not_found");
  EXPECT_TRUE(judge(amendment(12, 2)).ok());
}

TEST_F(SchemaChangeValidatorTest, AnEditOfADeletedRecordIsNotACreation) {
  const RecordState& state = store(draft_interview(1));
  store(change(kDevice, "interviews", 1,
               {Operation{OperationKind::delete_record, "", NullValue{}, state.all_live_dots()}}));
  ASSERT_TRUE(records_.at(RecordKey{kCase, "interviews", id<RecordId>(0x7e, 1)}).is_deleted());
  // A device that never saw the delete edits one field: kept as edit-versus-delete.
  EXPECT_TRUE(judge(change(kOtherDevice, "interviews", 1, {set("duration_minutes", std::int64_t{45})})).ok());
}

}  // namespace
}  // namespace casefile::sync
