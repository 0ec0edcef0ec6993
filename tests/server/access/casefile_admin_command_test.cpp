// casefile-admin's access commands as a child process on a temporary
// instance: outputs that parse, a QR block, and exit codes 0, 1 and 2.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <boost/json.hpp>
#include <cstdio>
#include <fstream>

#include "schema/database.hpp"
#include "server/access/sqlcipher_control_store.hpp"
#include "server/instance.hpp"
#include "sync/device_authentication.hpp"
#include "tests/server/access/access_test_support.hpp"
#include "tests/support/shell_command.hpp"

namespace casefile::server {
namespace {

namespace json = boost::json;

using AdminRun = test_support::CommandRun;

class CasefileAdminTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // One instance for the suite: init derives scrypt keys, which is slow under ASan.
    directory_ = new testing::ScratchDirectory();
    std::ofstream(passphrase_file()) << "correct horse battery staple\n";
    InstanceRequest request;
    request.root = instance();
    request.admin_passphrase = "correct horse battery staple";
    ASSERT_TRUE(create_instance(request).ok());
  }
  static void TearDownTestSuite() {
    delete directory_;
    directory_ = nullptr;
  }
  static std::filesystem::path instance() { return directory_->path() / "instance"; }
  static std::filesystem::path passphrase_file() { return directory_->path() / "passphrase"; }

  // Runs casefile-admin with `arguments` (the instance option added), and
  // returns its exit code and standard output.
  AdminRun admin(const std::string& arguments) {
    const std::string command = std::string(CASEFILE_ADMIN_BINARY) + " --instance '" + instance().string() +
                                "' " + arguments + " 2>/dev/null";
    return test_support::run_shell_command(command);
  }
  std::string passphrase() { return " --passphrase-file '" + passphrase_file().string() + "'"; }

  static json::object parse(const AdminRun& run) { return json::parse(run.out).as_object(); }

  static testing::ScratchDirectory* directory_;
};

testing::ScratchDirectory* CasefileAdminTest::directory_ = nullptr;

TEST_F(CasefileAdminTest, UserCommandsAddListAndDisable) {
  AdminRun added = admin("user add --user carla --role supervisor --json");
  ASSERT_EQ(added.exit_code, 0) << added.out;
  EXPECT_EQ(parse(added)["role"], "supervisor");
  EXPECT_EQ(admin("user add --user carla --role lawyer").exit_code, 1);  // user_exists
  AdminRun listed = admin("user list --json");
  ASSERT_EQ(listed.exit_code, 0);
  bool found = false;
  const json::object users = parse(listed);
  for (const auto& user : users.at("users").as_array()) found |= user.as_object().at("name") == "carla";
  EXPECT_TRUE(found);
  EXPECT_EQ(admin("user disable --user carla").exit_code, 0);
  EXPECT_EQ(admin("user disable --user nobody-here").exit_code, 1);
}

TEST_F(CasefileAdminTest, UsageErrorsExitTwo) {
  EXPECT_EQ(admin("user add --user x --role emperor").exit_code, 2);
  EXPECT_EQ(admin("user add --role lawyer").exit_code, 2);
  EXPECT_EQ(admin("enrol").exit_code, 2);
  EXPECT_EQ(admin("certify --device not-an-id").exit_code, 2);
  EXPECT_EQ(admin("user frobnicate").exit_code, 2);
  EXPECT_EQ(admin("devices --colour red").exit_code, 2);
  EXPECT_EQ(admin("cases members add --user x").exit_code, 2);
}

TEST_F(CasefileAdminTest, EnrolPrintsTheCodeAQrBlockAndAParsablePayload) {
  ASSERT_EQ(admin("user add --user dina --role lawyer").exit_code, 0);
  AdminRun text = admin("enrol --user dina --url https://casefile.example:8443");
  ASSERT_EQ(text.exit_code, 0) << text.out;
  EXPECT_NE(text.out.find("\u2588"), std::string::npos);  // the QR block's half-block characters
  const auto payload_at = text.out.find("payload: ");
  ASSERT_NE(payload_at, std::string::npos);
  const std::string payload_line =
      text.out.substr(payload_at + 9, text.out.find('\n', payload_at) - payload_at - 9);
  auto payload = json::parse(payload_line).as_object();
  EXPECT_EQ(payload["url"], "https://casefile.example:8443");
  auto summary = describe_instance(instance()).value();
  EXPECT_EQ(payload["pin"], json::value(sync::bytes_to_wire_text(summary.tls_spki_pin)));
  EXPECT_EQ(payload["authority"], json::value(sync::bytes_to_wire_text(summary.authority_fingerprint)));
  EXPECT_TRUE(sync::enrolment_code_from_text(std::string(payload["code"].as_string())).has_value());

  AdminRun json_run = admin("enrol --user dina --ttl 5 --json");
  ASSERT_EQ(json_run.exit_code, 0);
  auto object = parse(json_run);
  EXPECT_EQ(object["ok"], true);
  EXPECT_TRUE(object["payload"].as_object().contains("code"));
  EXPECT_EQ(object["payload"].as_object()["url"], "https://127.0.0.1:8443");  // from casefiled.toml
  EXPECT_EQ(admin("enrol --user nobody-here --json").exit_code, 1);
}

TEST_F(CasefileAdminTest, CertifyDevicesRevokeAndAuditWorkOnAnEnrolledDevice) {
  ASSERT_EQ(admin("user add --user emil --role lawyer").exit_code, 0);
  const std::string code =
      std::string(parse(admin("enrol --user emil --json"))["payload"].as_object()["code"].as_string());
  testing::TestDevice device;
  {
    auto store = SqlCipherControlStore::open_in_instance(instance()).value();
    auto request = sync::make_enrolment_request(*sync::enrolment_code_from_text(code), device.id,
                                                device.signing, device.wrapping.public_key())
                       .value();
    DeviceRecord record;
    record.id = device.id;
    record.signing_public_key = request.signing_public_key;
    record.wrapping_public_key = request.wrapping_public_key;
    ASSERT_TRUE(store
                    ->enrol_device(crypto::sha256(request.code), 1, record,
                                   AuditEvent{1,
                                              "device:" + sync::to_text(device.id),
                                              "device_enrolled",
                                              "device:" + sync::to_text(device.id),
                                              {}})
                    .ok());
  }
  const std::string id = sync::to_text(device.id);
  EXPECT_EQ(admin("certify --device " + id + " --passphrase-file /nonexistent").exit_code, 1);
  AdminRun certified = admin("certify --json --device " + id + passphrase());
  ASSERT_EQ(certified.exit_code, 0) << certified.out;
  EXPECT_EQ(parse(certified)["certificate"].as_object()["user"], "emil");
  AdminRun devices = admin("devices --user emil --json");
  ASSERT_EQ(devices.exit_code, 0);
  EXPECT_EQ(parse(devices)["devices"].as_array()[0].as_object()["state"], "certified");
  AdminRun signed_only = admin("revoke --sign-only --device " + id + passphrase());
  ASSERT_EQ(signed_only.exit_code, 0);
  EXPECT_TRUE(parse(signed_only).contains("wipe_order"));
  AdminRun revoked = admin("revoke --json --device " + id + " --reason lost" + passphrase());
  ASSERT_EQ(revoked.exit_code, 0) << revoked.out;
  EXPECT_EQ(parse(revoked)["state"], "revoked");
  EXPECT_EQ(admin("revoke --device " + id + passphrase()).exit_code, 1);  // already revoked

  AdminRun audit = admin("audit --json --device " + id);
  ASSERT_EQ(audit.exit_code, 0);
  std::vector<std::string> events;
  const json::object audit_json = parse(audit);
  for (const auto& entry : audit_json.at("entries").as_array()) {
    events.emplace_back(entry.as_object().at("event").as_string());
  }
  EXPECT_EQ(events, (std::vector<std::string>{"device_enrolled", "device_certified", "device_revoked"}));
  AdminRun since = admin("audit --json --event user_added --since 2000-01-01");
  ASSERT_EQ(since.exit_code, 0);
  EXPECT_FALSE(parse(since)["entries"].as_array().empty());
  AdminRun verified = admin("audit --verify --json");
  ASSERT_EQ(verified.exit_code, 0) << verified.out;
  EXPECT_GT(parse(verified)["entries"].as_int64(), 0);
}

TEST_F(CasefileAdminTest, CaseMembersAreAddedListedAndRemoved) {
  ASSERT_EQ(admin("user add --user fay --role lawyer").exit_code, 0);
  ASSERT_EQ(admin("user add --user gus --role lawyer").exit_code, 0);
  const auto case_id = testing::random_id<sync::CaseId>();
  {
    auto store = SqlCipherControlStore::open_in_instance(instance()).value();
    ASSERT_TRUE(
        store->create_case(case_id, "fay", AuditEvent{1, "device:test", "case_created", "", {}}).ok());
  }
  const std::string option = " --case " + sync::to_text(case_id);
  EXPECT_EQ(admin("cases members add --user gus" + option).exit_code, 0);
  EXPECT_EQ(admin("cases members add --user gus" + option).exit_code, 1);  // already_member
  AdminRun listed = admin("cases members list --json" + option);
  ASSERT_EQ(listed.exit_code, 0);
  EXPECT_EQ(parse(listed)["members"].as_array().size(), 2u);
  EXPECT_EQ(admin("cases members remove --user fay" + option).exit_code, 0);
  EXPECT_EQ(admin("cases members remove --user gus" + option).exit_code, 1);  // case_last_member
}

TEST_F(CasefileAdminTest, AuditVerifyFailsOnATamperedLog) {
  const std::filesystem::path copy = directory_->path() / "tampered";
  std::filesystem::remove_all(copy);
  std::filesystem::copy(instance(), copy, std::filesystem::copy_options::recursive);
  {
    auto store = SqlCipherControlStore::open_in_instance(copy).value();
    ASSERT_TRUE(store->append_audit(AuditEvent{1, "admin:x", "a", "", {}}).ok());
    ASSERT_TRUE(store->append_audit(AuditEvent{2, "admin:x", "b", "", {}}).ok());
  }
  {
    std::ifstream key_file(InstanceLayout(copy).database_key());
    std::string hex;
    key_file >> hex;
    crypto::Bytes bytes;
    ASSERT_TRUE(crypto::from_hex(hex, bytes));
    auto database =
        schema::Database::open(control_database_path(InstanceLayout(copy)), crypto::SecretBytes(bytes))
            .value();
    ASSERT_TRUE(database.execute("DROP TRIGGER audit_log_refuses_update").ok());
    ASSERT_TRUE(database.execute("UPDATE audit_log SET actor = 'someone else' WHERE sequence = 1").ok());
  }
  const std::string command = std::string(CASEFILE_ADMIN_BINARY) + " --instance '" + copy.string() +
                              "' audit --verify >/dev/null 2>&1";
  const int status = std::system(command.c_str());
  EXPECT_EQ(WEXITSTATUS(status), 1);
}

}  // namespace
}  // namespace casefile::server
