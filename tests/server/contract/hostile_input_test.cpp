// Hostile requests sent to the Router casefiled builds, over real SQLCipher
// stores: each row is refused with its documented status and code, and after
// every row the sync and key stores are byte-identical to before and a normal
// request still works. Transport-level attacks (a 1 GB Content-Length, a
// header that never ends, slowloris) need a socket: casefiled_end_to_end_test.cpp.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "sync/cursor.hpp"
#include "tests/server/contract/casefiled_router_test.hpp"

namespace casefile::server::testing {
namespace {

namespace json = boost::json;

struct HostileRow {
  std::string name;
  std::string method;
  std::string target;
  Headers headers;
  std::string body;
  unsigned status;
  std::string code;  // the error code, or the first verdict's refusal code
  std::int64_t clock_offset_ms = 0;
};

std::string file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class HostileInputTest : public CasefiledRouterTest {
 protected:
  std::string store_bytes() {
    std::string bytes;
    for (const auto& path : {casefiled_.sync_database(), casefiled_.keys_database()}) {
      bytes += file_bytes(path);
      bytes += file_bytes(path.string() + "-wal");
    }
    return bytes;
  }
};

TEST_F(HostileInputTest, EveryHostileRequestIsRefusedWithItsCodeAndChangesNoStore) {
  ASSERT_TRUE(administration_.add_user("ana", Role::lawyer).ok());
  ASSERT_TRUE(administration_.add_user("bob", Role::lawyer).ok());
  ASSERT_TRUE(administration_.add_user("root", Role::admin).ok());
  TestDevice ana(1, "ana");
  TestDevice bob(2, "bob");
  TestDevice revoked(3, "bob");
  TestDevice root(4, "root", Role::admin);
  const std::string ana_token = sign_in(ana, "ana");
  const std::string bob_token = sign_in(bob, "bob");
  const std::string revoked_token = sign_in(revoked, "bob");
  const std::string root_token = sign_in(root, "root");
  const std::string reused_enrolment = last_enrolment_body_;
  ASSERT_TRUE(administration_.revoke_device(revoked.id(), casefiled_.authority(), "lost").ok());

  const sync::CaseId case_id = case_number(1);
  const std::string case_text = sync::to_text(case_id);
  ASSERT_EQ(call("POST", "/v1/cases", json_with(ana_token), R"({"case_id":")" + case_text + R"("})").status, 201u);
  const std::string pushed = ana.push_body({ana.new_case(case_id, record_number(1), "trial")});
  auto first_push = call("POST", "/v1/sync/push", json_with(ana_token), pushed);
  ASSERT_EQ(first_push.status, 200u) << first_push.body;
  ASSERT_EQ(code_of(first_push), "accepted") << first_push.body;
  const std::string manifest = R"({"manifest":"AAAA","wraps":[{"device":")" + sync::to_text(ana.id()) + R"(","wrap":"AAAA"}]})";
  auto stored = call("PUT", "/v1/keys/" + case_text + "/epochs/2", json_with(ana_token), manifest);
  ASSERT_EQ(stored.status, 201u) << stored.body;

  // Hostile payloads built from valid ones.
  std::string altered = pushed;
  const auto date = altered.find("2025-03-10");
  ASSERT_NE(date, std::string::npos);
  altered[date + 9] = '1';
  const std::string foreign_key_batch = [&] {
    auto changes = std::vector<sync::Change>{ana.new_case(case_id, record_number(2), "trial")};
    auto batch = sync::seal_batch(numbered<sync::BatchId>(0xbb, 9), bob.key(), ana.id(), std::move(changes));
    return sync::encode_push_request(batch.value());
  }();
  const std::string future_change = [&] {
    sync::Change change = ana.new_case(case_id, record_number(3), "trial");
    change.hlc = sync::Hlc::from_parts(32'503'680'000'000, 0);  // 3000-01-01
    return ana.push_body({change});
  }();
  std::string bad_base64 = ana.push_body({ana.new_case(case_id, record_number(4), "trial")});
  const auto signature = bad_base64.find("\"signature\":\"");
  ASSERT_NE(signature, std::string::npos);
  bad_base64.insert(signature + 13, "*=");
  const std::string deep = std::string(10'000, '[') + std::string(10'000, ']');
  const std::string other_key_token = [&] {
    sync::TokenRequest request = last_token_request_;
    request.signature.fill(0x5a);
    return sync::encode_token_request(request);
  }();
  const std::string k = "/v1/keys/" + case_text;
  const std::string upper_case = [&] {
    std::string text = case_text;
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
  }();

  const std::vector<HostileRow> rows = {
      {"truncated JSON", "POST", "/v1/sync/push", json_with(ana_token), pushed.substr(0, pushed.size() / 2), 400, "json_syntax"},
      {"empty push body", "POST", "/v1/sync/push", json_with(ana_token), "", 400, "json_syntax"},
      {"push body is an array", "POST", "/v1/sync/push", json_with(ana_token), "[]", 400, "json_wrong_type"},
      {"batch header without its members", "POST", "/v1/sync/push", json_with(ana_token), R"({"batch":{},"changes":"x"})", 400, "json_missing_member"},
      {"nesting 10,000 deep", "POST", "/v1/sync/push", json_with(ana_token), deep, 400, "json_too_deep"},
      {"bad base64url in a batch", "POST", "/v1/sync/push", json_with(ana_token), bad_base64, 400, "json_invalid_value"},
      {"valid batch replayed with one altered byte", "POST", "/v1/sync/push", json_with(ana_token), altered, 200, "inclusion_proof_invalid"},
      {"batch signed by another device's key", "POST", "/v1/sync/push", json_with(ana_token), foreign_key_batch, 200, "batch_signature_invalid"},
      {"batch pushed by a device that is not its author", "POST", "/v1/sync/push", json_with(bob_token), future_change, 200, "author_mismatch"},
      {"change with an HLC in the year 3000", "POST", "/v1/sync/push", json_with(ana_token), future_change, 200, "clock_skew"},
      {"unknown JSON member", "POST", "/v1/sync/push", json_with(ana_token), "{\"extra\":1," + pushed.substr(1), 400, "json_unknown_member"},
      {"duplicate key", "POST", "/v1/sync/push", json_with(ana_token), "{\"changes\":[]," + pushed.substr(1), 400, "json_duplicate_key"},
      {"non-UTF-8 bytes in a string", "POST", "/v1/cases", json_with(ana_token), "{\"case_id\":\"\xff\xfe\"}", 400, "bad_request"},
      {"wrong Content-Type", "POST", "/v1/sync/push", {{"Content-Type", "text/plain"}, {"Authorization", "Bearer " + ana_token}}, pushed, 415, "unsupported_media_type"},
      {"outbox depth not a number", "POST", "/v1/sync/push", [&] { auto h = json_with(ana_token); h.emplace_back("Casefile-Outbox-Depth", "-1"); return h; }(), pushed, 400, "invalid_outbox_depth"},
      {"revoked device's token", "POST", "/v1/sync/push", json_with(revoked_token), pushed, 403, "device_revoked"},
      {"expired token", "POST", "/v1/sync/push", json_with(ana_token), pushed, 401, "token_expired", 2LL * 24 * 3600 * 1000},
      {"unknown token", "POST", "/v1/sync/push", json_with("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), pushed, 401, "unauthenticated"},
      {"no token", "POST", "/v1/sync/push", json_with(""), pushed, 401, "unauthenticated"},
      {"malformed Authorization", "GET", "/v1/cases", {{"Authorization", "Basic abc"}}, "", 401, "unauthenticated"},
      {"pull limit over 1000", "GET", "/v1/sync/pull?limit=1001", bearer(ana_token), "", 400, "invalid_query"},
      {"pull limit 2^64", "GET", "/v1/sync/pull?limit=18446744073709551616", bearer(ana_token), "", 400, "invalid_query"},
      {"negative wait", "GET", "/v1/sync/pull?wait=-1", bearer(ana_token), "", 400, "invalid_query"},
      {"repeated parameter", "GET", "/v1/sync/pull?limit=1&limit=2", bearer(ana_token), "", 400, "invalid_query"},
      {"unknown parameter", "GET", "/v1/sync/pull?evil=1", bearer(ana_token), "", 400, "invalid_query"},
      {"pull of a malformed case", "GET", "/v1/sync/pull?case=..%2F" + case_text, bearer(ana_token), "", 400, "invalid_query"},
      {"pull of an upper-case case id", "GET", "/v1/sync/pull?case=" + upper_case, bearer(ana_token), "", 400, "invalid_query"},
      {"pull of another user's case", "GET", "/v1/sync/pull?case=" + case_text, bearer(bob_token), "", 403, "case_not_member"},
      {"bad cursor", "GET", "/v1/sync/pull?cursor=%25%25%25", bearer(ana_token), "", 400, "invalid_cursor"},
      {"cursor ahead of the log", "GET", "/v1/sync/pull?cursor=AQAAAAAAAP__", bearer(ana_token), "", 400, "invalid_cursor"},
      {"../ in a case id", "GET", "/v1/keys/..%2F..%2Fetc", bearer(ana_token), "", 400, "bad_request"},
      {"%2e%2e as a case id", "GET", "/v1/keys/%2e%2e", bearer(ana_token), "", 400, "invalid_case_id"},
      {"%00 in a case id", "GET", "/v1/keys/" + case_text + "%00", bearer(ana_token), "", 400, "bad_request"},
      {"overlong case id", "GET", "/v1/keys/" + std::string(5000, 'a'), bearer(ana_token), "", 400, "invalid_case_id"},
      {"upper-case UUID", "GET", "/v1/keys/" + upper_case, bearer(ana_token), "", 400, "invalid_case_id"},
      {"bad percent-encoding", "GET", "/v1/keys/%zz", bearer(ana_token), "", 400, "bad_request"},
      {"epoch 1e400", "PUT", k + "/epochs/1e400", json_with(ana_token), manifest, 400, "invalid_epoch"},
      {"epoch 2^64", "PUT", k + "/epochs/18446744073709551616", json_with(ana_token), manifest, 400, "invalid_epoch"},
      {"epoch with a leading zero", "PUT", k + "/epochs/02", json_with(ana_token), manifest, 400, "invalid_epoch"},
      {"keys upload with a non-monotonic epoch", "PUT", k + "/epochs/1", json_with(ana_token), manifest, 409, "epoch_not_monotonic"},
      {"keys upload for a case of another user", "PUT", k + "/epochs/3", json_with(bob_token), manifest, 403, "case_not_member"},
      {"keys of a case of another user", "GET", k, bearer(bob_token), "", 403, "case_not_member"},
      {"manifest is a number 1e400", "PUT", k + "/epochs/3", json_with(ana_token), R"({"manifest":1e400,"wraps":[]})", 400, "json_not_integer"},
      {"added wraps for an unknown epoch", "POST", k + "/epochs/9/wraps", json_with(ana_token), R"({"wraps":[{"device":")" + sync::to_text(ana.id()) + R"(","wrap":"AAAB"}]})", 404, "epoch_unknown"},
      {"added wrap to a device of a non-member", "POST", k + "/epochs/2/wraps", json_with(ana_token), R"({"wraps":[{"device":")" + sync::to_text(bob.id()) + R"(","wrap":"AAAA"}]})", 403, "recipient_not_member"},
      {"added wrap replacing a stored one", "POST", k + "/epochs/2/wraps", json_with(ana_token), R"({"wraps":[{"device":")" + sync::to_text(ana.id()) + R"(","wrap":"AAAB"}]})", 409, "wrap_exists"},
      {"added wraps with bad base64url", "POST", k + "/epochs/2/wraps", json_with(ana_token), R"({"wraps":[{"device":")" + sync::to_text(ana.id()) + R"(","wrap":"A*=="}]})", 400, "invalid_key_upload"},
      {"added wraps by a non-member", "POST", k + "/epochs/2/wraps", json_with(bob_token), R"({"wraps":[{"device":")" + sync::to_text(bob.id()) + R"(","wrap":"AAAA"}]})", 403, "case_not_member"},
      {"wraps of a wrong type", "PUT", k + "/epochs/3", json_with(ana_token), R"({"manifest":"AAAA","wraps":{}})", 400, "invalid_key_upload"},
      {"enrol with a reused code", "POST", "/v1/enrol", json_with(""), reused_enrolment, 403, "enrolment_code_invalid"},
      {"token with a wrong signature", "POST", "/v1/auth/token", json_with(""), other_key_token, 401, "signature_invalid"},
      {"stats with a reversed date range", "GET", "/v1/admin/stats?from=2025-12-31&to=2025-01-01", bearer(root_token), "", 400, "invalid_date_range"},
      {"stats with an impossible date", "GET", "/v1/admin/stats?from=2025-02-30&to=2025-12-31", bearer(root_token), "", 400, "invalid_query"},
      {"non-admin on admin stats", "GET", "/v1/admin/stats?from=2025-01-01&to=2025-12-31", bearer(ana_token), "", 403, "forbidden"},
      {"non-admin on admin users", "GET", "/v1/admin/users", bearer(ana_token), "", 403, "forbidden"},
      {"non-admin on admin devices", "GET", "/v1/admin/devices", bearer(ana_token), "", 403, "forbidden"},
      {"non-admin on admin audit", "GET", "/v1/admin/audit", bearer(ana_token), "", 403, "forbidden"},
      {"non-admin revoking a device", "POST", "/v1/admin/devices/" + sync::to_text(bob.id()) + "/revoke", json_with(ana_token), "{}", 403, "forbidden"},
      {"lawyer adding a member", "POST", "/v1/cases/" + case_text + "/members", json_with(ana_token), R"({"user":"bob"})", 403, "forbidden"},
      {"certificate without a token", "GET", "/v1/devices/" + sync::to_text(bob.id()) + "/certificate", {}, "", 401, "unauthenticated"},
      {"certificate of an upper-case device id", "GET", "/v1/devices/" + upper_case + "/certificate", bearer(ana_token), "", 400, "invalid_device_id"},
      {"certificate of %2e%2e", "GET", "/v1/devices/%2e%2e/certificate", bearer(ana_token), "", 400, "invalid_device_id"},
      {"certificate of a device never enrolled", "GET", "/v1/devices/" + case_text + "/certificate", bearer(ana_token), "", 404, "device_unknown"},
      {"certificate asked by a revoked device", "GET", "/v1/devices/" + sync::to_text(bob.id()) + "/certificate", bearer(revoked_token), "", 403, "device_revoked"},
      {"unknown route", "GET", "/v1/../etc/passwd", {}, "", 404, "not_found"},
      {"wrong method", "DELETE", "/v1/sync/push", bearer(ana_token), "", 405, "method_not_allowed"},
  };
  ASSERT_GE(rows.size(), 40u);

  const std::string before = store_bytes();
  for (const auto& row : rows) {
    clock_offset_ms_ = row.clock_offset_ms;
    const Response response = call(row.method, row.target, row.headers, row.body);
    clock_offset_ms_ = 0;
    EXPECT_EQ(response.status, row.status) << row.name << ": " << response.body.substr(0, 300);
    EXPECT_EQ(code_of(response), row.code) << row.name << ": " << response.body.substr(0, 300);
  }
  EXPECT_TRUE(store_bytes() == before) << "a hostile request changed the sync or key store";

  auto pulled = call("GET", "/v1/sync/pull", bearer(ana_token), "");
  ASSERT_EQ(pulled.status, 200u) << pulled.body;
  // Ana's one change is hers, so it is not sent back to her; her cursor passes it.
  EXPECT_TRUE(json::parse(pulled.body).at("entries").as_array().empty());
  EXPECT_EQ(json::parse(pulled.body).at("cursor").as_string(), sync::encode_cursor(1));
  auto next = call("POST", "/v1/sync/push", json_with(ana_token),
                   ana.push_body({ana.new_case(case_id, record_number(5), "trial")}));
  ASSERT_EQ(next.status, 200u) << next.body;
  EXPECT_EQ(code_of(next), "accepted") << next.body;
}

}  // namespace
}  // namespace casefile::server::testing
