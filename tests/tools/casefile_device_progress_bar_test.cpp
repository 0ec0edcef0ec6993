// The sync progress line casefile-device draws on a terminal.
#include <gtest/gtest.h>

#include "tools/casefile-device/progress_bar.hpp"

namespace casefile::device_tool {
namespace {

TEST(CasefileDeviceProgressBar, FillsInProportionWithAlignedCounts) {
  EXPECT_EQ(render_progress_line("pushing", 0, 100, 10), "pushing [----------]   0/100");
  EXPECT_EQ(render_progress_line("pushing", 50, 100, 10), "pushing [#####-----]  50/100");
  EXPECT_EQ(render_progress_line("pushing", 100, 100, 10), "pushing [##########] 100/100");
}

TEST(CasefileDeviceProgressBar, IsFullOnlyWhenDone) {
  EXPECT_EQ(render_progress_line("p", 999'999, 1'000'000, 4), "p [###-]  999999/1000000");
  EXPECT_EQ(render_progress_line("p", 1, 4, 4), "p [#---] 1/4");
}

TEST(CasefileDeviceProgressBar, AnUnknownTotalShowsTheCountAlone) {
  EXPECT_EQ(render_progress_line("pulling", 1234, 0, 10), "pulling 1234");
}

TEST(CasefileDeviceProgressBar, MoreThanTheTotalDrawsAFullBar) {
  EXPECT_EQ(render_progress_line("p", 7, 5, 5), "p [#####] 7/5");
}

}  // namespace
}  // namespace casefile::device_tool
