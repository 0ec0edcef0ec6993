// The server's push and pull paths over the in-memory store.
#include <gtest/gtest.h>

#include "sync/cursor.hpp"
#include "sync/memory_store.hpp"
#include "sync/pull.hpp"
#include "sync/push.hpp"
#include "tests/sync/sync_test_support.hpp"

namespace casefile::sync {
namespace {

using testing::batch_id;
using testing::case_id;
using testing::device_id;
using testing::device_key;
using testing::make_change;
using testing::record_key;
using testing::set_op;

constexpr std::uint64_t kNow = 1'700'000'000'000;

Change change_by(std::uint64_t device, std::uint64_t sequence, std::uint64_t case_number, std::string value,
                 std::uint64_t millis = kNow) {
  return make_change(Dot{device_id(device), sequence}, record_key(case_number, 1), Hlc::from_parts(millis, 0),
                     {set_op("stage", std::move(value))});
}

PushContext context_for(std::uint64_t device, std::set<CaseId> cases = {case_id(1), case_id(2)}) {
  PushContext context;
  context.device = device_id(device);
  context.device_public_key = device_key(device).public_key();
  context.writable_cases = std::move(cases);
  context.server_now_millis = kNow;
  return context;
}

Batch sealed(std::uint64_t id, std::uint64_t device, std::vector<Change> changes) {
  auto batch = seal_batch(batch_id(id), device_key(device), device_id(device), std::move(changes));
  EXPECT_TRUE(batch.ok());
  return std::move(*batch);
}

TEST(Push, AcceptsNewChangesWithConsecutiveSequences) {
  MemoryServerStore store;
  auto response =
      handle_push(store, context_for(1), sealed(1, 1, {change_by(1, 1, 1, "a"), change_by(1, 2, 1, "b")}));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->verdicts[0].kind, VerdictKind::accepted);
  EXPECT_EQ(response->verdicts[0].sequence, 1u);
  EXPECT_EQ(response->verdicts[1].sequence, 2u);
  EXPECT_EQ(response->server_time_millis, kNow);
}

TEST(Push, IsIdempotentAcrossServerRestart) {
  MemoryServerStore store;
  const Batch batch = sealed(1, 1, {change_by(1, 1, 1, "a")});
  auto first = handle_push(store, context_for(1), batch);
  ASSERT_TRUE(first.ok());
  // Nothing but the store survives between calls: this is a restarted server.
  const Batch resealed = sealed(2, 1, {change_by(1, 1, 1, "a")});
  auto second = handle_push(store, context_for(1), resealed);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->verdicts[0].kind, VerdictKind::duplicate);
  EXPECT_EQ(second->verdicts[0].sequence, first->verdicts[0].sequence);
  EXPECT_EQ(store.head(), 1u);
}

TEST(Push, RefusesAReplayedIdWithAlteredContent) {
  MemoryServerStore store;
  ASSERT_TRUE(handle_push(store, context_for(1), sealed(1, 1, {change_by(1, 1, 1, "a")})).ok());
  auto replay = handle_push(store, context_for(1), sealed(2, 1, {change_by(1, 1, 1, "forged")}));
  ASSERT_TRUE(replay.ok());
  EXPECT_EQ(replay->verdicts[0].kind, VerdictKind::refused);
  EXPECT_EQ(replay->verdicts[0].reason.code, "change_id_reused");
  EXPECT_EQ(store.records().begin()->second.state.field("stage")->winner()->value,
            FieldValue{std::string("a")});
}

TEST(Push, ARefusedChangeDoesNotBlockTheRestOfItsBatch) {
  MemoryServerStore store;
  auto response =
      handle_push(store, context_for(1, {case_id(1)}),
                  sealed(1, 1,
                         {change_by(1, 1, 1, "a"), change_by(1, 2, 2, "not mine"),
                          change_by(1, 3, 1, "ahead", kNow + 3'600'000), change_by(1, 4, 1, "c")}));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->verdicts[0].kind, VerdictKind::accepted);
  EXPECT_EQ(response->verdicts[1].reason.code, "case_not_member");
  EXPECT_EQ(response->verdicts[2].reason.code, "clock_skew");
  EXPECT_NE(response->verdicts[2].reason.message.find("1h 0m 0.000s"), std::string::npos);
  EXPECT_EQ(response->verdicts[3].kind, VerdictKind::accepted);
  EXPECT_EQ(response->verdicts[3].sequence, 2u);
}

TEST(Push, RefusesEveryChangeOfABatchWithABadSignatureOrAnotherAuthor) {
  MemoryServerStore store;
  Batch batch = sealed(1, 1, {change_by(1, 1, 1, "a")});
  batch.header.signature[0] ^= 1;
  auto forged = handle_push(store, context_for(1), batch);
  ASSERT_TRUE(forged.ok());
  EXPECT_EQ(forged->verdicts[0].reason.code, "batch_signature_invalid");
  auto stolen = handle_push(store, context_for(2), sealed(2, 1, {change_by(1, 1, 1, "a")}));
  ASSERT_TRUE(stolen.ok());
  EXPECT_EQ(stolen->verdicts[0].reason.code, "author_mismatch");
  EXPECT_EQ(store.head(), 0u);
}

TEST(Push, RefusesAChangeThatIsNotALeafOfItsSignedBatch) {
  MemoryServerStore store;
  Batch batch = sealed(1, 1, {change_by(1, 1, 1, "a"), change_by(1, 2, 1, "b")});
  batch.changes[1].change.operations[0].value = std::string("swapped");
  auto response = handle_push(store, context_for(1), batch);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->verdicts[0].kind, VerdictKind::accepted);
  EXPECT_EQ(response->verdicts[1].reason.code, "inclusion_proof_invalid");
}

TEST(Push, AFailedCommitLeavesNothingBehind) {
  MemoryServerStore store;
  store.fail_next_commits(1);
  auto failed = handle_push(store, context_for(1), sealed(1, 1, {change_by(1, 1, 1, "a")}));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, "store_unavailable");
  EXPECT_EQ(store.head(), 0u);
  EXPECT_TRUE(store.records().empty());
  auto retried = handle_push(store, context_for(1), sealed(1, 1, {change_by(1, 1, 1, "a")}));
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(retried->verdicts[0].kind, VerdictKind::accepted);
}

class RefuseFinalized final : public ChangeValidator {
 public:
  Status validate(const Change&, const RecordState* current) const override {
    if (current && current->field("stage") &&
        current->field("stage")->winner()->value == FieldValue{std::string("finalized")}) {
      return make_error("record_finalized", "finalized records are immutable");
    }
    return ok_status();
  }
};

TEST(Push, CallsTheValidationHookWithTheCurrentState) {
  MemoryServerStore store;
  RefuseFinalized validator;
  PushContext context = context_for(1);
  context.validator = &validator;
  auto response = handle_push(store, context,
                              sealed(1, 1, {change_by(1, 1, 1, "finalized"), change_by(1, 2, 1, "edit")}));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->verdicts[0].kind, VerdictKind::accepted);
  EXPECT_EQ(response->verdicts[1].reason.code, "record_finalized");
}

TEST(Pull, PagesFollowTheCursorAndSkipUnreadableCases) {
  MemoryServerStore store;
  std::vector<Change> changes;
  for (std::uint64_t i = 1; i <= 6; ++i)
    changes.push_back(change_by(1, i, i % 2 == 0 ? 2 : 1, std::to_string(i)));
  ASSERT_TRUE(handle_push(store, context_for(1), sealed(1, 1, changes)).ok());
  auto first = handle_pull(store, {case_id(2)}, "", 2, kNow);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->entries.size(), 2u);
  EXPECT_EQ(first->entries[0].sequence, 2u);
  EXPECT_EQ(first->entries[1].sequence, 4u);
  EXPECT_TRUE(first->has_more);
  ASSERT_EQ(first->batches.size(), 1u);
  auto second = handle_pull(store, {case_id(2)}, first->next_cursor, 2, kNow);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->entries.size(), 1u);
  EXPECT_EQ(second->entries[0].sequence, 6u);
  EXPECT_FALSE(second->has_more);
  auto third = handle_pull(store, {case_id(2)}, second->next_cursor, 2, kNow);
  ASSERT_TRUE(third.ok());
  EXPECT_TRUE(third->entries.empty());
  EXPECT_EQ(third->next_cursor, second->next_cursor);
}

TEST(Pull, AReaderIsNotSentItsOwnChangesButItsCursorPassesThem) {
  MemoryServerStore store;
  ASSERT_TRUE(handle_push(store, context_for(1), sealed(1, 1, {change_by(1, 1, 1, "mine")})).ok());
  ASSERT_TRUE(handle_push(store, context_for(2), sealed(2, 2, {change_by(2, 1, 1, "theirs")})).ok());
  ASSERT_TRUE(handle_push(store, context_for(1), sealed(3, 1, {change_by(1, 2, 1, "mine again")})).ok());

  auto page = handle_pull(store, {case_id(1)}, "", 10, kNow, device_id(1));
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->entries.size(), 1u);
  EXPECT_EQ(page->entries[0].change.change.author(), device_id(2));
  ASSERT_EQ(page->batches.size(), 1u);
  EXPECT_EQ(page->batches[0].author, device_id(2));
  EXPECT_EQ(page->next_cursor, encode_cursor(3));
  EXPECT_FALSE(page->has_more);
  // Everyone else gets all three.
  EXPECT_EQ(handle_pull(store, {case_id(1)}, "", 10, kNow, device_id(3))->entries.size(), 3u);
}

TEST(Pull, RefusesMalformedCursorsAndCursorsAheadOfTheLog) {
  MemoryServerStore store;
  EXPECT_EQ(handle_pull(store, {case_id(1)}, "not a cursor", 10, kNow).error().code, "invalid_cursor");
  EXPECT_EQ(handle_pull(store, {case_id(1)}, encode_cursor(5), 10, kNow).error().code, "invalid_cursor");
  auto decoded = decode_cursor(encode_cursor(123456789));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, 123456789u);
}

}  // namespace
}  // namespace casefile::sync
