// The ControlStore conformance suite's test bodies (control_store_conformance.hpp).
#include "tests/server/access/control_store_conformance.hpp"

#include <atomic>
#include <functional>
#include <thread>

#include "crypto/hash.hpp"
#include "crypto/random.hpp"
#include "server/access/audit_chain.hpp"

namespace casefile::server::testing {
namespace control_store_conformance {
namespace {

template <typename Id>
Id random_id() {
  Id id;
  if (!crypto::fill_random(id.bytes).ok()) throw std::runtime_error("random failed");
  return id;
}

AuditQuery query_where(const std::function<void(AuditQuery&)>& set) {
  AuditQuery query;
  set(query);
  return query;
}

AuditEvent event(std::string name, std::string subject = "") {
  return AuditEvent{1000, "admin:test", std::move(name), std::move(subject), {{"n", 1}}};
}

void add_user(ControlStore& store, const std::string& name, Role role = Role::lawyer) {
  ASSERT_TRUE(store.add_user(UserRecord{name, role, false, 1}, event("user_added")).ok());
}

crypto::Sha256Digest add_code(ControlStore& store, const std::string& user, std::int64_t expires_at) {
  const crypto::Sha256Digest hash = crypto::sha256(random_id<sync::DeviceId>().bytes);
  EXPECT_TRUE(store.add_enrolment_code(hash, user, expires_at, event("enrolment_code_created")).ok());
  return hash;
}

DeviceRecord new_device() {
  DeviceRecord device;
  device.id = random_id<sync::DeviceId>();
  device.signing_public_key[0] = 1;
  device.wrapping_public_key[0] = 2;
  return device;
}

std::int64_t audit_count(ControlStore& store) { return store.verify_audit_chain().value().entries; }

TEST_P(ControlStoreConformance, UsersAreAddedOnceListedAndDisabled) {
  add_user(*store_, "ana", Role::supervisor);
  add_user(*store_, "ben");
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

TEST_P(ControlStoreConformance, AFailedMutationLeavesNoAuditEntry) {
  add_user(*store_, "ana");
  const std::int64_t before = audit_count(*store_);
  EXPECT_FALSE(store_->add_user(UserRecord{"ana", Role::lawyer, false, 1}, event("user_added")).ok());
  EXPECT_FALSE(store_->set_user_disabled("nobody", true, event("user_disabled")).ok());
  EXPECT_EQ(audit_count(*store_), before);
}

TEST_P(ControlStoreConformance, AnAuditEventThatCannotBeWrittenUndoesItsMutation) {
  AuditEvent too_large = event("user_added");
  too_large.details["blob"] = std::string(70 * 1024, 'x');
  EXPECT_FALSE(store_->add_user(UserRecord{"ana", Role::lawyer, false, 1}, too_large).ok());
  EXPECT_FALSE(store_->find_user("ana").value().has_value());
}

TEST_P(ControlStoreConformance, EnrolmentCodesAreForEnabledUsersOnly) {
  add_user(*store_, "ana");
  const auto hash = crypto::sha256(crypto::as_bytes("x"));
  EXPECT_EQ(store_->add_enrolment_code(hash, "nobody", 5000, event("e")).error().code, "user_unknown");
  ASSERT_TRUE(store_->set_user_disabled("ana", true, event("user_disabled")).ok());
  EXPECT_EQ(store_->add_enrolment_code(hash, "ana", 5000, event("e")).error().code, "user_disabled");
}

TEST_P(ControlStoreConformance, ACodeEnrolsOneDeviceOnceBeforeItExpires) {
  add_user(*store_, "ana");
  const auto code = add_code(*store_, "ana", 5000);
  DeviceRecord device = new_device();
  auto enrolled = store_->enrol_device(code, 4000, device, event("device_enrolled"));
  ASSERT_TRUE(enrolled.ok()) << enrolled.error().message;
  EXPECT_EQ(enrolled->user, "ana");
  EXPECT_EQ(enrolled->state, DeviceState::pending);
  EXPECT_EQ(store_->enrol_device(code, 4000, new_device(), event("device_enrolled")).error().code,
            "enrolment_code_invalid");  // used
  const auto late = add_code(*store_, "ana", 5000);
  EXPECT_EQ(store_->enrol_device(late, 5001, new_device(), event("device_enrolled")).error().code,
            "enrolment_code_invalid");  // expired
  EXPECT_EQ(store_->enrol_device(crypto::sha256(crypto::as_bytes("never")), 1, new_device(), event("e"))
                .error()
                .code,
            "enrolment_code_invalid");  // unknown
  const auto again = add_code(*store_, "ana", 5000);
  EXPECT_EQ(store_->enrol_device(again, 4000, device, event("device_enrolled")).error().code,
            "device_exists");
  // The refused attempt did not burn the code.
  EXPECT_TRUE(store_->enrol_device(again, 4000, new_device(), event("device_enrolled")).ok());
  auto entries =
      store_->query_audit(query_where([&](AuditQuery& q) { q.event = "device_enrolled"; })).value();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_NE(entries[0].details_json.find("\"user\":\"ana\""), std::string::npos);
}

TEST_P(ControlStoreConformance, DevicesMoveFromPendingToCertifiedToRevoked) {
  add_user(*store_, "ana");
  const DeviceRecord device =
      store_->enrol_device(add_code(*store_, "ana", 5000), 1, new_device(), event("e")).value();
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

TEST_P(ControlStoreConformance, AChallengeIsRedeemedOnceBeforeItExpiresForItsDevice) {
  add_user(*store_, "ana");
  const DeviceRecord device =
      store_->enrol_device(add_code(*store_, "ana", 5000), 1, new_device(), event("e")).value();
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

TEST_P(ControlStoreConformance, CasesKeepTheirMembersAndAtLeastOne) {
  add_user(*store_, "ana");
  add_user(*store_, "ben");
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

TEST_P(ControlStoreConformance, AuditQueriesFilterByTimeEventAndDevice) {
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

TEST_P(ControlStoreConformance, TheAuditLogRefusesUpdatesAndDeletesThroughSql) {
  ASSERT_TRUE(store_->append_audit(event("a")).ok());
  store_.reset();
  EXPECT_FALSE(backend_->execute("UPDATE audit_log SET event = 'b'"));
  EXPECT_FALSE(backend_->execute("DELETE FROM audit_log"));
  reopen();
  EXPECT_EQ(audit_count(*store_), 1);
}

TEST_P(AuditChainTamperConformance, AnEditedEntryBreaksTheChain) {
  const Error error = verify_after("UPDATE audit_log SET details = '{\"n\":2}' WHERE sequence = 2");
  EXPECT_EQ(error.code, "audit_chain_broken");
  EXPECT_NE(error.message.find("entry 2"), std::string::npos);
}

TEST_P(AuditChainTamperConformance, ADeletedEntryBreaksTheChain) {
  EXPECT_EQ(verify_after("DELETE FROM audit_log WHERE sequence = 2").code, "audit_chain_broken");
}

TEST_P(AuditChainTamperConformance, ADeletedAndRenumberedEntryBreaksTheChain) {
  EXPECT_EQ(verify_after("DELETE FROM audit_log WHERE sequence = 2; "
                         "UPDATE audit_log SET sequence = 2 WHERE sequence = 3; "
                         "UPDATE audit_log SET sequence = 3 WHERE sequence = 4")
                .code,
            "audit_chain_broken");
}

TEST_P(AuditChainTamperConformance, ReorderedEntriesBreakTheChain) {
  EXPECT_EQ(verify_after("UPDATE audit_log SET sequence = 100 WHERE sequence = 2; "
                         "UPDATE audit_log SET sequence = 2 WHERE sequence = 3; "
                         "UPDATE audit_log SET sequence = 3 WHERE sequence = 100")
                .code,
            "audit_chain_broken");
}

TEST_P(AuditChainTamperConformance, AnEditWithARecomputedHashStillBreaksTheNextLink) {
  // The attacker fixes entry 2's own hash but cannot fix entry 3's without
  // rewriting everything after it, which a recorded head hash exposes.
  store_ = backend_->open();
  auto entries = store_->query_audit(AuditQuery{}).value();
  store_.reset();
  AuditEntry forged = entries[1];
  forged.event = "forged";
  forged.hash = audit_entry_hash(entries[0].hash, forged);
  const Error error =
      verify_after("UPDATE audit_log SET event = 'forged', hash = " + backend_->blob_literal(forged.hash) +
                   " WHERE sequence = 2");
  EXPECT_EQ(error.code, "audit_chain_broken");
  EXPECT_NE(error.message.find("entry 3"), std::string::npos);
}

TEST_P(ControlStoreConformance, StateSurvivesReopening) {
  add_user(*store_, "ana");
  ASSERT_TRUE(store_->append_audit(event("a")).ok());
  reopen();
  EXPECT_TRUE(store_->find_user("ana").value().has_value());
  EXPECT_EQ(audit_count(*store_), 2);
}

// Two store objects on one database, as two casefiled instances (or casefiled
// and casefile-admin): their audit appends form one unbroken chain, and one
// enrolment code enrols one device however many redeem it at once.
TEST_P(ControlStoreConformance, TwoStoresOnOneDatabaseAppendOneChainAndRedeemACodeOnce) {
  add_user(*store_, "ana");
  const auto code = add_code(*store_, "ana", 5000);
  const std::int64_t before = audit_count(*store_);
  auto other = backend_->open();
  constexpr int kAppends = 15;
  std::atomic<int> enrolled{0};
  std::atomic<int> refused{0};
  const auto work = [&](ControlStore& store) {
    for (int i = 0; i < kAppends; ++i) EXPECT_TRUE(store.append_audit(event("concurrent")).ok());
    auto result = store.enrol_device(code, 4000, new_device(), event("device_enrolled"));
    if (result.ok()) {
      ++enrolled;
    } else {
      EXPECT_EQ(result.error().code, "enrolment_code_invalid");
      ++refused;
    }
  };
  std::thread first([&] { work(*store_); });
  std::thread second([&] { work(*other); });
  first.join();
  second.join();
  EXPECT_EQ(enrolled.load(), 1);
  EXPECT_EQ(refused.load(), 1);
  auto report = other->verify_audit_chain();
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->entries, before + 2 * kAppends + 1);
  EXPECT_EQ(store_->list_devices().value().size(), 1u);
}

}  // namespace
}  // namespace control_store_conformance
}  // namespace casefile::server::testing
