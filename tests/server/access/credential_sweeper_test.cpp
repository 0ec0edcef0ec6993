// CredentialSweeper: expired codes, challenges and tokens leave control.db
// without anyone asking, and stop() ends the thread promptly.
#include "server/access/credential_sweeper.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "server/access/sqlcipher_control_store.hpp"
#include "tests/server/access/access_test_support.hpp"

namespace casefile::server {
namespace {

using testing::random_id;

TEST(CredentialSweeperTest, ExpiredEnrolmentCodesAreDeletedWithoutARequest) {
  testing::ScratchDirectory directory;
  auto store = SqlCipherControlStore::open(directory.path() / "control.db", testing::random_key()).value();
  const AuditEvent added{1000, "admin:test", "user_added", "", {}};
  ASSERT_TRUE(store->add_user(UserRecord{"ana", Role::lawyer, false, 1}, added).ok());
  const AuditEvent code_created{1000, "admin:test", "enrolment_code_created", "", {}};
  ASSERT_TRUE(
      store->add_enrolment_code(crypto::sha256(random_id<sync::DeviceId>().bytes), "ana", 5'000, code_created)
          .ok());
  ASSERT_TRUE(
      store
          ->add_enrolment_code(crypto::sha256(random_id<sync::DeviceId>().bytes), "ana", 50'000, code_created)
          .ok());

  std::vector<std::string> lines;
  std::mutex lines_mutex;
  const JsonLogger logger(LogLevel::info, [&](std::string_view line) {
    const std::lock_guard lock(lines_mutex);
    lines.emplace_back(line);
  });
  {
    CredentialSweeper sweeper(*store, logger, std::chrono::hours(1), [] { return std::int64_t{6'000}; });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (sweeper.sweeps() == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_EQ(sweeper.sweeps(), 1u);
  }  // the destructor stops a sweeper that sleeps for an hour: the test does not hang

  // The expired code went; the one still valid at 6,000 ms stayed, and goes when it expires.
  EXPECT_EQ(store->delete_expired(6'000).value(), 0);
  EXPECT_EQ(store->delete_expired(60'000).value(), 1);
  const std::lock_guard lock(lines_mutex);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("\"event\":\"credentials_swept\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"deleted\":1"), std::string::npos) << lines[0];
}

}  // namespace
}  // namespace casefile::server
