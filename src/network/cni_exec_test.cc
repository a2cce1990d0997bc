#include "network/cni_exec.h"

#include <gtest/gtest.h>

#include <chrono>

namespace berth::network {
namespace {

TEST(CniExecTest, FeedsStdinAndCapturesOutputAndEnvironment) {
  auto r = runWithInput({"/bin/sh", "-c", "cat; echo \"$CNI_COMMAND\" >&2; exit 3"}, {"CNI_COMMAND=ADD"},
                        std::string(200000, 'x'), std::chrono::seconds(10));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->exitCode, 3);
  EXPECT_EQ(r->out.size(), 200000u);  // larger than a pipe buffer: no deadlock
  EXPECT_EQ(r->err, "ADD\n");
}

TEST(CniExecTest, KillsAPluginThatHangs) {
  auto start = std::chrono::steady_clock::now();
  auto hang = runWithInput({"/bin/sleep", "30"}, {}, "", std::chrono::milliseconds(300));
  ASSERT_FALSE(hang.ok());
  EXPECT_EQ(hang.error().code, ErrorCode::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(CniExecTest, PluginThatIgnoresStdinDoesNotKillUs) {
  // Exits at once without reading a config larger than the pipe buffer:
  // our write fails with EPIPE instead of raising SIGPIPE.
  auto r = runWithInput({"/bin/true"}, {}, std::string(1 << 20, 'x'), std::chrono::seconds(10));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->exitCode, 0);
}

TEST(CniExecTest, MissingBinaryIsAnError) {
  auto r = runWithInput({"/nonexistent/plugin"}, {}, "{}", std::chrono::seconds(5));
  EXPECT_TRUE(!r.ok() || r->exitCode == 127);
}

}  // namespace
}  // namespace berth::network
