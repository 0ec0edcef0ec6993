// casefile-device as a child process on a real device directory (real key
// files and SQLCipher replica, no server): init, unlock with the right and a
// wrong passphrase, case new, show, and the exit codes the spec gives them.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "tests/support/scratch_directory.hpp"
#include "tests/support/shell_command.hpp"

namespace casefile {
namespace {

namespace json = boost::json;

constexpr const char* kPassphrase = "tamarind orbit seventeen lanterns";

using DeviceRun = test_support::CommandRun;

class CasefileDeviceCommandTest : public ::testing::Test {
 protected:
  std::filesystem::path directory() const { return scratch_.path() / "device"; }

  // Runs casefile-device --dir <directory> `arguments` with `passphrase` in
  // CASEFILE_DEVICE_PASSPHRASE; returns its exit code and stdout.
  DeviceRun device(const std::string& arguments, const std::string& passphrase = kPassphrase) {
    const std::string command = "CASEFILE_DEVICE_PASSPHRASE='" + passphrase + "' " + CASEFILE_DEVICE_BINARY +
                                " --dir '" + directory().string() + "' " + arguments +
                                " 2>/dev/null </dev/null";
    return test_support::run_shell_command(command);
  }

  // stdout must be exactly one JSON object on one line.
  static json::object only_object(const DeviceRun& run) {
    EXPECT_FALSE(run.out.empty());
    EXPECT_EQ(run.out.find('\n'), run.out.size() - 1) << run.out;
    return json::parse(run.out).as_object();
  }

  test_support::ScratchDirectory scratch_;
};

TEST_F(CasefileDeviceCommandTest, InitUnlockCaseNewAndShowOnARealDirectory) {
  const DeviceRun init = device("--json init");
  ASSERT_EQ(init.exit_code, 0) << init.out;
  const std::string device_id(only_object(init).at("device_id").as_string());
  EXPECT_EQ(device_id.size(), 36u);
  EXPECT_TRUE(std::filesystem::exists(directory() / "storage.key"));

  const DeviceRun unlocked = device("--json unlock");
  ASSERT_EQ(unlocked.exit_code, 0) << unlocked.out;
  const json::object unlock_object = only_object(unlocked);
  EXPECT_EQ(unlock_object.at("device_id"), device_id.c_str());
  EXPECT_EQ(unlock_object.at("state"), "not_enrolled");

  const DeviceRun wrong = device("--json unlock", "not the passphrase");
  EXPECT_EQ(wrong.exit_code, 3);
  EXPECT_EQ(only_object(wrong).at("error"), "wrong_passphrase");
  // Every command unlocks first, so a wrong passphrase is exit 3 on any of them.
  EXPECT_EQ(device("--json conflicts", "not the passphrase").exit_code, 3);

  const DeviceRun created = device(
      "--json case new --set stage=investigation --set province=Northern --set channel=duty_lawyer "
      "--set opened_on=2026-11-27 --set juvenile=true --set 'summary=Held since Tuesday'");
  ASSERT_EQ(created.exit_code, 0) << created.out;
  const json::object case_object = only_object(created);
  const std::string case_id(case_object.at("case_id").as_string());
  const json::object& record = case_object.at("record").as_object();
  EXPECT_EQ(record.at("case"), case_id.c_str());
  EXPECT_EQ(record.at("collection"), "cases");
  EXPECT_EQ(record.at("record_id"), case_id.c_str());

  const DeviceRun shown = device("--json show --case " + case_id);
  ASSERT_EQ(shown.exit_code, 0) << shown.out;
  const json::object shown_object = only_object(shown);
  const json::array& records = shown_object.at("records").as_array();
  ASSERT_EQ(records.size(), 1u);
  const json::object& fields = records[0].as_object().at("fields").as_object();
  EXPECT_EQ(fields.at("stage").as_object().at("value"), "investigation");
  EXPECT_EQ(fields.at("stage").as_object().at("sealed"), false);
  EXPECT_EQ(fields.at("juvenile").as_object().at("value"), true);  // typed as a boolean, not text
  EXPECT_EQ(fields.at("summary").as_object().at("value"), "Held since Tuesday");
  EXPECT_EQ(fields.at("summary").as_object().at("sealed"), true);
  EXPECT_EQ(fields.at("summary").as_object().at("conflict"), false);
}

TEST_F(CasefileDeviceCommandTest, RecordsAddedAreShownAndCountedInStatus) {
  ASSERT_EQ(device("init").exit_code, 0);
  const DeviceRun created = device(
      "--json case new --set stage=trial --set province=Coast --set channel=pro_bono --set "
      "opened_on=2026-11-01");
  ASSERT_EQ(created.exit_code, 0) << created.out;
  const std::string case_id(only_object(created).at("case_id").as_string());

  const DeviceRun notes =
      device("--json note add --case " + case_id + " --set 'body=Visit on Friday' --repeat 3");
  ASSERT_EQ(notes.exit_code, 0) << notes.out;
  EXPECT_EQ(only_object(notes).at("records").as_array().size(), 3u);
  const DeviceRun interview =
      device("--json interview add --case " + case_id +
             " --set held_on=2026-11-27 --set place_type=police_station "
             "--set duration_minutes=45 --set 'notes=Says he was not told his rights'");
  ASSERT_EQ(interview.exit_code, 0) << interview.out;
  const json::object interview_object = only_object(interview);
  const std::string interview_id(
      interview_object.at("records").as_array()[0].as_object().at("record_id").as_string());

  const DeviceRun shown = device("--json show --case " + case_id + " --collection interviews");
  ASSERT_EQ(shown.exit_code, 0);
  const json::object shown_object = only_object(shown);
  const json::array& records = shown_object.at("records").as_array();
  ASSERT_EQ(records.size(), 1u);
  const json::object& fields = records[0].as_object().at("fields").as_object();
  EXPECT_EQ(fields.at("case_record").as_object().at("value"), case_id.c_str());  // defaulted to --case
  EXPECT_EQ(fields.at("status").as_object().at("value"), "draft");
  EXPECT_EQ(fields.at("duration_minutes").as_object().at("value"), 45);
  EXPECT_EQ(records[0].as_object().at("record_id"), interview_id.c_str());

  const DeviceRun status = device("--json status");
  ASSERT_EQ(status.exit_code, 0);
  const json::object status_object = only_object(status);
  EXPECT_EQ(status_object.at("records"), 5);       // the case, three notes, one interview
  EXPECT_EQ(status_object.at("outbox_depth"), 5);  // none pushed: never synced
  EXPECT_TRUE(status_object.at("last_sync_ms").is_null());
}

TEST_F(CasefileDeviceCommandTest, FailuresHaveTheirExitCodesAndOneJsonErrorObject) {
  const DeviceRun missing = device("--json show");  // no device in the directory yet
  EXPECT_EQ(missing.exit_code, 4);
  EXPECT_EQ(only_object(missing).at("error"), "not_initialised");

  ASSERT_EQ(device("init").exit_code, 0);
  const DeviceRun usage = device("--json show --colour red");
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_EQ(only_object(usage).at("error"), "usage");
  EXPECT_EQ(device("show --case not-a-case-id").exit_code, 2);

  const DeviceRun wrong_type = device(
      "--json case new --set stage=trial --set province=P --set channel=pro_bono "
      "--set opened_on=2026-11-01 --set juvenile=maybe");
  EXPECT_EQ(wrong_type.exit_code, 1);
  EXPECT_EQ(only_object(wrong_type).at("error"), "wrong_type");
  const DeviceRun invalid = device(
      "--json case new --set stage=sentencing --set province=P --set channel=pro_bono "
      "--set opened_on=2026-11-01");
  EXPECT_EQ(invalid.exit_code, 1);
  EXPECT_EQ(only_object(invalid).at("error"), "not_in_enumeration");
  EXPECT_EQ(device("init").exit_code, 1);  // device_exists
}

TEST_F(CasefileDeviceCommandTest, EnrolAndSyncRefuseBeforeTouchingTheNetwork) {
  ASSERT_EQ(device("init").exit_code, 0);
  const DeviceRun bad_payload = device(R"(--json enrol '{"v":2,"url":"https://127.0.0.1:1"}')");
  EXPECT_EQ(bad_payload.exit_code, 1);
  EXPECT_EQ(only_object(bad_payload).at("error"), "enrolment_payload_invalid");
  const DeviceRun missing_file = device("--json enrol @" + (scratch_.path() / "no-such-payload").string());
  EXPECT_EQ(missing_file.exit_code, 1);
  EXPECT_EQ(only_object(missing_file).at("error"), "io_error");
  const DeviceRun not_certified = device("--json sync");
  EXPECT_EQ(not_certified.exit_code, 1);
  EXPECT_EQ(only_object(not_certified).at("error"), "not_certified");
  const DeviceRun status = device("--json status");
  ASSERT_EQ(status.exit_code, 0);
  EXPECT_EQ(only_object(status).at("state"), "not_enrolled");
}

}  // namespace
}  // namespace casefile
