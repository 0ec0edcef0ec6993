// PostgresServerStore beyond the conformance suite: several writers, each on
// its own store object and connection (as several casefiled instances are),
// against readers pulling at the same time; the migrations' version table;
// the instance epoch; and a connection string's password kept out of errors.
#include "server/store/postgres_server_store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "server/store/postgres_change_listener.hpp"
#include "server/store/postgres_connection.hpp"
#include "server/store/postgres_schema_migrations.hpp"
#include "tests/server/store/postgres_server_store_backend.hpp"
#include "tests/server/store/store_test_data.hpp"
#include "tests/support/postgres_cluster.hpp"

namespace casefile::server::testing {
namespace {

using test_support::PostgresCluster;

std::unique_ptr<postgres::Connection> connect(const std::string& connection_string) {
  auto connection = postgres::Connection::open(PostgresCluster::secret(connection_string));
  if (!connection.ok()) throw std::runtime_error("connect: " + connection.error().message);
  return std::move(connection).value();
}

// What one reader saw: every entry of its cases, in the order pulled.
struct PulledLog {
  std::vector<std::uint64_t> sequences;
  std::vector<sync::ChangeId> changes;
};

TEST(PostgresServerStore, ConcurrentWritersOnSeparateConnectionsAreReadExactlyOnceByEveryCursor) {
  PostgresBackend backend;
  constexpr int kWriters = 4;
  constexpr int kCommitsEach = 15;
  constexpr int kCases = 3;
  // Readers follow different case sets and page sizes, so that cursors stop
  // at different places while the writers race.
  const std::vector<std::set<sync::CaseId>> reader_cases = {
      {case_id(1), case_id(2), case_id(3)}, {case_id(1)}, {case_id(2), case_id(3)}};
  const std::vector<std::size_t> reader_limits = {5, 2, 3};

  std::atomic<int> writers_running{kWriters};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int writer = 0; writer < kWriters; ++writer) {
    threads.emplace_back([&, writer] {
      std::unique_ptr<PostgresServerStore> store;
      try {
        store = backend.open_postgres();  // one instance's store: its own connections
      } catch (const std::exception&) {
        ++failures;
        --writers_running;
        return;
      }
      const std::uint64_t device = 100 + writer;
      std::uint64_t device_sequence = 1;
      for (int i = 0; i < kCommitsEach; ++i) {
        std::vector<sync::RecordKey> records;
        const int changes = 1 + (writer + i) % 3;
        for (int c = 0; c < changes; ++c)
          records.push_back(record_key(1 + (writer + i + c) % kCases, device * 1000 + device_sequence + c));
        auto sequences =
            store->commit_push(write_commit(*store, device, device * 1000 + i, device_sequence, records));
        if (!sequences.ok()) ++failures;
        device_sequence += records.size();
      }
      --writers_running;
    });
  }
  std::vector<PulledLog> pulled(reader_cases.size());
  for (std::size_t reader = 0; reader < reader_cases.size(); ++reader) {
    threads.emplace_back([&, reader] {
      std::unique_ptr<PostgresServerStore> store;
      try {
        store = backend.open_postgres();
      } catch (const std::exception&) {
        ++failures;
        return;
      }
      std::uint64_t cursor = 0;
      for (;;) {
        // Read the flag first: a pull that reaches the head after every
        // writer finished has seen everything.
        const bool writers_done = writers_running.load() == 0;
        auto slice = store->read_log(cursor, reader_cases[reader], reader_limits[reader]);
        if (!slice.ok()) {
          ++failures;
          return;
        }
        for (const sync::LogEntry& entry : slice->entries) {
          pulled[reader].sequences.push_back(entry.sequence);
          pulled[reader].changes.push_back(entry.change.change.id);
        }
        cursor = slice->scanned_through;
        if (writers_done && cursor >= slice->head) return;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_EQ(failures.load(), 0);

  // The committed log, read once at rest.
  auto store = backend.open_postgres();
  const std::set<sync::CaseId> all_cases = reader_cases[0];
  auto whole = store->read_log(0, all_cases, 100000);
  ASSERT_TRUE(whole.ok());
  std::size_t expected_total = 0;
  for (int writer = 0; writer < kWriters; ++writer)
    for (int i = 0; i < kCommitsEach; ++i) expected_total += 1 + (writer + i) % 3;
  ASSERT_EQ(whole->entries.size(), expected_total);
  for (std::size_t i = 0; i < whole->entries.size(); ++i) EXPECT_EQ(whole->entries[i].sequence, i + 1);

  for (std::size_t reader = 0; reader < reader_cases.size(); ++reader) {
    std::vector<std::uint64_t> expected_sequences;
    std::vector<sync::ChangeId> expected_changes;
    for (const sync::LogEntry& entry : whole->entries) {
      if (!reader_cases[reader].contains(entry.change.change.record.case_id)) continue;
      expected_sequences.push_back(entry.sequence);
      expected_changes.push_back(entry.change.change.id);
    }
    // Exactly once, in ascending order: nothing skipped, repeated or reordered.
    EXPECT_EQ(pulled[reader].sequences, expected_sequences) << "reader " << reader;
    EXPECT_EQ(pulled[reader].changes, expected_changes) << "reader " << reader;
  }
}

TEST(PostgresServerStore, MigrationsRecordTheirVersionAndRunOnceWhenInstancesStartTogether) {
  const std::string connection_string = PostgresCluster::shared().new_schema_connection_string();
  std::vector<std::thread> starters;
  std::atomic<int> opened{0};
  for (int i = 0; i < 4; ++i) {
    starters.emplace_back([&] {
      if (PostgresServerStore::open(connection_string).ok()) ++opened;
    });
  }
  for (auto& starter : starters) starter.join();
  EXPECT_EQ(opened.load(), 4);
  auto connection = connect(connection_string);
  auto version = postgres_schema_version(*connection);
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, static_cast<int>(postgres_server_migrations().size()));
  auto epochs = connection->execute("SELECT count(*)::int8 FROM instance_identity");
  ASSERT_TRUE(epochs.ok());
  EXPECT_EQ(*epochs->int64(0, 0), 1);
}

TEST(PostgresServerStore, ADatabaseNewerThanTheCodeIsRefused) {
  const std::string connection_string = PostgresCluster::shared().new_schema_connection_string();
  ASSERT_TRUE(PostgresServerStore::open(connection_string).ok());
  auto connection = connect(connection_string);
  ASSERT_TRUE(connection->execute_script("UPDATE casefile_schema_version SET version = 99").ok());

  auto refused = PostgresServerStore::open(connection_string);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "schema_too_new");
  EXPECT_NE(refused.error().message.find("99"), std::string::npos) << refused.error().message;
  auto version = postgres_schema_version(*connection);
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, 99);  // left as found
}

TEST(PostgresServerStore, InstanceEpochIsStableAcrossReopenAndRenewedOnDemand) {
  PostgresBackend backend;
  std::string first;
  {
    auto store = backend.open_postgres();
    auto epoch = store->instance_epoch();
    ASSERT_TRUE(epoch.ok()) << epoch.error().message;
    EXPECT_EQ(epoch->size(), 32u);
    first = *epoch;
  }
  auto store = backend.open_postgres();
  auto again = store->instance_epoch();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, first);
  auto renewed = store->renew_instance_epoch();
  ASSERT_TRUE(renewed.ok());
  EXPECT_NE(*renewed, first);
  auto read = store->instance_epoch();
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, *renewed);
}

TEST(PostgresServerStore, AConnectionTheServerDroppedIsReopenedByTheNextCall) {
  PostgresBackend backend;
  auto store = backend.open_postgres();
  ASSERT_TRUE(store->commit_push(write_commit(*store, 1, 1, 1, {record_key(1, 1)})).ok());
  // As a PostgreSQL restart or failover does: every other client's backend ends.
  auto admin = connect(backend.connection_string());
  ASSERT_TRUE(admin
                  ->execute_script("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                   "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'")
                  .ok());
  // The call that finds its connection gone fails as unavailable (it cannot
  // know whether a commit in flight committed); the next one reconnects.
  auto first = store->find_change(sync::ChangeId{device_id(1), 1});
  if (!first.ok()) {
    EXPECT_EQ(first.error().code, "store_unavailable");
    first = store->find_change(sync::ChangeId{device_id(1), 1});
  }
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->sequence, 1u);
}

TEST(PostgresServerStore, AWrongPasswordIsUnavailableAndTheErrorHoldsNoSecret) {
  PostgresCluster& cluster = PostgresCluster::shared();
  const std::string wrong_password = "not-the-password-7c1f3e";
  const std::string connection_string = "host=127.0.0.1 port=" + std::to_string(cluster.port()) +
                                        " dbname=postgres user=casefile password=" + wrong_password;
  auto refused = PostgresServerStore::open(connection_string);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "store_unavailable");
  EXPECT_EQ(refused.error().message.find(wrong_password), std::string::npos) << refused.error().message;
}

// LISTEN/NOTIFY across instances: a commit through one store object reaches
// another instance's listener with the commit's cases; a listener whose
// connection is terminated wakes everyone, reconnects and hears the next one.
TEST(PostgresChangeListener, ACommitIsHeardWithItsCasesAndALostConnectionWakesEveryone) {
  PostgresBackend backend;
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::set<sync::CaseId>> heard;
  int unknown = 0;
  PostgresChangeListener listener(
      backend.connection_string(),
      [&](const std::set<sync::CaseId>& cases) {
        const std::lock_guard lock(mutex);
        heard.push_back(cases);
        changed.notify_all();
      },
      [&] {
        const std::lock_guard lock(mutex);
        ++unknown;
        changed.notify_all();
      });
  const auto until = [&](const std::function<bool()>& done) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(60), done);
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!listener.listening() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(listener.listening());

  auto store = backend.open_postgres();
  ASSERT_TRUE(store->commit_push(write_commit(*store, 1, 1, 1, {record_key(7, 1)})).ok());
  ASSERT_TRUE(until([&] { return !heard.empty(); }));
  EXPECT_EQ(heard.front(), std::set<sync::CaseId>{case_id(7)});

  auto admin = connect(backend.connection_string());
  ASSERT_TRUE(admin
                  ->execute_script("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                   "WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()")
                  .ok());
  ASSERT_TRUE(until([&] { return unknown >= 2; }));  // lost, then back after reconnecting
  ASSERT_TRUE(store->commit_push(write_commit(*store, 1, 2, 2, {record_key(8, 1)})).ok());
  ASSERT_TRUE(until([&] { return heard.size() >= 2; }));
  EXPECT_EQ(heard.back(), std::set<sync::CaseId>{case_id(8)});
}

TEST(PostgresChangeListener, APayloadNamesTheCasesOrAnyCase) {
  const std::set<sync::CaseId> cases = {case_id(1), case_id(2)};
  EXPECT_EQ(decode_change_payload(encode_change_payload(cases)), cases);
  EXPECT_FALSE(decode_change_payload("").has_value());
  EXPECT_FALSE(decode_change_payload("not hex").has_value());
  std::set<sync::CaseId> many;
  for (std::uint64_t n = 1; n <= 201; ++n) many.insert(case_id(n));
  EXPECT_EQ(encode_change_payload(many), "");
}

}  // namespace
}  // namespace casefile::server::testing
