#include "agent/task_cgroup.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace berth::agent {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::string s;
  std::getline(in, s);
  return s;
}

class TaskCgroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("berth-cg-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

// A fake cgroupfs root is enough to check which files get which values.
TEST_F(TaskCgroupTest, V1WritesQuotaAndMemoryLimit) {
  fs::create_directories(root_ / "cpu");
  fs::create_directories(root_ / "memory");
  std::ofstream(root_ / "cpu" / "cpu.cfs_quota_us") << "-1";
  std::ofstream(root_ / "memory" / "memory.limit_in_bytes") << "0";
  ASSERT_TRUE(applyTaskCgroupLimitsUnder(root_.string(), "/berth/t1", {512, 256}).ok());
  EXPECT_EQ(slurp(root_ / "cpu/berth/t1/cpu.cfs_quota_us"), "50000");  // half a CPU
  EXPECT_EQ(slurp(root_ / "cpu/berth/t1/cpu.cfs_period_us"), "100000");
  EXPECT_EQ(slurp(root_ / "memory/berth/t1/memory.limit_in_bytes"), std::to_string(256LL * 1024 * 1024));
}

TEST_F(TaskCgroupTest, V2WritesCpuMaxAndMemoryMax) {
  fs::create_directories(root_);
  std::ofstream(root_ / "cgroup.controllers") << "cpu memory";
  ASSERT_TRUE(applyTaskCgroupLimitsUnder(root_.string(), "berth/t2", {2048, 1024}).ok());
  EXPECT_EQ(slurp(root_ / "berth/t2/cpu.max"), "200000 100000");
  EXPECT_EQ(slurp(root_ / "berth/t2/memory.max"), std::to_string(1024LL * 1024 * 1024));
}

TEST_F(TaskCgroupTest, NoLimitsTouchNothing) {
  ASSERT_TRUE(applyTaskCgroupLimits("/berth/none-" + std::to_string(::getpid()), {}).ok());
  EXPECT_FALSE(fs::exists("/sys/fs/cgroup/memory/berth/none-" + std::to_string(::getpid())));
}

}  // namespace
}  // namespace berth::agent
