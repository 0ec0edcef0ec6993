// A full disk, as RLIMIT_FSIZE makes one (set in the child before exec; see
// docs/testing-e2e.md for why not a small tmpfs): no file the process writes
// may grow past the limit, and a write that would fails with EFBIG. On the
// server: pushes are refused `storage_full` (507) and nothing of them is
// committed, reads go on, the store is not corrupted, and once the limit is
// lifted on the running casefiled (prlimit: an operator freed space) the
// same pushes are accepted, each change once. On a device: a write is
// refused (store_unavailable, "full: ..."), and every record committed
// before it stays and syncs.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>

#include "schema/database.hpp"
#include "tests/e2e/e2e_fixture.hpp"
#include "tests/support/server_change_log.hpp"

namespace casefile::e2e {
namespace {

namespace fs = std::filesystem;

// Room left on the "disk" above its largest file: enough for casefiled to
// start and for the sign-ins, pull audits and reads the test makes, far
// too little for the notes it pushes.
constexpr std::uint64_t kServerRoom = 128 * 1024;
// Enough to open a replica (its 32 KiB shared-memory index), too little for
// the notes the device writes.
constexpr std::uint64_t kDeviceRoom = 64 * 1024;

std::uint64_t largest_file(const fs::path& directory) {
  std::uint64_t largest = 0;
  for (const auto& file : regular_files(directory))
    largest = std::max<std::uint64_t>(largest, fs::file_size(file));
  return largest;
}

// PRAGMA integrity_check of the instance's casefile.db: "ok" when sound.
std::string store_integrity(const fs::path& instance) {
  auto database =
      schema::Database::open_reader(instance / "casefile.db", test_support::instance_database_key(instance));
  if (!database.ok()) return "cannot open: " + database.error().message;
  auto check = database->prepare("PRAGMA integrity_check");
  if (!check.ok()) return check.error().message;
  auto row = check->step();
  if (!row.ok() || !*row) return "no answer";
  return check->column_text(0);
}

// Each (author, device sequence) of the server's log exactly once.
void expect_no_change_twice(const std::multiset<test_support::ServerLoggedChange>& log) {
  std::set<std::pair<crypto::Bytes, std::int64_t>> ids;
  for (const auto& change : log) ids.emplace(change.author, change.device_sequence);
  EXPECT_EQ(ids.size(), log.size()) << "a change is logged more than once";
}

class FullDiskTest : public E2eTest {};

TEST_F(FullDiskTest,
       AServerWhoseDiskIsFullRefusesPushesStorageFullServesReadsAndAcceptsThemOnceSpaceReturns) {
  auto devices = enrol_devices({{"alice"}, {"bob"}});
  E2eDevice& alice = *devices[0];
  E2eDevice& bob = *devices[1];
  const std::string shared = shared_case(alice, {"bob"});
  std::multiset<std::string> written = add_notes(alice, shared, 20);
  alice.ok({"sync"});

  // A clean stop folds the write-ahead log into casefile.db, so the limit
  // below leaves every file kServerRoom bytes to grow.
  ASSERT_EQ(server().stop(), 0);
  const auto log_before = test_support::server_change_log(server().instance());
  const std::uint64_t limit = largest_file(server().instance()) + kServerRoom;
  std::cout << "casefiled may grow no file past " << limit << " bytes" << std::endl;
  server().start(limit);

  const auto more = add_notes(alice, shared, 600);
  written.insert(more.begin(), more.end());
  const auto refused = alice.run({"sync"});
  EXPECT_EQ(refused.exit_code, 1) << refused.describe();
  EXPECT_EQ(refused.error_code(), "storage_full") << refused.describe();
  // The device keeps what was not accepted.
  const auto status = alice.ok({"status"});
  EXPECT_GT(status.at("outbox_depth").as_int64(), 0) << json::serialize(status);

  // casefiled did not die of SIGXFSZ, and still answers reads: /metrics,
  // and bob's pull of everything the server accepted.
  EXPECT_FALSE(server().metrics().empty());
  const auto log_full = test_support::server_change_log(server().instance());
  EXPECT_TRUE(std::includes(log_full.begin(), log_full.end(), log_before.begin(), log_before.end()));
  expect_no_change_twice(log_full);
  bob.ok({"sync"});
  const auto pulled =
      record_ids(bob.ok({"show", "--case", shared, "--collection", "notes"}).at("records").as_array());
  EXPECT_GE(pulled.size(), 20u);
  EXPECT_LT(pulled.size(), written.size());

  // Space returns with casefiled running: the same device's next sync is
  // accepted, and bob holds every note exactly once.
  server().lift_file_size_limit();
  expect_delivered_exactly_once(alice, bob, shared, written);

  EXPECT_EQ(server().stop(), 0);
  EXPECT_EQ(store_integrity(server().instance()), "ok");
  const auto log_after = test_support::server_change_log(server().instance());
  expect_no_change_twice(log_after);
  EXPECT_TRUE(std::includes(log_after.begin(), log_after.end(), log_full.begin(), log_full.end()));
  // The log holds the case and every note, nothing more: 1 + 620 changes.
  EXPECT_EQ(log_after.size(), written.size() + 1);
  server().start();
}

TEST_F(FullDiskTest, ADeviceWhoseDiskIsFullRefusesTheWriteAndKeepsEveryCommittedRecord) {
  auto devices = enrol_devices({{"alice"}, {"bob"}});
  E2eDevice& alice = *devices[0];
  E2eDevice& bob = *devices[1];
  const std::string shared = shared_case(alice, {"bob"});
  std::multiset<std::string> written = add_notes(alice, shared, 20);

  const std::uint64_t limit = largest_file(alice.directory()) + kDeviceRoom;
  std::cout << "casefile-device may grow no file past " << limit << " bytes" << std::endl;
  alice.set_file_size_limit(limit);
  const auto refused =
      alice.run({"note", "add", "--case", shared, "--set", "body=too much", "--repeat", "2000"});
  alice.set_file_size_limit(std::nullopt);
  // The replica's code (device/sqlcipher_replica_store.hpp): store_unavailable,
  // its message starting with the storage layer's "full".
  EXPECT_EQ(refused.exit_code, 1) << refused.describe();
  EXPECT_EQ(refused.error_code(), "store_unavailable") << refused.describe();
  EXPECT_TRUE(refused.json().at("message").as_string().starts_with("full: ")) << refused.describe();

  // The records written before the refusal (it says how many) stay, and
  // so does every earlier one; nothing else appears.
  std::size_t written_before_refusal = 0;
  std::smatch count;
  if (std::regex_search(refused.out, count, std::regex(R"(after (\d+) records were written)"))) {
    written_before_refusal = std::stoul(count[1]);
  }
  std::cout << written_before_refusal << " notes were written before the refusal" << std::endl;
  EXPECT_LT(written_before_refusal, 2000u);
  const auto shown =
      record_ids(alice.ok({"show", "--case", shared, "--collection", "notes"}).at("records").as_array());
  EXPECT_EQ(shown.size(), written.size() + written_before_refusal);
  EXPECT_TRUE(std::includes(shown.begin(), shown.end(), written.begin(), written.end()));
  // With space back, every one of them reaches bob exactly once.
  expect_delivered_exactly_once(alice, bob, shared, shown);
}

}  // namespace
}  // namespace casefile::e2e
