#include "server/sync_api/change_notifier.hpp"

#include <gtest/gtest.h>

#include <future>

#include "sync_api_test_support.hpp"

namespace casefile::server {
namespace {

using testing::case_number;
using Clock = ChangeNotifier::Clock;

constexpr auto kBound = std::chrono::seconds(60);

struct Wake {
  std::shared_ptr<std::promise<WakeReason>> promise = std::make_shared<std::promise<WakeReason>>();
  std::future<WakeReason> future = promise->get_future();
  ChangeNotifier::Callback callback() {
    return [promise = promise](WakeReason reason) { promise->set_value(reason); };
  }
  bool woken() { return future.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready; }
};

TEST(ChangeNotifierTest, ACommitWakesOnlyTheWaitersOfItsCases) {
  ChangeNotifier notifier;
  Wake first;
  Wake second;
  const auto far = Clock::now() + std::chrono::hours(1);
  notifier.wait({case_number(1)}, notifier.generation(), far, first.callback());
  notifier.wait({case_number(2), case_number(3)}, notifier.generation(), far, second.callback());
  notifier.notify({case_number(3)});
  ASSERT_EQ(second.future.wait_for(kBound), std::future_status::ready);
  EXPECT_EQ(second.future.get(), WakeReason::commit);
  EXPECT_FALSE(first.woken());
  EXPECT_EQ(notifier.waiting(), 1u);
  notifier.close();
  EXPECT_EQ(first.future.get(), WakeReason::closing);
}

TEST(ChangeNotifierTest, ACommitBetweenReadingTheLogAndWaitingWakesAtOnce) {
  ChangeNotifier notifier;
  const std::uint64_t seen = notifier.generation();
  notifier.notify({case_number(1)});  // lands after the waiter read the log
  Wake missed;
  notifier.wait({case_number(1)}, seen, Clock::now() + std::chrono::hours(1), missed.callback());
  ASSERT_TRUE(missed.woken());
  EXPECT_EQ(missed.future.get(), WakeReason::commit);
  Wake unrelated;
  notifier.wait({case_number(2)}, seen, Clock::now() + std::chrono::hours(1), unrelated.callback());
  EXPECT_FALSE(unrelated.woken());
  EXPECT_EQ(notifier.waiting(), 1u);
}

// Another instance's commits of unknown cases (a lost LISTEN connection):
// every waiter wakes, and so does one that read the log before.
TEST(ChangeNotifierTest, NotifyAllWakesEveryWaiterAndOneThatReadTheLogBefore) {
  ChangeNotifier notifier;
  const std::uint64_t seen = notifier.generation();
  Wake parked;
  notifier.wait({case_number(1)}, seen, Clock::now() + std::chrono::hours(1), parked.callback());
  notifier.notify_all();
  ASSERT_EQ(parked.future.wait_for(kBound), std::future_status::ready);
  EXPECT_EQ(parked.future.get(), WakeReason::commit);
  Wake late;
  notifier.wait({case_number(2)}, seen, Clock::now() + std::chrono::hours(1), late.callback());
  ASSERT_TRUE(late.woken());
  Wake fresh;
  notifier.wait({case_number(2)}, notifier.generation(), Clock::now() + std::chrono::hours(1),
                fresh.callback());
  EXPECT_FALSE(fresh.woken());
  EXPECT_EQ(notifier.waiting(), 1u);
}

TEST(ChangeNotifierTest, AWaiterWithoutACommitIsWokenAtItsDeadline) {
  ChangeNotifier notifier;
  Wake later;
  Wake sooner;
  notifier.wait({case_number(1)}, 0, Clock::now() + std::chrono::hours(1), later.callback());
  notifier.wait({case_number(1)}, 0, Clock::now() + std::chrono::milliseconds(50), sooner.callback());
  ASSERT_EQ(sooner.future.wait_for(kBound), std::future_status::ready);
  EXPECT_EQ(sooner.future.get(), WakeReason::deadline);
  EXPECT_FALSE(later.woken());
}

TEST(ChangeNotifierTest, AClosedNotifierParksNobody) {
  ChangeNotifier notifier;
  notifier.close();
  Wake wake;
  notifier.wait({case_number(1)}, 0, Clock::now() + std::chrono::hours(1), wake.callback());
  ASSERT_TRUE(wake.woken());
  EXPECT_EQ(wake.future.get(), WakeReason::closing);
  EXPECT_EQ(notifier.waiting(), 0u);
}

}  // namespace
}  // namespace casefile::server
