// Roles (lawyer, supervisor, admin) x member / non-member of a case x every
// authenticated route of the Router casefiled builds: each call is answered
// or refused as docs/security.md §6 and protocol.md say, and no response
// carries the id of a case the caller's user is not a member of (the admin's
// audit log excepted: it is the record of every case by design; and an admin
// managing a case's membership sees that case's id).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/server/contract/casefiled_router_test.hpp"

namespace casefile::server::testing {
namespace {

using AuthorizationMatrixTest = CasefiledRouterTest;

struct Caller {
  std::string user;
  Role role;
  bool member;
};

TEST_F(AuthorizationMatrixTest, EachRoleAndMembershipGetsItsDocumentedAnswerAndNoOtherCase) {
  ASSERT_TRUE(administration_.add_user("olga", Role::lawyer).ok());
  ASSERT_TRUE(administration_.add_user("other", Role::lawyer).ok());
  ASSERT_TRUE(administration_.add_user("ghost", Role::lawyer).ok());
  TestDevice olga(1, "olga");
  TestDevice other(2, "other");
  const std::string olga_token = sign_in(olga, "olga");
  const std::string other_token = sign_in(other, "other");
  // A revoked device's certificate stays readable: its earlier changes must stay verifiable.
  TestDevice revoked(3, "other");
  (void)sign_in(revoked, "other");
  ASSERT_TRUE(administration_.revoke_device(revoked.id(), casefiled_.authority(), "lost").ok());
  const std::string case_a = sync::to_text(case_number(1));
  const std::string case_b = sync::to_text(case_number(2));
  ASSERT_EQ(call("POST", "/v1/cases", json_with(olga_token), R"({"case_id":")" + case_a + R"("})").status, 201u);
  ASSERT_EQ(call("POST", "/v1/cases", json_with(other_token), R"({"case_id":")" + case_b + R"("})").status, 201u);
  ASSERT_EQ(code_of(call("POST", "/v1/sync/push", json_with(other_token),
                         other.push_body({other.new_case(case_number(2), record_number(2), "trial")}))),
            "accepted");

  const std::vector<Caller> callers = {
      {"lawyer-member", Role::lawyer, true},          {"lawyer-outsider", Role::lawyer, false},
      {"supervisor-member", Role::supervisor, true},  {"supervisor-outsider", Role::supervisor, false},
      {"admin-member", Role::admin, true},            {"admin-outsider", Role::admin, false}};
  std::uint64_t number = 10;
  for (const auto& caller : callers) {
    SCOPED_TRACE(caller.user);
    ASSERT_TRUE(administration_.add_user(caller.user, caller.role).ok());
    if (caller.member) {
      ASSERT_TRUE(administration_.add_case_member(case_number(1), caller.user).ok());
    }
    TestDevice device(++number, caller.user, caller.role);
    const std::string token = sign_in(device, caller.user);
    const bool admin = caller.role == Role::admin;
    const bool manager = admin || (caller.role == Role::supervisor && caller.member);
    const std::string wraps = R"({"manifest":"AAAA","wraps":[{"device":")" + sync::to_text(device.id()) + R"(","wrap":"AAAA"}]})";

    struct Expectation {
      std::string method, target, body;
      unsigned status;
      std::string code;
    };
    const std::string not_member = admin ? "" : "case_not_member";
    const std::vector<Expectation> expected = {
        {"GET", "/v1/cases", "", 200, ""},
        {"GET", "/v1/cases/" + case_a + "/members", "", (caller.member || admin) ? 200u : 403u,
         (caller.member || admin) ? "" : "case_not_member"},
        {"POST", "/v1/cases/" + case_a + "/members", R"({"user":"olga"})", manager ? 409u : 403u,
         manager ? "already_member" : (caller.member ? "forbidden" : "case_not_member")},
        {"DELETE", "/v1/cases/" + case_a + "/members/ghost", "", manager ? 404u : 403u,
         manager ? "not_member" : (caller.member ? "forbidden" : "case_not_member")},
        {"GET", "/v1/admin/users", "", admin ? 200u : 403u, admin ? "" : "forbidden"},
        {"GET", "/v1/admin/devices", "", admin ? 200u : 403u, admin ? "" : "forbidden"},
        {"GET", "/v1/admin/audit", "", admin ? 200u : 403u, admin ? "" : "forbidden"},
        {"POST", "/v1/admin/devices/" + sync::to_text(olga.id()) + "/revoke", "{}", admin ? 400u : 403u,
         admin ? "wipe_order_required" : "forbidden"},
        {"GET", "/v1/admin/stats?from=2025-01-01&to=2025-12-31", "", admin ? 200u : 403u, admin ? "" : "forbidden"},
        {"GET", "/v1/keys/" + case_a, "", caller.member ? 200u : 403u, caller.member ? "" : "case_not_member"},
        {"PUT", "/v1/keys/" + case_a + "/epochs/" + std::to_string(number), wraps, caller.member ? 201u : 403u,
         caller.member ? "" : "case_not_member"},
        {"POST", "/v1/keys/" + case_a + "/epochs/" + std::to_string(number) + "/wraps",
         R"({"wraps":[{"device":")" + sync::to_text(olga.id()) + R"(","wrap":"AAAA"}]})", caller.member ? 201u : 403u,
         caller.member ? "" : "case_not_member"},
        {"GET", "/v1/keys", "", 200, ""},
        {"GET", "/v1/sync/pull", "", 200, ""},
        {"GET", "/v1/devices/" + sync::to_text(olga.id()) + "/certificate", "", 200, ""},
        {"GET", "/v1/devices/" + sync::to_text(revoked.id()) + "/certificate", "", 200, ""},
        {"POST", "/v1/sync/push", device.push_body({device.new_case(case_number(1), record_number(number), "trial")}),
         200, caller.member ? "accepted" : "case_not_member"},
    };
    for (const auto& row : expected) {
      const Response response = call(row.method, row.target, row.body.empty() ? bearer(token) : json_with(token), row.body);
      EXPECT_EQ(response.status, row.status) << row.method << " " << row.target << ": " << response.body.substr(0, 300);
      if (!row.code.empty()) {
        EXPECT_EQ(code_of(response), row.code) << row.method << " " << row.target;
      }
      if (row.target == "/v1/admin/audit") continue;
      EXPECT_EQ(response.body.find(case_b), std::string::npos) << row.method << " " << row.target << " shows case B";
      // Admins manage every case's membership (security.md §6), so they see its id there.
      const bool admin_manages_membership = admin && row.target.find("/members") != std::string::npos;
      if (!caller.member && !admin_manages_membership) {
        EXPECT_EQ(response.body.find(case_a), std::string::npos) << row.method << " " << row.target << " shows case A";
      }
    }
  }
}

}  // namespace
}  // namespace casefile::server::testing
