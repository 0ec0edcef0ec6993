#include "sync/hlc.hpp"

#include <gtest/gtest.h>

namespace casefile::sync {
namespace {

constexpr std::uint64_t kNow = 1'700'000'000'000;
constexpr std::uint64_t kHour = 3'600'000;
constexpr std::uint64_t kYear = 365 * 24 * kHour;

TEST(Hlc, PacksFortyEightBitsOfMillisAndASixteenBitCounter) {
  const Hlc stamp = Hlc::from_parts(kNow, 7);
  EXPECT_EQ(stamp.wall_millis(), kNow);
  EXPECT_EQ(stamp.counter(), 7u);
  EXPECT_EQ(stamp.packed(), kNow << 16 | 7);
  EXPECT_LT(Hlc::from_parts(kNow, 65535), Hlc::from_parts(kNow + 1, 0));
}

TEST(Hlc, TicksForwardEvenWhenThePhysicalClockGoesBack) {
  Hlc last = hlc_tick({}, kNow);
  EXPECT_EQ(last, Hlc::from_parts(kNow, 0));
  const Hlc after_jump_back = hlc_tick(last, kNow - kHour);
  EXPECT_GT(after_jump_back, last);
  EXPECT_EQ(after_jump_back, Hlc::from_parts(kNow, 1));
}

TEST(Hlc, CounterOverflowBorrowsAMillisecondInsteadOfWrapping) {
  const Hlc full = Hlc::from_parts(kNow, Hlc::kMaxCounter);
  EXPECT_EQ(hlc_tick(full, kNow), Hlc::from_parts(kNow + 1, 0));
}

TEST(Hlc, AWriteAfterSeeingAnotherOrdersAfterItEvenWithAClockYearsBehind) {
  DeviceClock ahead_device;
  const Hlc seen = ahead_device.stamp_local_write(kNow);
  DeviceClock behind_device;  // its wall clock is two years slow
  behind_device.observe(seen, kNow - 2 * kYear);
  const Hlc reply = behind_device.stamp_local_write(kNow - 2 * kYear + 10);
  EXPECT_GT(reply, seen);
}

TEST(Hlc, ReceiveMovesPastBothClocks) {
  const Hlc local = Hlc::from_parts(kNow, 3);
  const Hlc remote = Hlc::from_parts(kNow, 9);
  EXPECT_EQ(hlc_receive(local, remote, kNow - 5), Hlc::from_parts(kNow, 10));
  EXPECT_EQ(hlc_receive(local, remote, kNow + 5), Hlc::from_parts(kNow + 5, 0));
}

TEST(Hlc, ServerRefusesAClockTooFarAheadWithClockSkewAndTheAmount) {
  const Status refused = check_clock_skew(Hlc::from_parts(kNow + 3 * kHour + 1500, 0), kNow, 5 * 60 * 1000);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "clock_skew");
  EXPECT_NE(refused.error().message.find("3h 0m 1.500s"), std::string::npos) << refused.error().message;
  EXPECT_NE(refused.error().message.find("10801500 ms"), std::string::npos) << refused.error().message;
  EXPECT_TRUE(check_clock_skew(Hlc::from_parts(kNow + 5 * 60 * 1000, 0), kNow, 5 * 60 * 1000).ok());
  EXPECT_TRUE(check_clock_skew(Hlc::from_parts(kNow - 2 * kYear, 0), kNow, 5 * 60 * 1000).ok());
}

TEST(Hlc, DeviceAdoptsTheServersTimeWhenBehindButNotWhenAhead) {
  DeviceClock clock;
  clock.observe_server_time(kNow, kNow - kYear);
  EXPECT_EQ(clock.estimated_now(kNow - kYear + 100), kNow + 100);
  EXPECT_EQ(clock.stamp_local_write(kNow - kYear + 100), Hlc::from_parts(kNow + 100, 0));
  DeviceClock fast;
  fast.observe_server_time(kNow, kNow + kHour);
  EXPECT_EQ(fast.offset_millis(), 0);
}

TEST(Hlc, RewindAfterClockSkewRefusalStampsAtTheServersTime) {
  DeviceClock clock;
  clock.stamp_local_write(kNow + kYear);
  clock.rewind_to_server(kNow, kNow + kYear);
  const Hlc next = clock.stamp_local_write(kNow + kYear + 10);
  EXPECT_EQ(next.wall_millis(), kNow + 10);
  EXPECT_TRUE(check_clock_skew(next, kNow + 10, 5 * 60 * 1000).ok());
}

}  // namespace
}  // namespace casefile::sync
