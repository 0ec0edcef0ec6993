// Two casefiled instances on one PostgreSQL database (issue #10,
// docs/scale.md), each a real process over real TLS from the same instance
// files, with real casefile-admin and casefile-device processes. Each device
// reaches the servers through a TcpFaultProxy of its own that plays the load
// balancer: the test points it at instance A or B. One throwaway PostgreSQL
// cluster serves the whole test executable (tests/support/postgres_cluster.hpp),
// a fresh schema each test. The move of an instance from SQLCipher to
// PostgreSQL (casefile-admin store migrate-to-postgres) is tested here too.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <regex>
#include <thread>

#include "server/instance.hpp"
#include "tests/e2e/e2e_fixture.hpp"
#include "tests/e2e/tcp_fault_proxy.hpp"
#include "tests/server/casefiled_process.hpp"
#include "tests/support/postgres_cluster.hpp"

namespace casefile::e2e {
namespace {

using namespace std::chrono_literals;

// The value of an unlabelled Prometheus counter or gauge; 0 when absent.
double metric(const std::string& text, const std::string& name) {
  const std::regex line("(^|\n)" + name + " ([0-9.e+]+)");
  std::smatch match;
  return std::regex_search(text, match, line) ? std::stod(match[2]) : 0.0;
}

class TwoInstancesTest : public E2eTest {
 protected:
  // Instance A (the fixture's server) and B share the instance files and the
  // PostgreSQL schema made here.
  void prepare_instance(E2eServer& server) override {
    std::ofstream config(server::InstanceLayout(server.instance()).config(), std::ios::app);
    config << "\n[store]\nkind = \"postgres\"\npostgres_url = \""
           << test_support::PostgresCluster::shared().new_schema_connection_string() << "\"\n";
  }

  void SetUp() override {
    E2eTest::SetUp();
    start_b();
  }
  void TearDown() override {
    if (HasFailure() && b_) std::cout << "casefiled B log:\n" << b_->log();
    b_.reset();
    E2eTest::TearDown();
  }

  void start_b() {
    b_ = std::make_unique<server::testing::CasefiledProcess>(
        server::InstanceLayout(server().instance()).config(), scratch() / "casefiled-b.log", server().pin());
  }
  unsigned short port_a() { return server().port(); }
  unsigned short port_b() { return b_->port(); }

  std::string metrics_b() {
    auto context = server::testing::pinned_client_context(server().pin());
    server::testing::TlsClient client(context, port_b());
    if (auto error = client.connect()) throw std::runtime_error("cannot connect to B: " + error.message());
    return client.request("GET", "/metrics", "Connection: close\r\n").body();
  }

  std::unique_ptr<server::testing::CasefiledProcess> b_;
};

// Each device syncs through A, then B, then A: every change reaches the
// other device exactly once, and concurrent pushes through both instances
// are all pulled exactly once by both.
TEST_F(TwoInstancesTest, DevicesSyncingThroughEitherInstanceConvergeAndPullEveryChangeOnce) {
  TcpFaultProxy ana_balancer(port_a());
  TcpFaultProxy ben_balancer(port_b());
  auto devices = enrol_devices({{"ana", ana_balancer.url()}, {"ben", ben_balancer.url()}});
  E2eDevice& ana = *devices[0];
  E2eDevice& ben = *devices[1];
  const std::string shared = shared_case(ana, {"ben"});
  ASSERT_EQ(ben.run({"sync"}).exit_code, 0);  // ben receives the case and its key
  std::multiset<std::string> from_ana;
  std::multiset<std::string> from_ben;
  for (int round = 0; round < 2; ++round) {
    ana_balancer.set_upstream(round % 2 == 0 ? port_b() : port_a());
    ben_balancer.set_upstream(round % 2 == 0 ? port_a() : port_b());
    const auto written_by_ana = add_notes(ana, shared, 20);
    const auto written_by_ben = add_notes(ben, shared, 20);
    from_ana.insert(written_by_ana.begin(), written_by_ana.end());
    from_ben.insert(written_by_ben.begin(), written_by_ben.end());
    // Both push at once, one through each instance.
    auto ana_sync = ana.start({"sync"});
    auto ben_sync = ben.start({"sync"});
    const auto ana_done = ana_sync->wait();
    const auto ben_done = ben_sync->wait();
    ASSERT_EQ(ana_done.exit_code, 0) << ana_done.describe();
    ASSERT_EQ(ben_done.exit_code, 0) << ben_done.describe();
  }
  // Each holds every note of the case, its own and the other's, once.
  std::multiset<std::string> every_note = from_ana;
  every_note.insert(from_ben.begin(), from_ben.end());
  expect_delivered_exactly_once(ana, ben, shared, every_note);
  expect_delivered_exactly_once(ben, ana, shared, every_note);
  EXPECT_EQ(sorted_records(ana.ok({"show"})), sorted_records(ben.ok({"show"})));
}

// A pull parked on B (a device watching) is answered with a change pushed
// through A. The device's long-poll waits 30 s; the change arrives through
// B's LISTEN connection, so it is delivered well inside that.
TEST_F(TwoInstancesTest, APullParkedOnBIsWokenByAPushToA) {
  TcpFaultProxy ana_balancer(port_a());
  TcpFaultProxy ben_balancer(port_b());
  auto devices = enrol_devices({{"ana", ana_balancer.url()}, {"ben", ben_balancer.url()}});
  E2eDevice& ana = *devices[0];
  E2eDevice& ben = *devices[1];
  const std::string shared = shared_case(ana, {"ben"});
  ASSERT_EQ(ben.run({"sync"}).exit_code, 0);

  auto watching = ben.start({"sync", "--watch", "120"});
  const auto give_up = std::chrono::steady_clock::now() + server::testing::kTestDeadline;
  while (metric(metrics_b(), "casefile_sync_pulls_waiting") < 1) {
    ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "ben's pull never parked on B";
    ASSERT_TRUE(watching->running());
    std::this_thread::sleep_for(50ms);
  }
  const double pulled_before = metric(metrics_b(), "casefile_sync_pulled_entries_total");
  const auto note = add_notes(ana, shared, 1);
  ASSERT_EQ(ana.run({"sync"}).exit_code, 0);  // through A
  const auto pushed_at = std::chrono::steady_clock::now();
  while (metric(metrics_b(), "casefile_sync_pulled_entries_total") <= pulled_before) {
    ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "the parked pull on B never returned the change";
    std::this_thread::sleep_for(20ms);
  }
  // Less than the long-poll's own 30 s wait: B's notifier was woken by A's
  // commit, not by the pull's deadline.
  EXPECT_LT(std::chrono::steady_clock::now() - pushed_at, 25s);
  watching->kill();
  watching->wait();
  const auto shown = ben.ok({"show"});
  std::multiset<std::string> held;
  for (const auto& id : record_ids(shown.at("records").as_array()))
    if (note.contains(id)) held.insert(id);
  EXPECT_EQ(held, note);
}

// A is SIGKILLed while a device pushes through it; the balancer sends the
// device's retries to B. Nothing is lost or duplicated.
TEST_F(TwoInstancesTest, AnInstanceKilledMidPushLosesAndDuplicatesNothing) {
  TcpFaultProxy ana_balancer(port_a());
  TcpFaultProxy ben_balancer(port_b());
  auto devices = enrol_devices({{"ana", ana_balancer.url()}, {"ben", ben_balancer.url()}});
  E2eDevice& ana = *devices[0];
  E2eDevice& ben = *devices[1];
  const std::string shared = shared_case(ana, {"ben"});
  const auto written = add_notes(ana, shared, 300);

  const std::uint64_t start = ana_balancer.bytes_forwarded();
  auto sync = ana.start({"sync", "--batch", "50"});
  bool struck = false;
  const auto give_up = std::chrono::steady_clock::now() + kCommandDeadline;
  while (sync->running() && std::chrono::steady_clock::now() < give_up) {
    if (ana_balancer.bytes_forwarded() - start >= 30'000) {
      server().kill();
      ana_balancer.set_upstream(port_b());
      ana_balancer.cut_all();
      struck = true;
      break;
    }
    std::this_thread::sleep_for(1ms);
  }
  const auto result = sync->wait();
  ASSERT_TRUE(struck) << "the sync ended before the kill point: " << result.describe();
  ASSERT_FALSE(result.timed_out) << result.describe();
  // 0: its retries reached B and it finished; 5: it gave up, and the next sync does.
  ASSERT_TRUE(result.exit_code == 0 || result.exit_code == 5) << result.describe();
  expect_delivered_exactly_once(ana, ben, shared, written);
}

// An instance that ran on SQLCipher moves to PostgreSQL with
// `casefile-admin store migrate-to-postgres` (twice: the second run, as a
// resumed one, copies nothing more). Its devices continue from their cursors:
// changes pushed before the move and not yet pulled, and changes pushed after
// it, each reach the other device exactly once, and the audit chain is whole.
class StoreMigrationTest : public E2eTest {};

TEST_F(StoreMigrationTest, DevicesContinueWithoutResyncAfterMovingToPostgres) {
  auto devices = enrol_devices({{"ana"}, {"ben"}});
  E2eDevice& ana = *devices[0];
  E2eDevice& ben = *devices[1];
  const std::string shared = shared_case(ana, {"ben"});
  std::multiset<std::string> written = add_notes(ana, shared, 20);
  ASSERT_EQ(ana.run({"sync"}).exit_code, 0);
  ASSERT_EQ(ben.run({"sync"}).exit_code, 0);
  const auto unpulled = add_notes(ana, shared, 10);  // pushed, not yet pulled by ben
  written.insert(unpulled.begin(), unpulled.end());
  ASSERT_EQ(ana.run({"sync"}).exit_code, 0);

  server().kill();
  const std::string url = test_support::PostgresCluster::shared().new_schema_connection_string();
  const auto first = server().admin_ok({"store", "migrate-to-postgres", "--postgres-url", url});
  EXPECT_GT(first.at("copied").at("change_log").as_int64(), 30);
  const auto again = server().admin_ok({"store", "migrate-to-postgres", "--postgres-url", url});
  for (const auto& [table, rows] : again.at("copied").as_object()) EXPECT_EQ(rows.as_int64(), 0) << table;
  {
    std::ofstream config(server::InstanceLayout(server().instance()).config(), std::ios::app);
    config << "\n[store]\nkind = \"postgres\"\npostgres_url = \"" << url << "\"\n";
  }
  server().start();

  const auto after = add_notes(ana, shared, 5);
  written.insert(after.begin(), after.end());
  expect_delivered_exactly_once(ana, ben, shared, written);
  const auto verified = server().admin_ok({"audit", "--verify"});
  EXPECT_GT(verified.at("entries").as_int64(), 0) << boost::json::serialize(verified);
}

}  // namespace
}  // namespace casefile::e2e
