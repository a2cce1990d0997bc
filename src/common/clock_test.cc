#include "common/clock.h"

#include <gtest/gtest.h>

namespace berth {

TEST(FakeClockTest, AdvanceMovesWallAndMonotonic) {
  FakeClock c;
  auto w = c.now();
  auto m = c.monotonicNow();
  c.advance(std::chrono::seconds(5));
  EXPECT_EQ(c.now() - w, std::chrono::seconds(5));
  EXPECT_EQ(c.monotonicNow() - m, std::chrono::seconds(5));
}

TEST(FakeClockTest, EpochSecondsHasMillisecondPrecision) {
  FakeClock c(std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'123)));
  EXPECT_DOUBLE_EQ(c.epochSeconds(), 1700000000.123);
}

}  // namespace berth
