// A device syncing through a network that cuts, stalls and truncates its
// connections mid-batch (TcpFaultProxy): repeated `sync` completes without
// losing or duplicating a change.
#include <gtest/gtest.h>

#include <iostream>

#include "tests/e2e/e2e_fixture.hpp"
#include "tests/e2e/tcp_fault_proxy.hpp"

namespace casefile::e2e {
namespace {

using namespace std::chrono_literals;

constexpr int kFaultsOfEachKind = 3;
// Byte counts are drawn in this range: past the TLS handshake and sign-in,
// inside the push batches (50 notes each) and the pull pages that follow.
constexpr std::uint64_t kFewestBytes = 2'000;
constexpr std::uint64_t kMostBytes = 60'000;
constexpr int kMostSyncs = 30;

class NetworkFaultTest : public E2eTest {};

TEST_F(NetworkFaultTest, SyncThroughCutStalledAndTruncatedConnectionsCompletesWithoutLoss) {
  TcpFaultProxy proxy(server().port());
  auto devices = enrol_devices({{"alice", proxy.url()}, {"bob"}});
  E2eDevice& alice = *devices[0];
  E2eDevice& bob = *devices[1];
  const std::string shared = shared_case(alice, {"bob"});
  std::multiset<std::string> written = add_notes(alice, shared, 800);

  std::vector<Fault> faults;
  for (const auto action : {FaultAction::cut, FaultAction::stall, FaultAction::truncate}) {
    for (int i = 0; i < kFaultsOfEachKind; ++i) {
      Fault fault;
      fault.action = action;
      // Requests carry the batches; answers carry verdicts and pull pages.
      fault.direction =
          std::bernoulli_distribution(0.7)(random()) ? Direction::to_server : Direction::to_device;
      fault.after_bytes = std::uniform_int_distribution<std::uint64_t>(
          kFewestBytes, fault.direction == Direction::to_server ? kMostBytes : kMostBytes / 10)(random());
      fault.stall_for = std::chrono::milliseconds(std::uniform_int_distribution<int>(500, 3000)(random()));
      faults.push_back(fault);
    }
  }
  std::shuffle(faults.begin(), faults.end(), random());
  for (const auto& fault : faults) {
    std::cout << "fault: " << describe(fault) << std::endl;
    proxy.queue_fault(fault);
  }

  // Sync until a sync succeeds with every fault spent; add notes when the
  // outbox empties before the faults are, so that they strike mid-batch.
  int syncs = 0;
  for (bool done = false; !done && syncs < kMostSyncs; ++syncs) {
    const auto result = alice.run({"sync", "--batch", "50"});
    ASSERT_FALSE(result.timed_out) << result.describe();
    std::cout << "sync " << syncs << ": exit " << result.exit_code << ", " << proxy.faults_applied()
              << " faults struck" << std::endl;
    // A sync either completes or gives up after its retries (5); never anything else.
    ASSERT_TRUE(result.exit_code == 0 || result.exit_code == 5) << result.describe();
    if (result.exit_code == 0 && proxy.faults_pending() == 0) done = true;
    if (result.exit_code == 0 && !done) {
      const auto more = add_notes(alice, shared, 200);
      written.insert(more.begin(), more.end());
    }
  }
  EXPECT_EQ(proxy.faults_applied(), faults.size());
  EXPECT_EQ(proxy.faults_pending(), 0u);
  expect_delivered_exactly_once(alice, bob, shared, written);
}

}  // namespace
}  // namespace casefile::e2e
