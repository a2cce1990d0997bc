// The task engine on real containers (root, runc + conmon, a busybox root
// filesystem): a task-scoped volume written by one container and read by
// another started with dependsOn SUCCESS, a HEALTHY dependency that holds a
// container back until its check (runc exec) passes, and a failing check
// that turns a container UNHEALTHY while the task keeps running.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <thread>

#include "agent/fake_node.h"
#include "agent/node_backends.h"
#include "agent/task_runner.h"
#include "agent/testing/recording_reporter.h"
#include "runtime/conmon_runtime.h"
#include "runtime/subprocess.h"

// Behaviours and envs are aggregates whose later members keep their defaults on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace berth::agent {

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kRunc = "/usr/sbin/runc";
constexpr const char* kConmon = "/usr/bin/conmon";
constexpr const char* kBusybox = "/bin/busybox";

// Root filesystems that are a busybox tree in the container's directory.
class BusyboxRootfs final : public RootfsProvider {
 public:
  Result<std::string> prepare(const images::Image&, const std::string& containerDir) override {
    const fs::path root = fs::path(containerDir) / "rootfs";
    for (const char* d : {"bin", "etc", "proc", "sys", "dev", "tmp"}) fs::create_directories(root / d);
    fs::copy_file(kBusybox, root / "bin/busybox", fs::copy_options::overwrite_existing);
    for (const char* applet : {"sh", "cat", "echo", "test", "touch", "sleep", "true", "false"})
      if (!fs::exists(root / "bin" / applet)) fs::create_symlink("busybox", root / "bin" / applet);
    return root.string();
  }
  Status release(const std::string& containerDir) override {
    std::error_code ec;
    fs::remove_all(containerDir, ec);
    return okStatus();
  }
};


json containerIn(const json& change, const std::string& name) {
  for (const auto& c : change["containers"])
    if (c["containerName"] == name) return c;
  return json();
}

class TaskRunnerRealTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (runs real containers)";
    for (const char* bin : {kRunc, kConmon, kBusybox})
      if (access(bin, X_OK) != 0) GTEST_SKIP() << bin << " is not installed";
    char tmpl[] = "/tmp/berth-runner-real-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    runtime::ConmonRuntimeOptions o;
    o.rootDir = dir_ + "/runtime";
    runtime_ = std::make_unique<runtime::ConmonRuntime>(o);
    auto opened = LocalRecord::open(dir_);
    ASSERT_TRUE(opened.ok());
    record_ = std::move(opened).value();
    env_ = std::make_unique<TaskEnv>(TaskEnv{images_, *runtime_, rootfs_, reporter_, *record_, clock_,
                                             makeOciSpecBuilder(), dir_ + "/tasks", images::PullBehavior::kDefault,
                                             2s, 20ms});
    env_->volumesDir = dir_ + "/volumes";
    env_->healthPollInterval = 50ms;
  }
  void TearDown() override {
    if (dir_.empty()) return;
    runner_.reset();
    // Anything a failed test left behind.
    if (auto ids = runtime_->list(); ids.ok())
      for (const auto& id : *ids)
        if (id.find(taskId_) != std::string::npos) (void)runtime_->remove(id, true);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void run(json containers, json volumes = json::array()) {
    taskId_ = "runnerreal" + std::to_string(getpid()) + std::to_string(++counter_);
    TaskRecord r;
    r.taskArn = "arn:aws:ecs:eu-west-3:123456789012:task/c/" + taskId_;
    r.task = {{"taskArn", r.taskArn},
              {"clusterArn", "arn:aws:ecs:eu-west-3:123456789012:cluster/c"},
              {"taskDefinition", {{"containerDefinitions", containers}, {"volumes", volumes}, {"networkMode", "none"}}}};
    runner_ = std::make_unique<TaskRunner>(*env_, r, false);
  }

  template <typename Pred>
  std::optional<json> waitFor(Pred pred, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      for (const auto& c : reporter_.changes())
        if (pred(c)) return c;
      std::this_thread::sleep_for(50ms);
    }
    return std::nullopt;
  }

  std::string dir_, taskId_;
  int counter_ = 0;
  SystemClock clock_;
  FakeImageStore images_;
  BusyboxRootfs rootfs_;
  testing::RecordingReporter reporter_;
  std::unique_ptr<runtime::ConmonRuntime> runtime_;
  std::unique_ptr<LocalRecord> record_;
  std::unique_ptr<TaskEnv> env_;
  std::unique_ptr<TaskRunner> runner_;
};

TEST_F(TaskRunnerRealTest, VolumeHandOffWithSuccessAndHealthyGating) {
  run(json::array(
          {{{"name", "init"}, {"image", "busybox"}, {"essential", false},
            {"command", {"sh", "-c", "echo hello-from-init > /out/msg"}},
            {"mountPoints", {{{"sourceVolume", "handoff"}, {"containerPath", "/out"}}}}},
           {{"name", "db"}, {"image", "busybox"}, {"essential", false}, {"stopTimeout", 1},
            {"command", {"sh", "-c", "sleep 1; touch /tmp/ready; exec sleep 1000"}},
            {"healthCheck", {{"command", {"CMD-SHELL", "test -f /tmp/ready"}}, {"interval", 5}, {"timeout", 3}}}},
           {{"name", "app"}, {"image", "busybox"},
            {"dependsOn", {{{"containerName", "init"}, {"condition", "SUCCESS"}},
                           {{"containerName", "db"}, {"condition", "HEALTHY"}}}},
            {"command", {"sh", "-c", "test \"$(cat /in/msg)\" = hello-from-init"}},
            {"mountPoints", {{{"sourceVolume", "handoff"}, {"containerPath", "/in"}, {"readOnly", true}}}}}}),
      json::array({{{"name", "handoff"}}}));
  auto stopped = waitFor([](const json& c) { return c["status"] == "STOPPED"; }, 40s);
  ASSERT_TRUE(stopped.has_value()) << (reporter_.changes().empty() ? "" : reporter_.changes().back().dump());
  EXPECT_EQ(containerIn(*stopped, "init")["exitCode"], 0);
  EXPECT_EQ(containerIn(*stopped, "app")["exitCode"], 0) << "app read what init wrote: " << stopped->dump();
  // app ran only once db was HEALTHY: no report shows app RUNNING/STOPPED before db HEALTHY.
  bool dbHealthy = false;
  for (const auto& c : reporter_.changes()) {
    if (containerIn(c, "db")["healthStatus"] == "HEALTHY") dbHealthy = true;
    if (containerIn(c, "app")["status"] != "PENDING") {
      EXPECT_TRUE(dbHealthy) << c.dump();
      break;
    }
  }
  EXPECT_TRUE(dbHealthy);
  EXPECT_FALSE(fs::exists(dir_ + "/tasks/" + taskId_ + "/volumes/handoff")) << "task-scoped volume removed";
}

TEST_F(TaskRunnerRealTest, FailingCheckMakesTheContainerUnhealthyAndTheTaskRuns) {
  run(json::array({{{"name", "web"}, {"image", "busybox"}, {"stopTimeout", 1},
                    {"command", {"sleep", "1000"}},
                    {"healthCheck", {{"command", {"CMD", "false"}}, {"interval", 5}, {"retries", 1}}}}}));
  auto unhealthy = waitFor([](const json& c) { return containerIn(c, "web")["healthStatus"] == "UNHEALTHY"; }, 20s);
  ASSERT_TRUE(unhealthy.has_value());
  EXPECT_EQ((*unhealthy)["status"], "RUNNING");
  runner_->setDesiredStatus("STOPPED");
  ASSERT_TRUE(waitFor([](const json& c) { return c["status"] == "STOPPED"; }, 20s).has_value());
}

}  // namespace
}  // namespace berth::agent
