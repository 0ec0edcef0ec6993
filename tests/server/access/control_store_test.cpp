// SqlCipherControlStore: each table's rules, one transaction per mutation and
// its audit entry, and a hash chain that exposes edited, deleted and
// reordered history.
#include <gtest/gtest.h>

#include <functional>

#include "schema/database.hpp"
#include "server/access/audit_chain.hpp"
#include "server/access/sqlcipher_control_store.hpp"
#include "tests/server/access/access_test_support.hpp"

namespace casefile::server {
namespace {

using testing::random_id;

AuditQuery query_where(const std::function<void(AuditQuery&)>& set) {
  AuditQuery query;
  set(query);
  return query;
}

AuditEvent event(std::string name, std::string subject = "") {
  return AuditEvent{1000, "admin:test", std::move(name), std::move(subject), {{"n", 1}}};
}

class ControlStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = SqlCipherControlStore::open(path(), key_).value(); }
  std::filesystem::path path() const { return directory_.path() / "control.db"; }

  void add_user(const std::string& name, Role role = Role::lawyer) {
    ASSERT_TRUE(store_->add_user(UserRecord{name, role, false, 1}, event("user_added")).ok());
  }
  crypto::Sha256Digest add_code(const std::string& user, std::int64_t expires_at) {
    const crypto::Sha256Digest hash = crypto::sha256(random_id<sync::DeviceId>().bytes);
    EXPECT_TRUE(store_->add_enrolment_code(hash, user, expires_at, event("enrolment_code_created")).ok());
    return hash;
  }
  DeviceRecord new_device() {
    DeviceRecord device;
    device.id = random_id<sync::DeviceId>();
    device.signing_public_key[0] = 1;
    device.wrapping_public_key[0] = 2;
    return device;
  }
  std::int64_t audit_count() { return store_->verify_audit_chain().value().entries; }

  // Runs SQL on the file behind the store's back, as an attacker with the key could.
  void tamper(const std::string& sql) {
    auto database = schema::Database::open(path(), key_).value();
    ASSERT_TRUE(
        database.execute("DROP TRIGGER audit_log_refuses_update; DROP TRIGGER audit_log_refuses_delete;")
            .ok());
    ASSERT_TRUE(database.execute(sql).ok());
  }

  testing::ScratchDirectory directory_;
  crypto::SecretBytes key_ = testing::random_key();
  std::unique_ptr<SqlCipherControlStore> store_;
};

TEST_F(ControlStoreTest, UsersAreAddedOnceListedAndDisabled) {
  add_user("ana", Role::supervisor);
  add_user("ben");
  EXPECT_EQ(store_->add_user(UserRecord{"ana", Role::lawyer, false, 1}, event("user_added")).error().code,
            "user_exists");
  auto users = store_->list_users().value();
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].name, "ana");
  EXPECT_EQ(users[0].role, Role::supervisor);
  ASSERT_TRUE(store_->set_user_disabled("ben", true, event("user_disabled")).ok());
  EXPECT_TRUE(store_->find_user("ben").value()->disabled);
  EXPECT_EQ(store_->set_user_disabled("nobody", true, event("user_disabled")).error().code, "user_unknown");
  EXPECT_FALSE(store_->find_user("nobody").value().has_value());
}

TEST_F(ControlStoreTest, AFailedMutationLeavesNoAuditEntry) {
  add_user("ana");
  const std::int64_t before = audit_count();
  EXPECT_FALSE(store_->add_user(UserRecord{"ana", Role::lawyer, false, 1}, event("user_added")).ok());
  EXPECT_FALSE(store_->set_user_disabled("nobody", true, event("user_disabled")).ok());
  EXPECT_EQ(audit_count(), before);
}

TEST_F(ControlStoreTest, AnAuditEventThatCannotBeWrittenUndoesItsMutation) {
  AuditEvent too_large = event("user_added");
  too_large.details["blob"] = std::string(70 * 1024, 'x');
  EXPECT_FALSE(store_->add_user(UserRecord{"ana", Role::lawyer, false, 1}, too_large).ok());
  EXPECT_FALSE(store_->find_user("ana").value().has_value());
}

TEST_F(ControlStoreTest, EnrolmentCodesAreForEnabledUsersOnly) {
  add_user("ana");
  const auto hash = crypto::sha256(crypto::as_bytes("x"));
  EXPECT_EQ(store_->add_enrolment_code(hash, "nobody", 5000, event("e")).error().code, "user_unknown");
  ASSERT_TRUE(store_->set_user_disabled("ana", true, event("user_disabled")).ok());
  EXPECT_EQ(store_->add_enrolment_code(hash, "ana", 5000, event("e")).error().code, "user_disabled");
}

TEST_F(ControlStoreTest, ACodeEnrolsOneDeviceOnceBeforeItExpires) {
  add_user("ana");
  const auto code = add_code("ana", 5000);
  DeviceRecord device = new_device();
  auto enrolled = store_->enrol_device(code, 4000, device, event("device_enrolled"));
  ASSERT_TRUE(enrolled.ok()) << enrolled.error().message;
  EXPECT_EQ(enrolled->user, "ana");
  EXPECT_EQ(enrolled->state, DeviceState::pending);
  EXPECT_EQ(store_->enrol_device(code, 4000, new_device(), event("device_enrolled")).error().code,
            "enrolment_code_invalid");  // used
  const auto late = add_code("ana", 5000);
  EXPECT_EQ(store_->enrol_device(late, 5001, new_device(), event("device_enrolled")).error().code,
            "enrolment_code_invalid");  // expired
  EXPECT_EQ(store_->enrol_device(crypto::sha256(crypto::as_bytes("never")), 1, new_device(), event("e"))
                .error()
                .code,
            "enrolment_code_invalid");  // unknown
  const auto again = add_code("ana", 5000);
  EXPECT_EQ(store_->enrol_device(again, 4000, device, event("device_enrolled")).error().code,
            "device_exists");
  // The refused attempt did not burn the code.
  EXPECT_TRUE(store_->enrol_device(again, 4000, new_device(), event("device_enrolled")).ok());
  auto entries =
      store_->query_audit(query_where([&](AuditQuery& q) { q.event = "device_enrolled"; })).value();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_NE(entries[0].details_json.find("\"user\":\"ana\""), std::string::npos);
}

TEST_F(ControlStoreTest, DevicesMoveFromPendingToCertifiedToRevoked) {
  add_user("ana");
  const DeviceRecord device =
      store_->enrol_device(add_code("ana", 5000), 1, new_device(), event("e")).value();
  EXPECT_EQ(store_->revoke_device(random_id<sync::DeviceId>(), crypto::Bytes{1}, event("r")).error().code,
            "device_unknown");
  ASSERT_TRUE(store_->certify_device(device.id, crypto::Bytes{7, 7}, event("device_certified")).ok());
  EXPECT_EQ(store_->certify_device(device.id, crypto::Bytes{7}, event("device_certified")).error().code,
            "device_not_pending");
  auto certified = store_->find_device(device.id).value();
  EXPECT_EQ(certified->state, DeviceState::certified);
  EXPECT_EQ(certified->certificate, (crypto::Bytes{7, 7}));
  ASSERT_TRUE(store_->revoke_device(device.id, crypto::Bytes{9}, event("device_revoked")).ok());
  EXPECT_EQ(store_->revoke_device(device.id, crypto::Bytes{9}, event("device_revoked")).error().code,
            "device_revoked");
  auto revoked = store_->list_devices().value();
  ASSERT_EQ(revoked.size(), 1u);
  EXPECT_EQ(revoked[0].state, DeviceState::revoked);
  EXPECT_EQ(revoked[0].wipe_order, crypto::Bytes{9});
}

TEST_F(ControlStoreTest, AChallengeIsRedeemedOnceBeforeItExpiresForItsDevice) {
  add_user("ana");
  const DeviceRecord device =
      store_->enrol_device(add_code("ana", 5000), 1, new_device(), event("e")).value();
  const crypto::Bytes challenge(32, 0xab);
  ASSERT_TRUE(store_->add_challenge(device.id, challenge, 2000).ok());
  const auto token = crypto::sha256(crypto::as_bytes("token"));
  EXPECT_EQ(store_->redeem_challenge(random_id<sync::DeviceId>(), challenge, 1500, token, 9000, event("t"))
                .error()
                .code,
            "challenge_invalid");
  EXPECT_EQ(store_->redeem_challenge(device.id, challenge, 2001, token, 9000, event("t")).error().code,
            "challenge_invalid");
  ASSERT_TRUE(store_->redeem_challenge(device.id, challenge, 1500, token, 9000, event("token_issued")).ok());
  EXPECT_EQ(store_
                ->redeem_challenge(device.id, challenge, 1500, crypto::sha256(crypto::as_bytes("other")),
                                   9000, event("t"))
                .error()
                .code,
            "challenge_invalid");
  auto found = store_->find_token(token).value();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->device, device.id);
  EXPECT_EQ(found->expires_at_ms, 9000);
  EXPECT_FALSE(store_->find_token(crypto::sha256(crypto::as_bytes("other"))).value().has_value());
  EXPECT_GE(store_->delete_expired(10'000).value(), 2);  // the token and the used challenge
  EXPECT_FALSE(store_->find_token(token).value().has_value());
}

TEST_F(ControlStoreTest, CasesKeepTheirMembersAndAtLeastOne) {
  add_user("ana");
  add_user("ben");
  const auto case_id = random_id<sync::CaseId>();
  ASSERT_TRUE(store_->create_case(case_id, "ana", event("case_created")).ok());
  EXPECT_EQ(store_->create_case(case_id, "ben", event("case_created")).error().code, "case_exists");
  EXPECT_EQ(store_->add_case_member(case_id, "ana", event("m")).error().code, "already_member");
  EXPECT_EQ(store_->add_case_member(case_id, "nobody", event("m")).error().code, "user_unknown");
  EXPECT_EQ(store_->add_case_member(random_id<sync::CaseId>(), "ben", event("m")).error().code,
            "case_unknown");
  EXPECT_EQ(store_->remove_case_member(case_id, "ana", event("m")).error().code, "case_last_member");
  ASSERT_TRUE(store_->add_case_member(case_id, "ben", event("case_member_added")).ok());
  EXPECT_EQ(store_->case_members(case_id).value(), (std::vector<std::string>{"ana", "ben"}));
  EXPECT_EQ(store_->cases_of_user("ben").value(), std::vector<sync::CaseId>{case_id});
  ASSERT_TRUE(store_->remove_case_member(case_id, "ana", event("case_member_removed")).ok());
  EXPECT_EQ(store_->remove_case_member(case_id, "ana", event("m")).error().code, "not_member");
  EXPECT_TRUE(store_->cases_of_user("ana").value().empty());
  EXPECT_TRUE(store_->case_exists(case_id).value());
  const auto cases = store_->list_cases().value();
  ASSERT_EQ(cases.size(), 1u);
  EXPECT_EQ(cases[0].case_id, case_id);
  EXPECT_EQ(cases[0].users, std::vector<std::string>{"ben"});
}

TEST_F(ControlStoreTest, AuditQueriesFilterByTimeEventAndDevice) {
  const auto device = random_id<sync::DeviceId>();
  const std::string subject = "device:" + sync::to_text(device);
  for (std::int64_t time : {100, 200, 300}) {
    ASSERT_TRUE(store_->append_audit(AuditEvent{time, "admin:x", "a", "", {}}).ok());
  }
  ASSERT_TRUE(store_->append_audit(AuditEvent{400, subject, "token_issued", subject, {}}).ok());
  EXPECT_EQ(store_
                ->query_audit(query_where([&](AuditQuery& q) {
                  q.since_ms = 200;
                  q.until_ms = 400;
                }))
                .value()
                .size(),
            2u);
  EXPECT_EQ(store_->query_audit(query_where([&](AuditQuery& q) { q.event = "token_issued"; })).value().size(),
            1u);
  EXPECT_EQ(store_->query_audit(query_where([&](AuditQuery& q) { q.device = device; })).value().size(), 1u);
  EXPECT_EQ(store_->query_audit(query_where([&](AuditQuery& q) { q.limit = 2; })).value().size(), 2u);
  EXPECT_EQ(
      store_->query_audit(query_where([&](AuditQuery& q) { q.after_sequence = 3; })).value().front().sequence,
      4);
}

TEST_F(ControlStoreTest, TheAuditLogRefusesUpdatesAndDeletesThroughSql) {
  ASSERT_TRUE(store_->append_audit(event("a")).ok());
  auto database = schema::Database::open(path(), key_).value();
  EXPECT_FALSE(database.execute("UPDATE audit_log SET event = 'b'").ok());
  EXPECT_FALSE(database.execute("DELETE FROM audit_log").ok());
}

class AuditChainTamperTest : public ControlStoreTest {
 protected:
  void SetUp() override {
    ControlStoreTest::SetUp();
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(store_->append_audit(event("event_" + std::to_string(i))).ok());
    ASSERT_EQ(store_->verify_audit_chain().value().entries, 4);
    store_.reset();  // closes the connection
  }
  Error verify_after(const std::string& sql) {
    tamper(sql);
    store_ = SqlCipherControlStore::open(path(), key_).value();
    auto report = store_->verify_audit_chain();
    return report.ok() ? Error{} : report.error();
  }
};

TEST_F(AuditChainTamperTest, AnEditedEntryBreaksTheChain) {
  const Error error = verify_after("UPDATE audit_log SET details = '{\"n\":2}' WHERE sequence = 2");
  EXPECT_EQ(error.code, "audit_chain_broken");
  EXPECT_NE(error.message.find("entry 2"), std::string::npos);
}

TEST_F(AuditChainTamperTest, ADeletedEntryBreaksTheChain) {
  EXPECT_EQ(verify_after("DELETE FROM audit_log WHERE sequence = 2").code, "audit_chain_broken");
}

TEST_F(AuditChainTamperTest, ADeletedAndRenumberedEntryBreaksTheChain) {
  EXPECT_EQ(verify_after("DELETE FROM audit_log WHERE sequence = 2; "
                         "UPDATE audit_log SET sequence = sequence - 1 WHERE sequence > 2")
                .code,
            "audit_chain_broken");
}

TEST_F(AuditChainTamperTest, ReorderedEntriesBreakTheChain) {
  EXPECT_EQ(verify_after("UPDATE audit_log SET sequence = 100 WHERE sequence = 2; "
                         "UPDATE audit_log SET sequence = 2 WHERE sequence = 3; "
                         "UPDATE audit_log SET sequence = 3 WHERE sequence = 100")
                .code,
            "audit_chain_broken");
}

TEST_F(AuditChainTamperTest, AnEditWithARecomputedHashStillBreaksTheNextLink) {
  // The attacker fixes entry 2's own hash but cannot fix entry 3's without
  // rewriting everything after it, which a recorded head hash exposes.
  store_ = SqlCipherControlStore::open(path(), key_).value();
  auto entries = store_->query_audit(AuditQuery{}).value();
  store_.reset();
  AuditEntry forged = entries[1];
  forged.event = "forged";
  forged.hash = audit_entry_hash(entries[0].hash, forged);
  const Error error = verify_after("UPDATE audit_log SET event = 'forged', hash = x'" +
                                   crypto::to_hex(forged.hash) + "' WHERE sequence = 2");
  EXPECT_EQ(error.code, "audit_chain_broken");
  EXPECT_NE(error.message.find("entry 3"), std::string::npos);
}

TEST_F(ControlStoreTest, StateSurvivesReopeningAndNeedsTheKey) {
  add_user("ana");
  store_.reset();
  EXPECT_EQ(SqlCipherControlStore::open(path(), testing::random_key()).error().code, "wrong_key");
  store_ = SqlCipherControlStore::open(path(), key_).value();
  EXPECT_TRUE(store_->find_user("ana").value().has_value());
}

}  // namespace
}  // namespace casefile::server
