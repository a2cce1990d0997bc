#include "common/random.h"

#include <gtest/gtest.h>

#include <set>

namespace berth {

TEST(RandomTest, EcsIdIs32LowercaseHex) {
  SystemRandom r;
  auto id = r.ecsId();
  ASSERT_EQ(id.size(), 32u);
  for (char c : id) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << id;
}

TEST(RandomTest, UuidHasVersion4Layout) {
  SystemRandom r;
  auto u = r.uuid();
  ASSERT_EQ(u.size(), 36u);
  EXPECT_EQ(u[8], '-');
  EXPECT_EQ(u[14], '4');
  EXPECT_NE(std::string("89ab").find(u[19]), std::string::npos) << u;
}

TEST(RandomTest, SameSeedSameSequence) {
  SeededRandom a(42), b(42), c(43);
  EXPECT_EQ(a.hex(16), b.hex(16));
  EXPECT_NE(a.hex(16), c.hex(16));
}

TEST(RandomTest, SystemRandomDoesNotRepeat) {
  SystemRandom r;
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(r.ecsId());
  EXPECT_EQ(seen.size(), 1000u);
}

}  // namespace berth
