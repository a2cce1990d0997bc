#include "control/task_size.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace berth::control {
namespace {

TEST(TaskSizeTest, ParsesCpuForms) {
  const std::vector<std::pair<std::string, std::int64_t>> cases = {
      {"256", 256},        {"1024", 1024},     {"1 vCPU", 1024},  {"1 vcpu", 1024},  {"1vCPU", 1024},
      {".25 vCPU", 256},   {"0.5 vcpu", 512},  {"2 vCPUs", 2048}, {" 4 VCPU ", 4096}, {"0.125 vcpu", 128},
      {"16 vCPU", 16384},  {"1024.0", 1024},
  };
  for (const auto& [text, units] : cases) {
    auto r = parseTaskCpu(text);
    ASSERT_TRUE(r.ok()) << text << ": " << r.error().message;
    EXPECT_EQ(*r, units) << text;
  }
}

TEST(TaskSizeTest, RejectsBadCpu) {
  for (const char* text : {"", " ", "0", "-1", "abc", "1 GB", "0.1 vcpu", "1.5", "vcpu", "1e3", "1,024", "..5 vcpu",
                           "99999999999999999999", "3000000000", "1 vcpu vcpu"}) {
    auto r = parseTaskCpu(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
    EXPECT_NE(r.error().message.find("Invalid 'cpu' setting for task."), std::string::npos);
  }
}

TEST(TaskSizeTest, ParsesMemoryForms) {
  const std::vector<std::pair<std::string, std::int64_t>> cases = {
      {"512", 512},     {"1GB", 1024},    {"1 GB", 1024},  {"1 gb", 1024},    {"0.5 GB", 512},
      {"2GiB", 2048},   {"512 MiB", 512}, {"512MB", 512},  {"30 GB", 30720},  {"120GB", 122880},
  };
  for (const auto& [text, mib] : cases) {
    auto r = parseTaskMemory(text);
    ASSERT_TRUE(r.ok()) << text << ": " << r.error().message;
    EXPECT_EQ(*r, mib) << text;
  }
}

TEST(TaskSizeTest, RejectsBadMemory) {
  for (const char* text : {"", "0", "0 GB", "-512", "1 vcpu", "1TB", "0.0001 GB", "lots", "1.5"}) {
    auto r = parseTaskMemory(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
    EXPECT_NE(r.error().message.find("Invalid 'memory' setting for task."), std::string::npos);
  }
}

TEST(TaskSizeTest, FargateTableMatchesDocumentedCombinations) {
  // reference/ecs-tasks.md §5: 3 + 4 + 7 + 13 + 23 + 12 + 12 = 74 sizes.
  const std::vector<std::pair<std::int64_t, std::size_t>> expectedCounts = {
      {256, 3}, {512, 4}, {1024, 7}, {2048, 13}, {4096, 23}, {8192, 12}, {16384, 12}};
  std::size_t total = 0;
  for (const auto& [cpu, count] : expectedCounts) {
    auto options = fargateMemoryOptions(cpu);
    EXPECT_EQ(options.size(), count) << cpu;
    for (auto m : options) EXPECT_TRUE(isFargateTaskSize(cpu, m)) << cpu << "/" << m;
    total += options.size();
  }
  EXPECT_EQ(total, 74u);
  EXPECT_EQ(fargateMemoryOptions(256), (std::vector<std::int64_t>{512, 1024, 2048}));
  EXPECT_EQ(fargateMemoryOptions(8192).front(), 16384);
  EXPECT_EQ(fargateMemoryOptions(8192).back(), 61440);
}

TEST(TaskSizeTest, FargateRejectsOffTableSizes) {
  const std::vector<std::pair<std::int64_t, std::int64_t>> bad = {
      {256, 3072},    {256, 4096},    {512, 512},      {512, 5120},    {1024, 1024},  {1024, 9216},
      {1024, 2560},   {2048, 17408},  {4096, 31744},   {8192, 17408},  {8192, 62464}, {16384, 33792},
      {16384, 131072}, {128, 512},    {32768, 65536},  {0, 0},         {1000, 2048},
  };
  for (const auto& [cpu, mem] : bad) EXPECT_FALSE(isFargateTaskSize(cpu, mem)) << cpu << "/" << mem;
  EXPECT_TRUE(fargateMemoryOptions(128).empty());
}

}  // namespace
}  // namespace berth::control
