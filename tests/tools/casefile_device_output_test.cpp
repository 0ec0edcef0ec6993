// casefile-device's JSON objects (docs/casefile-device.md): exactly the
// documented members, with optional ones present only when they apply.
#include <gtest/gtest.h>

#include "tools/casefile-device/output.hpp"

namespace casefile::device_tool {
namespace {

namespace json = boost::json;

template <typename Id>
Id id(std::uint8_t fill) {
  Id made;
  made.bytes.fill(fill);
  return made;
}

device::ValueRead value_read(device::PlainValue value, std::uint8_t author, std::uint64_t sequence,
                             std::uint64_t time_ms) {
  device::ValueRead read;
  read.value = std::move(value);
  read.author = id<sync::DeviceId>(author);
  read.author_sequence = sequence;
  read.hlc_wall_millis = time_ms;
  return read;
}

device::RecordRead sample_record() {
  device::RecordRead record;
  record.key = {id<sync::CaseId>(0x11), "interviews", id<sync::RecordId>(0x22)};
  device::FieldRead held_on{"held_on", value_read(std::string("2026-11-27"), 0xaa, 1, 1000), {}};
  held_on.siblings = {held_on.winner};
  device::FieldRead duration{"duration_minutes", value_read(std::int64_t{90}, 0xbb, 7, 3000), {}};
  duration.siblings = {duration.winner, value_read(std::int64_t{60}, 0xaa, 2, 2000)};
  device::FieldRead notes{"notes", value_read(std::monostate{}, 0xaa, 3, 1500), {}};
  notes.winner.sealed = true;
  notes.winner.unreadable = "case_key_missing";
  notes.siblings = {notes.winner};
  record.fields = {duration, held_on, notes};
  return record;
}

TEST(CasefileDeviceOutput, ARecordHasItsKeyFlagsAndFields) {
  const json::object object = record_read_json(sample_record());
  EXPECT_EQ(object.at("case"), "11111111-1111-1111-1111-111111111111");
  EXPECT_EQ(object.at("collection"), "interviews");
  EXPECT_EQ(object.at("record_id"), "22222222-2222-2222-2222-222222222222");
  EXPECT_EQ(object.at("deleted"), false);
  EXPECT_EQ(object.at("edit_delete_conflict"), false);
  EXPECT_EQ(object.size(), 6u);

  const json::object& fields = object.at("fields").as_object();
  ASSERT_EQ(fields.size(), 3u);
  const json::object& held_on = fields.at("held_on").as_object();
  EXPECT_EQ(held_on.at("value"), "2026-11-27");
  EXPECT_EQ(held_on.at("sealed"), false);
  EXPECT_EQ(held_on.at("conflict"), false);
  EXPECT_FALSE(held_on.contains("siblings"));
  EXPECT_FALSE(held_on.contains("unreadable"));

  const json::object& notes = fields.at("notes").as_object();
  EXPECT_TRUE(notes.at("value").is_null());
  EXPECT_EQ(notes.at("sealed"), true);
  EXPECT_EQ(notes.at("unreadable"), "case_key_missing");
}

TEST(CasefileDeviceOutput, AFieldInConflictListsEverySiblingWithItsAuthor) {
  const json::object object = record_read_json(sample_record());
  const json::object& duration = object.at("fields").as_object().at("duration_minutes").as_object();
  EXPECT_EQ(duration.at("value"), 90);
  EXPECT_TRUE(duration.at("value").is_int64());
  EXPECT_EQ(duration.at("conflict"), true);
  const json::array& siblings = duration.at("siblings").as_array();
  ASSERT_EQ(siblings.size(), 2u);
  const json::object& second = siblings[1].as_object();
  EXPECT_EQ(second.at("value"), 60);
  EXPECT_EQ(second.at("author"), "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa");
  EXPECT_EQ(second.at("sequence"), 2);
  EXPECT_EQ(second.at("time_ms"), 2000);
  EXPECT_EQ(second.size(), 4u);
}

TEST(CasefileDeviceOutput, ConflictsAreOneEntryAFieldInConflict) {
  device::RecordRead calm = sample_record();
  calm.fields.erase(calm.fields.begin());  // only the fields not in conflict
  const json::array conflicts = conflicts_json({sample_record(), calm});
  ASSERT_EQ(conflicts.size(), 1u);
  const json::object& entry = conflicts[0].as_object();
  EXPECT_EQ(entry.at("field"), "duration_minutes");
  EXPECT_EQ(entry.at("collection"), "interviews");
  EXPECT_EQ(entry.at("siblings").as_array().size(), 2u);
  EXPECT_EQ(entry.size(), 5u);
}

TEST(CasefileDeviceOutput, PlainValuesAreJsonScalars) {
  EXPECT_TRUE(plain_value_json(device::PlainValue()).is_null());
  EXPECT_EQ(plain_value_json(device::PlainValue(true)), true);
  EXPECT_EQ(plain_value_json(device::PlainValue(std::int64_t{-4})), -4);
  EXPECT_EQ(plain_value_json(device::PlainValue(std::string("x"))), "x");
}

TEST(CasefileDeviceOutput, StatusSaysNullUntilTheFirstSync) {
  device::DeviceStatus status;
  status.device_id = id<sync::DeviceId>(0x33);
  status.state = device::EnrolmentState::pending;
  status.outbox_depth = 4;
  json::object object = status_json(status);
  EXPECT_EQ(object.at("state"), "pending");
  EXPECT_EQ(object.at("outbox_depth"), 4);
  EXPECT_TRUE(object.at("last_sync_ms").is_null());
  EXPECT_EQ(object.size(), 7u);
  status.last_sync_ms = 1764230400000;
  EXPECT_EQ(status_json(status).at("last_sync_ms"), 1764230400000);
}

TEST(CasefileDeviceOutput, AQuarantinedChangeNamesItsIdReasonAndRecord) {
  sync::QuarantinedChange quarantined;
  quarantined.change.id.device = id<sync::DeviceId>(0x44);
  quarantined.change.id.sequence = 9;
  quarantined.change.record = {id<sync::CaseId>(0x11), "notes", id<sync::RecordId>(0x55)};
  quarantined.reason = make_error("record_finalized", "the record is finalized");
  const json::object object = quarantined_change_json(quarantined);
  EXPECT_EQ(object.at("id").as_object().at("device"), "44444444-4444-4444-4444-444444444444");
  EXPECT_EQ(object.at("id").as_object().at("sequence"), 9);
  EXPECT_EQ(object.at("code"), "record_finalized");
  EXPECT_EQ(object.at("collection"), "notes");
  EXPECT_EQ(object.size(), 6u);
}

TEST(CasefileDeviceOutput, AFailureInJsonModeIsOneErrorObjectOnStdout) {
  Options options;
  options.json = true;
  ::testing::internal::CaptureStdout();
  const int exit_code = report_failure(options, make_error("wrong_passphrase", "wrong passphrase"));
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(exit_code, kExitWrongPassphrase);
  EXPECT_EQ(json::parse(out), json::parse(R"({"error":"wrong_passphrase","message":"wrong passphrase"})"));
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(out.find('\n'), out.size() - 1);  // one line
}

}  // namespace
}  // namespace casefile::device_tool
