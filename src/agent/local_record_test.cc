#include "agent/local_record.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace berth::agent {
namespace {

class LocalRecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("berth-record-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(LocalRecordTest, StartsEmptyAndPersistsAcrossReopen) {
  auto rec = LocalRecord::open(dir_.string());
  ASSERT_TRUE(rec.ok()) << rec.error().message;
  EXPECT_TRUE((*rec)->snapshot().tasks.empty());
  ASSERT_TRUE((*rec)->update([](AgentState& s) {
    s.containerInstanceArn = "arn:ci";
    TaskRecord t;
    t.taskArn = "arn:task/1";
    t.lastStatus = "RUNNING";
    t.task = {{"taskArn", "arn:task/1"}};
    t.containers.push_back({"web", "berth-1-web", "STOPPED", 137, "OutOfMemoryError"});
    s.tasks[t.taskArn] = t;
  }).ok());
  auto again = LocalRecord::open(dir_.string());
  ASSERT_TRUE(again.ok());
  auto s = (*again)->snapshot();
  EXPECT_EQ(s.containerInstanceArn, "arn:ci");
  ASSERT_EQ(s.tasks.count("arn:task/1"), 1u);
  const auto& t = s.tasks.at("arn:task/1");
  EXPECT_EQ(t.lastStatus, "RUNNING");
  ASSERT_EQ(t.containers.size(), 1u);
  EXPECT_EQ(t.containers[0].exitCode, 137);
  EXPECT_EQ(t.containers[0].reason, "OutOfMemoryError");
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "agent-state.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(LocalRecordTest, CorruptFileIsAClearError) {
  std::filesystem::create_directories(dir_);
  std::ofstream(dir_ / "agent-state.json") << "{not json";
  auto rec = LocalRecord::open(dir_.string());
  ASSERT_FALSE(rec.ok());
  EXPECT_EQ(rec.error().code, ErrorCode::kIo);
}

}  // namespace
}  // namespace berth::agent
