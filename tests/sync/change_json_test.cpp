// The strict JSON wire codec: round trips, and one stable code per way a
// message can be malformed.
#include "sync/change_json.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "sync/response_json.hpp"
#include "sync/strict_json.hpp"
#include "tests/sync/sync_test_support.hpp"

namespace casefile::sync {
namespace {

using testing::device_id;
using testing::make_change;
using testing::record_key;
using testing::set_op;

Batch example_batch() {
  std::vector<Change> changes;
  changes.push_back(make_change(
      Dot{device_id(1), 1}, record_key(1, 1), Hlc::from_parts(1'700'000'000'000, 0),
      {set_op("stage", std::string("intake")), set_op("juvenile", true), set_op("count", std::int64_t{-4}),
       set_op("note", NullValue{}), set_op("statement", SealedValue{{1, 2, 3, 250}})}));
  changes.push_back(make_change(Dot{device_id(1), 2}, record_key(1, 1), Hlc::from_parts(1'700'000'000'001, 0),
                                {set_op("stage", std::string("trial"), {Dot{device_id(1), 1}})}));
  changes.push_back(make_change(Dot{device_id(1), 3}, record_key(1, 2), Hlc::from_parts(1'700'000'000'002, 3),
                                {testing::delete_op({Dot{device_id(2), 9}})}));
  return *seal_batch(testing::batch_id(1), testing::device_key(1), device_id(1), std::move(changes));
}

std::string error_code_of(std::string_view body) {
  auto decoded = decode_push_request(body);
  return decoded.ok() ? "ok" : decoded.error().code;
}

// Replaces the first occurrence of `from` in the encoded example batch.
std::string mutated(const std::string& from, const std::string& to) {
  std::string body = encode_push_request(example_batch());
  const auto at = body.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return body.replace(at, from.size(), to);
}

TEST(ChangeJson, PushRequestsRoundTripExactly) {
  const Batch batch = example_batch();
  auto decoded = decode_push_request(encode_push_request(batch));
  ASSERT_TRUE(decoded.ok()) << decoded.error().code << " " << decoded.error().message;
  EXPECT_EQ(decoded->header, batch.header);
  EXPECT_EQ(decoded->changes, batch.changes);
}

TEST(ChangeJson, EachMalformationHasItsOwnCode) {
  EXPECT_EQ(error_code_of("{\"batch\":"), "json_syntax");
  EXPECT_EQ(error_code_of("{} {}"), "json_syntax");
  EXPECT_EQ(error_code_of("{\"a\":1,\"a\":2}"), "json_duplicate_key");
  EXPECT_EQ(error_code_of(std::string(40, '[') + std::string(40, ']')), "json_too_deep");
  EXPECT_EQ(error_code_of("[1.5]"), "json_not_integer");
  EXPECT_EQ(error_code_of("[1e3]"), "json_not_integer");
  EXPECT_EQ(error_code_of("[9223372036854775808]"), "json_integer_out_of_range");
  EXPECT_EQ(error_code_of("[\"\xff\"]"), "json_syntax");
  EXPECT_EQ(error_code_of("[]"), "json_wrong_type");
  EXPECT_EQ(error_code_of(mutated("\"tree_size\":3", "\"tree_size\":3,\"extra\":1")), "json_unknown_member");
  EXPECT_EQ(error_code_of(mutated("\"collection\":\"interviews\",", "")), "json_missing_member");
  EXPECT_EQ(error_code_of(mutated("\"collection\":\"interviews\"", "\"collection\":7")), "json_wrong_type");
  EXPECT_EQ(error_code_of(mutated("\"case\":\"ca", "\"case\":\"CA")), "json_invalid_value");
  EXPECT_EQ(error_code_of(mutated("\"op\":\"set\"", "\"op\":\"upsert\"")), "json_invalid_value");
  EXPECT_EQ(error_code_of(mutated("\"sealed\":\"AQID-g\"", "\"sealed\":\"AQID+g==\"")), "json_invalid_value");
  EXPECT_EQ(error_code_of(mutated("\"counter\":0", "\"counter\":70000")), "json_invalid_value");
  EXPECT_EQ(error_code_of(mutated("\"sequence\":1", "\"sequence\":0")), "json_invalid_value");
  EXPECT_EQ(error_code_of(mutated("{\"clear\":true}", "{\"clear\":[true]}")), "json_wrong_type");
  EXPECT_EQ(error_code_of(mutated("{\"clear\":true}", "{\"clear\":true,\"sealed\":\"AA\"}")),
            "json_invalid_value");
}

TEST(ChangeJson, SizeAndStringLimitsAreEnforcedBeforeAnythingIsBuilt) {
  JsonLimits limits;
  limits.max_bytes = 10;
  EXPECT_EQ(decode_push_request("{\"batch\":{}}", limits).error().code, "json_too_large");
  limits = JsonLimits{};
  limits.max_string_bytes = 4;
  EXPECT_EQ(decode_push_request("[\"hello\"]", limits).error().code, "json_string_too_long");
  limits = JsonLimits{};
  limits.max_array_items = 2;
  EXPECT_EQ(decode_push_request("[1,2,3]", limits).error().code, "json_too_many_items");
}

TEST(ChangeJson, ShapeIsCheckedByTheCodecAndRulesByThePushPath) {
  // Fields out of canonical order decode (the push path refuses that change
  // alone with change_invalid).
  const std::string body = mutated("\"field\":\"count\"", "\"field\":\"zzz\"");
  auto decoded = decode_push_request(body);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(validate_change(decoded->changes[0].change).error().code, "change_invalid");
}

TEST(ChangeJson, PushResponsesAndPullPagesRoundTrip) {
  PushResponse response;
  response.server_time_millis = 1'700'000'000'000;
  response.verdicts = {
      Verdict{Dot{device_id(1), 1}, VerdictKind::accepted, 10, {}},
      Verdict{Dot{device_id(1), 2}, VerdictKind::duplicate, 4, {}},
      Verdict{Dot{device_id(1), 3}, VerdictKind::refused, 0, make_error("clock_skew", "1h ahead")}};
  auto decoded_response = decode_push_response(encode_push_response(response));
  ASSERT_TRUE(decoded_response.ok()) << decoded_response.error().message;
  EXPECT_EQ(*decoded_response, response);

  const Batch batch = example_batch();
  PullPage page;
  page.server_time_millis = 5;
  page.batches = {batch.header};
  page.entries = {LogEntry{7, batch.changes[0]}, LogEntry{9, batch.changes[2]}};
  page.next_cursor = "AQAAAAAAAAAJ";
  page.has_more = true;
  auto decoded_page = decode_pull_page(encode_pull_page(page));
  ASSERT_TRUE(decoded_page.ok()) << decoded_page.error().message;
  EXPECT_EQ(*decoded_page, page);
}

}  // namespace
}  // namespace casefile::sync
