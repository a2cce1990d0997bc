#include "agent/task_runner.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "agent/fake_node.h"
#include "runtime/fake_runtime.h"

namespace berth::agent {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class RecordingReporter final : public StateReporter {
 public:
  Status submitTaskStateChange(const json& change) override {
    std::lock_guard lock(mu_);
    changes_.push_back(change);
    return okStatus();
  }
  std::vector<json> changes() const {
    std::lock_guard lock(mu_);
    return changes_;
  }
  std::optional<json> last() const {
    std::lock_guard lock(mu_);
    if (changes_.empty()) return std::nullopt;
    return changes_.back();
  }
  std::vector<std::string> statuses() const {
    std::vector<std::string> out;
    for (const auto& c : changes()) out.push_back(c["status"].get<std::string>());
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<json> changes_;
};

json taskDoc(const std::string& id, json containers) {
  return json{{"taskArn", "arn:aws:ecs:eu-west-3:123456789012:task/c/" + id},
              {"clusterArn", "arn:aws:ecs:eu-west-3:123456789012:cluster/c"},
              {"lastStatus", "PENDING"},
              {"desiredStatus", "RUNNING"},
              {"taskDefinition", {{"containerDefinitions", containers}}}};
}

class TaskRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("berth-runner-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto opened = LocalRecord::open(dir_.string());
    ASSERT_TRUE(opened.ok());
    record_ = std::move(opened).value();
    env_ = std::make_unique<TaskEnv>(TaskEnv{images_, runtime_, rootfs_, reporter_, *record_, clock_, fakeSpec,
                                             (dir_ / "tasks").string(), images::PullBehavior::kDefault, 1s, 10ms});
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<TaskRunner> run(const std::string& id, json containers) {
    TaskRecord r;
    r.taskArn = "arn:aws:ecs:eu-west-3:123456789012:task/c/" + id;
    r.task = taskDoc(id, std::move(containers));
    return std::make_unique<TaskRunner>(*env_, r, false);
  }

  // Waits (bounded) until the last report has this status.
  bool waitForStatus(const std::string& status, std::chrono::milliseconds timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto last = reporter_.last();
      if (last && (*last)["status"] == status) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  json containerIn(const json& change, const std::string& name) {
    for (const auto& c : change["containers"])
      if (c["containerName"] == name) return c;
    return json();
  }

  std::filesystem::path dir_;
  SystemClock clock_;
  runtime::FakeRuntime runtime_{clock_};
  FakeImageStore images_;
  DirectoryRootfs rootfs_;
  RecordingReporter reporter_;
  std::unique_ptr<LocalRecord> record_;
  std::unique_ptr<TaskEnv> env_;
};

TEST_F(TaskRunnerTest, RunsToCompletionAndReportsExitCode) {
  runtime_.setBehaviorForIdPrefix("berth-t1-", {50ms, 3});
  auto r = run("t1", json::array({{{"name", "app"}, {"image", "busybox"}}}));
  ASSERT_TRUE(waitForStatus("STOPPED"));
  auto last = *reporter_.last();
  EXPECT_EQ(containerIn(last, "app")["exitCode"], 3);
  // The pulled manifest's digest is reported (DescribeTasks containers[].imageDigest).
  EXPECT_EQ(containerIn(last, "app")["imageDigest"], "sha256:" + std::string(64, '0'));
  EXPECT_EQ(last["stopCode"], "EssentialContainerExited");
  EXPECT_EQ(last["reason"], "Essential container in task exited");
  for (const char* ts : {"pullStartedAt", "pullStoppedAt", "startedAt", "executionStoppedAt", "stoppedAt"})
    EXPECT_TRUE(last.contains(ts)) << ts;
  EXPECT_EQ(reporter_.statuses().front(), "RUNNING");
  EXPECT_TRUE(r->finished() || waitForStatus("STOPPED"));
}

TEST_F(TaskRunnerTest, StopSendsSigtermThenReportsStopped) {
  auto r = run("t2", json::array({{{"name", "app"}, {"image", "busybox"}}}));
  ASSERT_TRUE(waitForStatus("RUNNING"));
  r->setDesiredStatus("STOPPED");
  ASSERT_TRUE(waitForStatus("STOPPED"));
  auto last = *reporter_.last();
  EXPECT_EQ(last["stopCode"], "UserInitiated");
  EXPECT_EQ(containerIn(last, "app")["exitCode"], 128 + SIGTERM);
  // The container is removed once STOPPED, so the exit code (128+SIGTERM) is the evidence of the signal.
  auto statuses = reporter_.statuses();
  EXPECT_NE(std::find(statuses.begin(), statuses.end(), "STOPPING"), statuses.end());
}

TEST_F(TaskRunnerTest, SigkillAfterStopTimeoutWhenSigtermIsIgnored) {
  runtime::FakeBehavior stubborn;
  stubborn.ignoreSigterm = true;
  runtime_.setBehaviorForIdPrefix("berth-t3-", stubborn);
  auto r = run("t3", json::array({{{"name", "app"}, {"image", "busybox"}, {"stopTimeout", 1}}}));
  ASSERT_TRUE(waitForStatus("RUNNING"));
  auto begin = std::chrono::steady_clock::now();
  r->setDesiredStatus("STOPPED");
  ASSERT_TRUE(waitForStatus("STOPPED", 5s));
  auto took = std::chrono::steady_clock::now() - begin;
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 3s);
  EXPECT_EQ(containerIn(*reporter_.last(), "app")["exitCode"], 128 + SIGKILL);
  // SIGTERM was ignored for stopTimeout (the elapsed time), then SIGKILL (the exit code).
}

TEST_F(TaskRunnerTest, EssentialExitStopsSiblings) {
  runtime_.setBehaviorForIdPrefix("berth-t4-main", {50ms, 0});
  auto r = run("t4", json::array({{{"name", "main"}, {"image", "busybox"}},
                                  {{"name", "side"}, {"image", "busybox"}, {"essential", false}}}));
  ASSERT_TRUE(waitForStatus("STOPPED"));
  auto last = *reporter_.last();
  EXPECT_EQ(last["stopCode"], "EssentialContainerExited");
  EXPECT_EQ(containerIn(last, "main")["exitCode"], 0);
  EXPECT_EQ(containerIn(last, "side")["status"], "STOPPED");
  EXPECT_EQ(containerIn(last, "side")["exitCode"], 128 + SIGTERM);
}

TEST_F(TaskRunnerTest, NonEssentialExitKeepsTaskRunning) {
  runtime_.setBehaviorForIdPrefix("berth-t5-side", {30ms, 5});
  auto r = run("t5", json::array({{{"name", "main"}, {"image", "busybox"}},
                                  {{"name", "side"}, {"image", "busybox"}, {"essential", false}}}));
  auto deadline = std::chrono::steady_clock::now() + 5s;
  json last;
  while (std::chrono::steady_clock::now() < deadline) {
    auto l = reporter_.last();
    if (l && containerIn(*l, "side")["status"] == "STOPPED") { last = *l; break; }
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_FALSE(last.is_null());
  EXPECT_EQ(last["status"], "RUNNING");
  EXPECT_EQ(containerIn(last, "side")["exitCode"], 5);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ((*reporter_.last())["status"], "RUNNING");
  r->setDesiredStatus("STOPPED");
  ASSERT_TRUE(waitForStatus("STOPPED"));
}

TEST_F(TaskRunnerTest, PullFailureStopsTaskWithCannotPullContainerError) {
  auto r = run("t6", json::array({{{"name", "app"}, {"image", "registry.local/does-not-exist:1"}}}));
  ASSERT_TRUE(waitForStatus("STOPPED"));
  auto last = *reporter_.last();
  EXPECT_EQ(last["stopCode"], "TaskFailedToStart");
  EXPECT_EQ(last["reason"].get<std::string>().rfind("CannotPullContainerError: ", 0), 0u) << last.dump();
  EXPECT_EQ(reporter_.statuses(), std::vector<std::string>{"STOPPED"});
}

TEST_F(TaskRunnerTest, OomKillIsReported) {
  runtime::FakeBehavior oom{20ms, 137, true};
  runtime_.setBehaviorForIdPrefix("berth-t7-", oom);
  auto r = run("t7", json::array({{{"name", "app"}, {"image", "busybox"}}}));
  ASSERT_TRUE(waitForStatus("STOPPED"));
  auto c = containerIn(*reporter_.last(), "app");
  EXPECT_EQ(c["exitCode"], 137);
  EXPECT_EQ(c["reason"].get<std::string>().rfind("OutOfMemoryError", 0), 0u);
}

TEST_F(TaskRunnerTest, RecoversRunningAndExitedContainersAfterRestart) {
  runtime_.setBehaviorForIdPrefix("berth-t8-short", {300ms, 42});
  {
    auto r = run("t8", json::array({{{"name", "long"}, {"image", "busybox"}},
                                    {{"name", "short"}, {"image", "busybox"}, {"essential", false}}}));
    ASSERT_TRUE(waitForStatus("RUNNING"));
  }  // the runner goes away (agent restart); containers keep running
  EXPECT_EQ(runtime_.state("berth-t8-long")->status, runtime::ContainerStatus::kRunning);
  std::this_thread::sleep_for(400ms);  // "short" exits while no agent watches
  auto saved = record_->snapshot().tasks.at("arn:aws:ecs:eu-west-3:123456789012:task/c/t8");
  TaskRunner recovered(*env_, saved, /*recovering=*/true);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  json last;
  while (std::chrono::steady_clock::now() < deadline) {
    auto l = reporter_.last();
    if (l && containerIn(*l, "short")["exitCode"] == 42) { last = *l; break; }
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_FALSE(last.is_null()) << "exit code of the container that stopped while the agent was down";
  EXPECT_EQ(last["status"], "RUNNING");
  recovered.setDesiredStatus("STOPPED");
  ASSERT_TRUE(waitForStatus("STOPPED"));
}

}  // namespace
}  // namespace berth::agent
