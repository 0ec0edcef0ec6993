// casefile-device's command-line parsing: what each command accepts, the
// usage errors that give exit 2, and the exit code of each failure.
#include <gtest/gtest.h>

#include "tools/casefile-device/command_line.hpp"

namespace casefile::device_tool {
namespace {

Options parsed(const std::vector<std::string>& arguments) {
  auto result = parse_arguments(arguments);
  if (auto* usage = std::get_if<UsageError>(&result)) ADD_FAILURE() << usage->message;
  return std::get_if<Options>(&result) != nullptr ? std::get<Options>(result) : Options{};
}

std::string usage_message(const std::vector<std::string>& arguments) {
  auto result = parse_arguments(arguments);
  auto* usage = std::get_if<UsageError>(&result);
  return usage == nullptr ? std::string("(parsed)") : usage->message;
}

TEST(CasefileDeviceCommandLine, GlobalOptionsMayComeAnywhere) {
  const Options options =
      parsed({"case", "new", "--set", "stage=trial", "--dir", "/tmp/d", "--json", "--set", "province=North"});
  EXPECT_EQ(options.command, "case new");
  EXPECT_EQ(options.directory, "/tmp/d");
  EXPECT_TRUE(options.json);
  const std::vector<FieldAssignment> expected = {{"stage", "trial"}, {"province", "North"}};
  EXPECT_EQ(options.assignments, expected);
}

TEST(CasefileDeviceCommandLine, AnAssignmentSplitsAtTheFirstEqualsSign) {
  const Options options = parsed({"--dir", "d", "interview", "edit", "--case", "c", "--record", "r", "--set",
                                  "notes=a=b", "--set", "place_name=", "--clear", "attendees"});
  const std::vector<FieldAssignment> expected = {{"notes", "a=b"}, {"place_name", ""}};
  EXPECT_EQ(options.assignments, expected);
  EXPECT_EQ(options.cleared, std::vector<std::string>{"attendees"});
  EXPECT_EQ(options.value("case"), "c");
  EXPECT_EQ(options.value("record"), "r");
}

TEST(CasefileDeviceCommandLine, EnrolTakesAPayloadAWaitOrBoth) {
  const Options with_payload = parsed({"--dir", "d", "enrol", R"({"v":1})"});
  EXPECT_EQ(with_payload.command, "enrol");
  EXPECT_EQ(with_payload.positionals, std::vector<std::string>{R"({"v":1})"});
  EXPECT_EQ(parsed({"--dir", "d", "enrol", "--wait", "30"}).value("wait"), "30");
  EXPECT_EQ(parsed({"--dir", "d", "enrol", "@payload.json", "--wait", "5"}).positionals.front(),
            "@payload.json");
  EXPECT_NE(usage_message({"--dir", "d", "enrol"}), "(parsed)");
}

TEST(CasefileDeviceCommandLine, EveryCommandOfTheSpecParses) {
  const std::vector<std::vector<std::string>> commands = {
      {"init", "--lockout-after", "5", "--duress-passphrase-file", "f"},
      {"unlock"},
      {"case", "new", "--set", "stage=trial"},
      {"record", "add", "--case", "c", "--collection", "tasks", "--set", "kind=visit", "--repeat", "3"},
      {"record", "edit", "--case", "c", "--collection", "tasks", "--record", "r", "--clear", "done"},
      {"interview", "add", "--case", "c", "--set", "held_on=2026-11-27"},
      {"interview", "finalize", "--case", "c", "--record", "r"},
      {"amend", "--case", "c", "--record", "r", "--set", "reason=typo"},
      {"note", "add", "--case", "c", "--set", "body=text", "--repeat", "2"},
      {"show"},
      {"show", "--case", "c", "--collection", "notes", "--record", "r"},
      {"conflicts"},
      {"resolve", "--case", "c", "--collection", "cases", "--record", "r", "--field", "stage", "--value",
       "trial"},
      {"sync", "--watch", "10", "--batch", "100"},
      {"status"},
      {"quarantine"},
      {"passphrase", "change", "--new-passphrase-file", "f"},
      {"storage-key", "rotate"},
      {"repin", "--statement", "S"},
  };
  for (std::vector<std::string> arguments : commands) {
    arguments.insert(arguments.begin(), {"--dir", "d", "--passphrase-file", "p"});
    auto result = parse_arguments(arguments);
    const auto* usage = std::get_if<UsageError>(&result);
    EXPECT_EQ(usage, nullptr) << arguments[4] << ": " << (usage != nullptr ? usage->message : "");
  }
}

TEST(CasefileDeviceCommandLine, MistakesAreUsageErrors) {
  EXPECT_NE(usage_message({"--dir", "d"}), "(parsed)");                                  // no command
  EXPECT_NE(usage_message({"status"}), "(parsed)");                                      // no --dir
  EXPECT_NE(usage_message({"--dir", "d", "frobnicate"}), "(parsed)");                    // unknown command
  EXPECT_NE(usage_message({"--dir", "d", "case"}), "(parsed)");                          // no subcommand
  EXPECT_NE(usage_message({"--dir", "d", "case", "open"}), "(parsed)");                  // unknown subcommand
  EXPECT_NE(usage_message({"--dir", "d", "show", "--set", "a=b"}), "(parsed)");          // option not of show
  EXPECT_NE(usage_message({"--dir", "d", "status", "extra"}), "(parsed)");               // stray word
  EXPECT_NE(usage_message({"--dir", "d", "record", "add", "--case", "c"}), "(parsed)");  // no --collection
  EXPECT_NE(usage_message({"--dir", "d", "case", "new", "--set", "stage"}), "(parsed)");       // no '='
  EXPECT_NE(usage_message({"--dir", "d", "case", "new", "--set", "=trial"}), "(parsed)");      // no field
  EXPECT_NE(usage_message({"--dir", "d", "show", "--case", "a", "--case", "b"}), "(parsed)");  // twice
  EXPECT_NE(usage_message({"--dir", "d", "--dir", "e", "status"}), "(parsed)");
  EXPECT_NE(usage_message({"--dir", "d", "status", "--case"}), "(parsed)");  // no value
  EXPECT_NE(usage_message({"--dir", "d", "-x", "status"}), "(parsed)");
  EXPECT_NE(usage_message({"--dir", "d", "repin"}), "(parsed)");  // no --statement
  EXPECT_NE(
      usage_message({"--dir", "d", "record", "edit", "--case", "c", "--collection", "x", "--record", "r"}),
      "(parsed)");  // nothing to write
}

TEST(CasefileDeviceCommandLine, HelpWinsOverEverythingElse) {
  EXPECT_EQ(parsed({"status", "--help"}).command, "help");
  EXPECT_EQ(parsed({"-h"}).command, "help");
}

TEST(CasefileDeviceCommandLine, IntegerOptionsAreCheckedAgainstTheirRange) {
  const Options options = parsed({"--dir", "d", "sync", "--batch", "1001", "--watch", "5"});
  EXPECT_EQ(integer_option(options, "watch", 0, 1, 60).value(), 5);
  EXPECT_EQ(integer_option(options, "batch", 500, 1, 1000).error().code, "usage");
  EXPECT_EQ(integer_option(parsed({"--dir", "d", "sync"}), "batch", 500, 1, 1000).value(), 500);
  EXPECT_EQ(
      integer_option(parsed({"--dir", "d", "sync", "--batch", "12x"}), "batch", 500, 1, 1000).error().code,
      "usage");
  EXPECT_EQ(
      integer_option(parsed({"--dir", "d", "sync", "--batch", "-3"}), "batch", 500, 1, 1000).error().code,
      "usage");
}

TEST(CasefileDeviceCommandLine, ExitCodesFollowTheErrorCode) {
  EXPECT_EQ(exit_code_for("usage"), kExitUsage);
  EXPECT_EQ(exit_code_for("wrong_passphrase"), kExitWrongPassphrase);
  EXPECT_EQ(exit_code_for("locked_out"), kExitLockedOut);
  EXPECT_EQ(exit_code_for("not_initialised"), kExitLockedOut);
  EXPECT_EQ(exit_code_for("connect_failed"), kExitUnreachable);
  EXPECT_EQ(exit_code_for("timeout"), kExitUnreachable);
  EXPECT_EQ(exit_code_for("connection_lost"), kExitUnreachable);
  EXPECT_EQ(exit_code_for("tls_failed"), kExitUnreachable);
  EXPECT_EQ(exit_code_for("device_wiped"), kExitWiped);
  EXPECT_EQ(exit_code_for("enrolment_pending"), kExitPending);
  EXPECT_EQ(exit_code_for("pin_mismatch"), kExitFailed);
  EXPECT_EQ(exit_code_for("unknown_field"), kExitFailed);
  EXPECT_EQ(std::vector<int>({kExitOk, kExitFailed, kExitUsage, kExitWrongPassphrase, kExitLockedOut,
                              kExitUnreachable, kExitWiped, kExitPending}),
            std::vector<int>({0, 1, 2, 3, 4, 5, 6, 7}));
}

}  // namespace
}  // namespace casefile::device_tool
