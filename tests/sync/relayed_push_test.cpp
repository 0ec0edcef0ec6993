// Relayed pushes (sync/push.hpp): a device healing a restored server sends
// another device's changes with their original batch signature and
// inclusion proofs; the server accepts them once, under the author's key.
#include <gtest/gtest.h>

#include "sync/memory_store.hpp"
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

Change change_by(std::uint64_t device, std::uint64_t sequence, std::uint64_t case_number, std::string value) {
  return make_change(Dot{device_id(device), sequence}, record_key(case_number, sequence),
                     Hlc::from_parts(kNow, 0), {set_op("stage", std::move(value))});
}

// Devices 1 and 2 are certified; device 9 never was.
PushContext context_for(std::uint64_t device, std::set<CaseId> cases = {case_id(1), case_id(2)}) {
  PushContext context;
  context.device = device_id(device);
  context.device_public_key = device_key(device).public_key();
  context.writable_cases = std::move(cases);
  context.server_now_millis = kNow;
  context.relayed_author_key = [](const DeviceId& author) -> Result<std::optional<crypto::Ed25519PublicKey>> {
    for (std::uint64_t known : {1, 2}) {
      if (author == device_id(known)) return std::optional(device_key(known).public_key());
    }
    return std::optional<crypto::Ed25519PublicKey>();
  };
  return context;
}

Batch sealed(std::uint64_t id, std::uint64_t device, std::vector<Change> changes) {
  auto batch = seal_batch(batch_id(id), device_key(device), device_id(device), std::move(changes));
  EXPECT_TRUE(batch.ok());
  return std::move(*batch);
}

TEST(RelayedPush, AnotherDevicesChangesAreAcceptedOnceWithTheirOriginalSignature) {
  const Batch original =
      sealed(1, 1, {change_by(1, 1, 1, "a"), change_by(1, 2, 1, "b"), change_by(1, 3, 2, "c")});
  // The restored server lacks changes 2 and 3; device 2 pulled them before.
  MemoryServerStore restored;
  ASSERT_TRUE(handle_push(restored, context_for(1), Batch{original.header, {original.changes[0]}}).ok());
  const Batch relayed{original.header, {original.changes[1], original.changes[2]}};
  auto answer = handle_push(restored, context_for(2), relayed);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  ASSERT_EQ(answer->verdicts.size(), 2u);
  EXPECT_EQ(answer->verdicts[0].kind, VerdictKind::accepted);
  EXPECT_EQ(answer->verdicts[1].kind, VerdictKind::accepted);

  auto log = restored.read_log(0, {case_id(1), case_id(2)}, 10);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->entries.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(log->entries[i].change, original.changes[i]);
  auto headers = restored.load_batches({{device_id(1), batch_id(1)}});
  ASSERT_TRUE(headers.ok());
  ASSERT_EQ(headers->size(), 1u);
  EXPECT_EQ(headers->front(), original.header);  // the author's signature, not the relayer's

  // Relayed again, by another device or by the author: stored once.
  auto again = handle_push(restored, context_for(2), relayed);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->verdicts[0].kind, VerdictKind::duplicate);
  auto by_author = handle_push(restored, context_for(1), original);
  ASSERT_TRUE(by_author.ok());
  for (const Verdict& verdict : by_author->verdicts) EXPECT_EQ(verdict.kind, VerdictKind::duplicate);
  EXPECT_EQ(restored.head(), 3u);
}

TEST(RelayedPush, AForgedUnknownOrAlteredRelayIsRefused) {
  MemoryServerStore store;
  Batch forged = sealed(1, 1, {change_by(1, 1, 1, "a")});
  forged.header.signature[0] ^= 1;
  auto refused = handle_push(store, context_for(2), forged);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->verdicts[0].reason.code, "batch_signature_invalid");

  auto unknown = handle_push(store, context_for(2), sealed(2, 9, {change_by(9, 1, 1, "a")}));
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->verdicts[0].reason.code, "author_unknown");

  Batch altered = sealed(3, 1, {change_by(1, 1, 1, "a"), change_by(1, 2, 1, "b")});
  altered.changes[1].change = change_by(1, 2, 1, "altered");
  auto answer = handle_push(store, context_for(2), altered);
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->verdicts[0].kind, VerdictKind::accepted);
  EXPECT_EQ(answer->verdicts[1].reason.code, "inclusion_proof_invalid");
  EXPECT_EQ(store.head(), 1u);
}

TEST(RelayedPush, TheRelayingDeviceMustBeAMemberOfTheCase) {
  MemoryServerStore store;
  auto answer = handle_push(store, context_for(2, {case_id(2)}), sealed(1, 1, {change_by(1, 1, 1, "a")}));
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->verdicts[0].reason.code, "case_not_member");
  EXPECT_EQ(store.head(), 0u);
}

TEST(RelayedPush, AFailingAuthorLookupFailsThePushWithoutAnswering) {
  MemoryServerStore store;
  PushContext context = context_for(2);
  context.relayed_author_key = [](const DeviceId&) -> Result<std::optional<crypto::Ed25519PublicKey>> {
    return make_error("store_unavailable", "control store down");
  };
  auto answer = handle_push(store, context, sealed(1, 1, {change_by(1, 1, 1, "a")}));
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code, "store_unavailable");
}

}  // namespace
}  // namespace casefile::sync
