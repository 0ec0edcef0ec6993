// Devices syncing through a network that cuts (RST), stalls, truncates and
// drops their connections mid-batch and delays every chunk (TcpFaultProxy):
// repeated `sync` completes without losing or duplicating a change, and the
// devices converge. The variant with drops (each costs a device its 30 s
// read timeout) runs in make soak.
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
// The soak variant: faults of each kind, and the delay of every chunk.
constexpr int kSoakFaultsOfEachKind = 3;
constexpr auto kFewestDelay = 0ms;
constexpr auto kMostDelay = 15ms;

// Faults of each of `actions`, `of_each` of them, with seeded directions,
// byte counts and stall times, in a seeded order.
std::vector<Fault> draw_faults(const std::vector<FaultAction>& actions, int of_each,
                               std::mt19937_64& random) {
  std::vector<Fault> faults;
  for (const auto action : actions) {
    for (int i = 0; i < of_each; ++i) {
      Fault fault;
      fault.action = action;
      // Requests carry the batches; answers carry verdicts and pull pages.
      fault.direction =
          std::bernoulli_distribution(0.7)(random) ? Direction::to_server : Direction::to_device;
      fault.after_bytes = std::uniform_int_distribution<std::uint64_t>(
          kFewestBytes, fault.direction == Direction::to_server ? kMostBytes : kMostBytes / 10)(random);
      fault.stall_for = std::chrono::milliseconds(std::uniform_int_distribution<int>(500, 3000)(random));
      faults.push_back(fault);
    }
  }
  std::shuffle(faults.begin(), faults.end(), random);
  return faults;
}

class NetworkFaultTest : public E2eTest {};

TEST_F(NetworkFaultTest, SyncThroughCutStalledAndTruncatedConnectionsCompletesWithoutLoss) {
  TcpFaultProxy proxy(server().port());
  auto devices = enrol_devices({{"alice", proxy.url()}, {"bob"}});
  E2eDevice& alice = *devices[0];
  E2eDevice& bob = *devices[1];
  const std::string shared = shared_case(alice, {"bob"});
  std::multiset<std::string> written = add_notes(alice, shared, 800);

  const std::vector<Fault> faults =
      draw_faults({FaultAction::cut, FaultAction::stall, FaultAction::truncate}, kFaultsOfEachKind, random());
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

TEST_F(NetworkFaultTest,
       ThreeDevicesThroughDroppedResetTruncatedStalledAndDelayedConnectionsConvergeWithoutLoss) {
  TcpFaultProxy proxy(server().port());
  proxy.set_delays(kFewestDelay, kMostDelay, seed());
  auto devices = enrol_devices({{"alice", proxy.url()}, {"bob", proxy.url()}, {"carol", proxy.url()}});
  const std::string shared = shared_case(*devices[0], {"bob", "carol"});
  for (std::size_t i = 1; i < devices.size(); ++i) devices[i]->ok({"sync"});
  std::multiset<std::string> written;
  for (auto& device : devices) {
    const auto added = add_notes(*device, shared, 300);
    written.insert(added.begin(), added.end());
  }

  const std::vector<Fault> faults =
      draw_faults({FaultAction::cut, FaultAction::stall, FaultAction::truncate, FaultAction::drop},
                  kSoakFaultsOfEachKind, random());
  for (const auto& fault : faults) {
    std::cout << "fault: " << describe(fault) << std::endl;
    proxy.queue_fault(fault);
  }

  // The devices sync in turn, each taking the next faults on its
  // connections, until every fault is spent and a whole round of syncs
  // succeeded after it; a device whose sync succeeded writes more notes.
  bool clean_round = false;
  for (int round = 0; !clean_round && round < kMostSyncs; ++round) {
    clean_round = proxy.faults_pending() == 0;
    for (auto& device : devices) {
      const auto result = device->run({"sync", "--batch", "50"});
      ASSERT_FALSE(result.timed_out) << result.describe();
      std::cout << "round " << round << ", " << device->name() << ": exit " << result.exit_code << ", "
                << proxy.faults_applied() << " faults struck" << std::endl;
      ASSERT_TRUE(result.exit_code == 0 || result.exit_code == 5) << result.describe();
      clean_round = clean_round && result.exit_code == 0;
      if (result.exit_code == 0 && proxy.faults_pending() > 0) {
        const auto more = add_notes(*device, shared, 100);
        written.insert(more.begin(), more.end());
      }
    }
  }
  EXPECT_TRUE(clean_round);
  EXPECT_EQ(proxy.faults_applied(), faults.size());
  EXPECT_GT(proxy.bytes_dropped(), 0u);
  EXPECT_GT(proxy.chunks_delayed(), 0u);

  // Every device then holds every note exactly once, and the same records.
  std::vector<json::array> states;
  for (auto& device : devices) {
    ASSERT_EQ(device->run({"sync"}).exit_code, 0);
    const auto status = device->ok({"status"});
    EXPECT_EQ(status.at("outbox_depth"), 0) << json::serialize(status);
    EXPECT_EQ(status.at("quarantined"), 0) << json::serialize(status);
  }
  for (auto& device : devices) {
    device->ok({"sync"});
    const auto notes = device->ok({"show", "--case", shared, "--collection", "notes"});
    EXPECT_TRUE(record_ids(notes.at("records").as_array()) == written)
        << device->name() << " holds " << notes.at("records").as_array().size() << " notes of "
        << written.size();
    states.push_back(without_sealed_plaintext(sorted_records(device->ok({"show", "--case", shared}))));
  }
  for (std::size_t i = 1; i < states.size(); ++i) {
    EXPECT_TRUE(states[i] == states[0]) << devices[i]->name() << " differs from " << devices[0]->name();
  }
}

}  // namespace
}  // namespace casefile::e2e
