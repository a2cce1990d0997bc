#include "agent/task_runner.h"
#include "agent/testing/recording_reporter.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "agent/fake_node.h"
#include "runtime/fake_runtime.h"

// Behaviours and envs are aggregates whose later members keep their defaults on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace berth::agent {

namespace {

using namespace std::chrono_literals;
using nlohmann::json;

using testing::RecordingReporter;

// Every hook call, in order, across fakes (hook order tests).
class CallLog {
 public:
  void add(const std::string& call) {
    std::lock_guard lock(mu_);
    calls_.push_back(call);
  }
  std::vector<std::string> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  // Calls that start with `prefix` (e.g. "network.").
  std::vector<std::string> only(const std::string& prefix) const {
    std::vector<std::string> out;
    for (const auto& c : calls())
      if (c.rfind(prefix, 0) == 0) out.push_back(c);
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> calls_;
};

class FakeNetworking final : public network::TaskNetworking {
 public:
  explicit FakeNetworking(CallLog& log) : log_(log) {}
  Result<network::TaskNetwork> setup(const network::TaskNetworkRequest& req) override {
    log_.add("network.setup " + req.networkMode);
    if (failWith) return *failWith;
    network::TaskNetwork n;
    n.networkMode = req.networkMode;
    n.netnsPath = req.networkMode == "host" ? "" : "/run/netns/fake-" + req.taskId;
    if (req.networkMode != "host") {
      n.ipv4Address = "10.88.0.7";
      n.ipv4SubnetCidrBlock = "10.88.0.0/16";
      n.gatewayIpv4Address = "10.88.0.1";
      n.macAddress = "02:42:0a:58:00:07";
    }
    int dynamic = 40000;
    for (const auto& pm : req.portMappings)
      n.bindings.push_back({pm.containerName, "0.0.0.0", pm.containerPort, pm.hostPort ? pm.hostPort : dynamic++,
                            pm.protocol});
    lastRequest = req;
    saved = n;
    return n;
  }
  Result<std::optional<network::TaskNetwork>> recover(const std::string& taskId) override {
    log_.add("network.recover " + taskId);
    return saved;
  }
  Status teardown(const std::string& taskId) override {
    log_.add("network.teardown " + taskId);
    return okStatus();
  }
  std::optional<Error> failWith;
  std::optional<network::TaskNetwork> saved;
  network::TaskNetworkRequest lastRequest;

 private:
  CallLog& log_;
};

class FakeSecrets final : public SecretResolver {
 public:
  explicit FakeSecrets(CallLog& log) : log_(log) {}
  Result<std::vector<std::pair<std::string, std::string>>> resolve(const std::vector<ContainerSecret>& secrets,
                                                                     const TaskPlan&) override {
    log_.add("secrets.resolve");
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& s : secrets) {
      if (s.valueFrom == "/missing")
        return Error::make(ErrorCode::kNotFound, "ResourceInitializationError: unable to retrieve secret from ssm: "
                                                 "parameter /missing does not exist");
      out.emplace_back(s.name, "s3cret-of-" + s.valueFrom);
    }
    return out;
  }

 private:
  CallLog& log_;
};

class FakeMetadata final : public TaskMetadataService {
 public:
  explicit FakeMetadata(CallLog& log) : log_(log) {}
  Result<MetadataEnv> registerTask(const MetadataRegistration& reg) override {
    log_.add("metadata.register");
    {
      std::lock_guard lock(mu_);
      last = reg;
    }
    MetadataEnv env;
    for (const auto& [name, id] : reg.containers)
      env[name] = {{"ECS_CONTAINER_METADATA_URI_V4", "http://169.254.170.2/v4/" + id}};
    return env;
  }
  void unregisterTask(const std::string& taskId) override { log_.add("metadata.unregister " + taskId); }
  TaskViewFn viewFn() {
    std::lock_guard lock(mu_);
    return last ? last->view : TaskViewFn();
  }

 private:
  std::mutex mu_;
  std::optional<MetadataRegistration> last;
  CallLog& log_;
};

class FakeLogs final : public LogShipping {
 public:
  explicit FakeLogs(CallLog& log) : log_(log) {}
  Status attach(const std::string& runtimeId, const std::string&, const AwsLogsTarget& target) override {
    log_.add("logs.attach " + runtimeId + " " + target.group);
    return okStatus();
  }
  void detach(const std::string& runtimeId) override { log_.add("logs.detach " + runtimeId); }

 private:
  CallLog& log_;
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
    runtime_ = std::make_unique<runtime::FakeRuntime>(clock());
    env_ = std::make_unique<TaskEnv>(TaskEnv{images_, *runtime_, rootfs_, reporter_, *record_, clock(), fakeSpec,
                                             (dir_ / "tasks").string(), images::PullBehavior::kDefault, 1s, 10ms});
    env_->healthPollInterval = 5ms;
    env_->volumesDir = (dir_ / "volumes").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<TaskRunner> run(const std::string& id, json containers, json taskDefExtra = json::object()) {
    TaskRecord r;
    r.taskArn = "arn:aws:ecs:eu-west-3:123456789012:task/c/" + id;
    r.task = taskDoc(id, std::move(containers));
    for (auto it = taskDefExtra.begin(); it != taskDefExtra.end(); ++it) r.task["taskDefinition"][it.key()] = it.value();
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

  // Same, for the task with this id (several tasks report to one reporter).
  bool waitForTask(const std::string& id, const std::string& status, std::chrono::milliseconds timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto last = reporter_.last();
      if (last && (*last)["status"] == status && (*last)["task"].get<std::string>().ends_with("/" + id)) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  json containerIn(const json& change, const std::string& name) {
    for (const auto& c : change["containers"])
      if (c["containerName"] == name) return c;
    return json();
  }

  // Health-check and timeout tests drive a FakeClock; the rest run in real time.
  virtual const Clock& clock() const { return systemClock_; }

  std::filesystem::path dir_;
  SystemClock systemClock_;
  std::unique_ptr<runtime::FakeRuntime> runtime_;
  FakeImageStore images_;
  DirectoryRootfs rootfs_;
  RecordingReporter reporter_;
  std::unique_ptr<LocalRecord> record_;
  std::unique_ptr<TaskEnv> env_;
};

TEST_F(TaskRunnerTest, RunsToCompletionAndReportsExitCode) {
  runtime_->setBehaviorForIdPrefix("berth-t1-", {50ms, 3});
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
  runtime_->setBehaviorForIdPrefix("berth-t3-", stubborn);
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
  runtime_->setBehaviorForIdPrefix("berth-t4-main", {50ms, 0});
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
  runtime_->setBehaviorForIdPrefix("berth-t5-side", {30ms, 5});
  auto r = run("t5", json::array({{{"name", "main"}, {"image", "busybox"}},
                                  {{"name", "side"}, {"image", "busybox"}, {"essential", false}}}));
  auto deadline = std::chrono::steady_clock::now() + 5s;
  json last;
  while (std::chrono::steady_clock::now() < deadline) {
    auto l = reporter_.last();
    if (l && containerIn(*l, "side")["status"] == "STOPPED") {
      last = *l;
      break;
    }
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
  runtime_->setBehaviorForIdPrefix("berth-t7-", oom);
  auto r = run("t7", json::array({{{"name", "app"}, {"image", "busybox"}}}));
  ASSERT_TRUE(waitForStatus("STOPPED"));
  auto c = containerIn(*reporter_.last(), "app");
  EXPECT_EQ(c["exitCode"], 137);
  EXPECT_EQ(c["reason"].get<std::string>().rfind("OutOfMemoryError", 0), 0u);
}

TEST_F(TaskRunnerTest, RecoversRunningAndExitedContainersAfterRestart) {
  runtime_->setBehaviorForIdPrefix("berth-t8-short", {300ms, 42});
  {
    auto r = run("t8", json::array({{{"name", "long"}, {"image", "busybox"}},
                                    {{"name", "short"}, {"image", "busybox"}, {"essential", false}}}));
    ASSERT_TRUE(waitForStatus("RUNNING"));
  }  // the runner goes away (agent restart); containers keep running
  EXPECT_EQ(runtime_->state("berth-t8-long")->status, runtime::ContainerStatus::kRunning);
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


// --- issue #5: dependsOn, volumes, health, hooks ---------------------------

// Runs `pred` until it holds (bounded); for state the runner reaches on its own.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 5s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

bool hasMount(const json& spec, const std::string& source, const std::string& dest, bool readOnly) {
  for (const auto& m : spec["mounts"])
    if (m["source"] == source && m["destination"] == dest && m["options"][1] == (readOnly ? "ro" : "rw")) return true;
  return false;
}

std::vector<std::string> envOf(const json& spec) { return spec["process"]["env"].get<std::vector<std::string>>(); }

TEST_F(TaskRunnerTest, TaskVolumeWrittenByInitIsMountedInDependentStartedAfterSuccess) {
  runtime_->setBehaviorForIdPrefix("berth-d1-init", {80ms, 0});
  auto r = run("d1",
               json::array({{{"name", "init"}, {"image", "busybox"}, {"essential", false},
                             {"mountPoints", {{{"sourceVolume", "shared"}, {"containerPath", "/out"}}}}},
                            {{"name", "app"}, {"image", "busybox"},
                             {"dependsOn", {{{"containerName", "init"}, {"condition", "SUCCESS"}}}},
                             {"mountPoints", {{{"sourceVolume", "shared"}, {"containerPath", "/in"}, {"readOnly", true}}}}}}),
               {{"volumes", {{{"name", "shared"}}}}});
  const std::string volume = (dir_ / "tasks" / "d1" / "volumes" / "shared").string();
  // Both containers are created up front; app waits while init runs.
  ASSERT_TRUE(eventually([&] { return runtime_->state("berth-d1-app").ok(); }));
  EXPECT_EQ(runtime_->state("berth-d1-app")->status, runtime::ContainerStatus::kCreated);
  EXPECT_TRUE(std::filesystem::is_directory(volume)) << "task-scoped volume made before the containers";
  EXPECT_TRUE(hasMount(*runtime_->specForTest("berth-d1-init"), volume, "/out", false));
  EXPECT_TRUE(hasMount(*runtime_->specForTest("berth-d1-app"), volume, "/in", true));
  ASSERT_TRUE(waitForStatus("RUNNING"));
  auto init = runtime_->state("berth-d1-init");
  auto app = runtime_->state("berth-d1-app");
  ASSERT_TRUE(init.ok() && app.ok());
  EXPECT_EQ(app->status, runtime::ContainerStatus::kRunning);
  ASSERT_TRUE(init->finishedAt && app->startedAt);
  EXPECT_GE(*app->startedAt, *init->finishedAt) << "app started only after init exited 0";
  auto statuses = reporter_.statuses();
  EXPECT_EQ(statuses.front(), "PENDING") << "init ran while app waited";
  EXPECT_EQ(containerIn(*reporter_.last(), "init")["exitCode"], 0);
  r->setDesiredStatus("STOPPED");
  ASSERT_TRUE(waitForStatus("STOPPED"));
  EXPECT_FALSE(std::filesystem::exists(volume)) << "task-scoped volumes go with the task";
}

TEST_F(TaskRunnerTest, FailedSuccessDependencyStopsTaskAndDependentNeverStarts) {
  runtime_->setBehaviorForIdPrefix("berth-d2-init", {30ms, 2});
  auto r = run("d2", json::array({{{"name", "init"}, {"image", "busybox"}, {"essential", false}},
                                  {{"name", "app"}, {"image", "busybox"},
                                   {"dependsOn", {{{"containerName", "init"}, {"condition", "SUCCESS"}}}}}}));
  ASSERT_TRUE(waitForStatus("STOPPED"));
  auto last = *reporter_.last();
  EXPECT_EQ(last["stopCode"], "TaskFailedToStart");
  const std::string reason = last["reason"];
  EXPECT_NE(reason.find("container app cannot start"), std::string::npos) << reason;
  EXPECT_NE(reason.find("init exited with code 2"), std::string::npos) << reason;
  EXPECT_FALSE(containerIn(last, "app").contains("exitCode")) << "app never ran";
  EXPECT_EQ(containerIn(last, "init")["exitCode"], 2);
}

TEST_F(TaskRunnerTest, CompleteAndStartConditionsAndInvalidGraphs) {
  runtime_->setBehaviorForIdPrefix("berth-d3-job", {50ms, 7});
  auto r = run("d3", json::array({{{"name", "job"}, {"image", "busybox"}, {"essential", false}},
                                  {{"name", "db"}, {"image", "busybox"}},
                                  {{"name", "web"}, {"image", "busybox"},
                                   {"dependsOn", {{{"containerName", "job"}, {"condition", "COMPLETE"}},
                                                  {{"containerName", "db"}, {"condition", "START"}}}}}}));
  ASSERT_TRUE(waitForStatus("RUNNING"));
  EXPECT_GE(*runtime_->state("berth-d3-web")->startedAt, *runtime_->state("berth-d3-job")->finishedAt)
      << "COMPLETE accepts any exit code, after the exit";
  r->setDesiredStatus("STOPPED");
  ASSERT_TRUE(waitForStatus("STOPPED"));

  // HEALTHY on a container without healthCheck can never hold: refused up front.
  auto bad = run("d3b", json::array({{{"name", "db"}, {"image", "busybox"}},
                                     {{"name", "web"}, {"image", "busybox"},
                                      {"dependsOn", {{{"containerName", "db"}, {"condition", "HEALTHY"}}}}}}));
  ASSERT_TRUE(waitForTask("d3b", "STOPPED"));
  EXPECT_NE((*reporter_.last())["reason"].get<std::string>().find("db has no healthCheck"), std::string::npos);
  EXPECT_FALSE(runtime_->state("berth-d3b-db").ok()) << "nothing was created";
}

TEST_F(TaskRunnerTest, StopsDependentsBeforeTheirDependencies) {
  runtime::FakeBehavior stubborn;
  stubborn.ignoreSigterm = true;
  runtime_->setBehaviorForIdPrefix("berth-d4-c", stubborn);
  auto r = run("d4", json::array({{{"name", "a"}, {"image", "busybox"}},
                                  {{"name", "b"}, {"image", "busybox"},
                                   {"dependsOn", {{{"containerName", "a"}, {"condition", "START"}}}}},
                                  {{"name", "c"}, {"image", "busybox"}, {"stopTimeout", 1},
                                   {"dependsOn", {{{"containerName", "b"}, {"condition", "START"}}}}}}));
  ASSERT_TRUE(waitForStatus("RUNNING"));
  r->setDesiredStatus("STOPPED");
  ASSERT_TRUE(waitForStatus("STOPPING"));
  std::this_thread::sleep_for(300ms);
  // c ignores SIGTERM for its 1 s stopTimeout; b and a wait for it.
  EXPECT_EQ(runtime_->signalsForTest("berth-d4-c"), std::vector<int>{SIGTERM});
  EXPECT_TRUE(runtime_->signalsForTest("berth-d4-b").empty());
  EXPECT_TRUE(runtime_->signalsForTest("berth-d4-a").empty());
  ASSERT_TRUE(eventually([&] { return !runtime_->signalsForTest("berth-d4-a").empty(); }, 3s));
  EXPECT_EQ(runtime_->state("berth-d4-c")->exitCode, 128 + SIGKILL);
  EXPECT_EQ(runtime_->signalsForTest("berth-d4-b"), std::vector<int>{SIGTERM});
  ASSERT_TRUE(waitForStatus("STOPPED"));
}

TEST_F(TaskRunnerTest, VolumesResolveToBindMounts) {
  const auto hostDir = dir_ / "host-data";
  std::filesystem::create_directories(dir_ / "volumes" / "existing");
  auto r = run("v1",
               json::array({{{"name", "app"}, {"image", "busybox"},
                             {"mountPoints", {{{"sourceVolume", "hostvol"}, {"containerPath", "/data"}},
                                              {{"sourceVolume", "auto"}, {"containerPath", "/auto"}, {"readOnly", true}},
                                              {{"sourceVolume", "existing"}, {"containerPath", "/existing"}}}}},
                            {{"name", "side"}, {"image", "busybox"},
                             {"volumesFrom", {{{"sourceContainer", "app"}, {"readOnly", true}}}}}}),
               {{"volumes",
                 {{{"name", "hostvol"}, {"host", {{"sourcePath", hostDir.string()}}}},
                  {{"name", "auto"}, {"dockerVolumeConfiguration", {{"scope", "shared"}, {"autoprovision", true}}}},
                  {{"name", "existing"}, {"dockerVolumeConfiguration", {{"scope", "shared"}}}}}}});
  ASSERT_TRUE(waitForStatus("RUNNING"));
  auto app = *runtime_->specForTest("berth-v1-app");
  auto side = *runtime_->specForTest("berth-v1-side");
  const auto autoDir = (dir_ / "volumes" / "auto").string();
  const auto existing = (dir_ / "volumes" / "existing").string();
  EXPECT_TRUE(hasMount(app, hostDir.string(), "/data", false));
  EXPECT_TRUE(hasMount(app, autoDir, "/auto", true));
  EXPECT_TRUE(hasMount(app, existing, "/existing", false));
  // volumesFrom copies every mount; readOnly there makes them read-only.
  EXPECT_TRUE(hasMount(side, hostDir.string(), "/data", true));
  EXPECT_TRUE(hasMount(side, autoDir, "/auto", true));
  EXPECT_TRUE(hasMount(side, existing, "/existing", true));
  EXPECT_TRUE(std::filesystem::is_directory(hostDir));
  r->setDesiredStatus("STOPPED");
  ASSERT_TRUE(waitForStatus("STOPPED"));
  EXPECT_TRUE(std::filesystem::is_directory(autoDir)) << "shared volumes outlive the task";
  EXPECT_TRUE(std::filesystem::is_directory(hostDir));

  // A shared volume without autoprovision must exist.
  auto missing = run("v2", json::array({{{"name", "app"}, {"image", "busybox"},
                                         {"mountPoints", {{{"sourceVolume", "nope"}, {"containerPath", "/x"}}}}}}),
                     {{"volumes", {{{"name", "nope"}, {"dockerVolumeConfiguration", {{"scope", "shared"}}}}}}});
  ASSERT_TRUE(waitForTask("v2", "STOPPED"));
  auto last = *reporter_.last();
  EXPECT_EQ(last["stopCode"], "TaskFailedToStart");
  EXPECT_NE(last["reason"].get<std::string>().find("shared volume nope does not exist"), std::string::npos)
      << last.dump();
}

TEST_F(TaskRunnerTest, SecretsReachTheSpecButNeverTheReportsOrTheRecord) {
  CallLog calls;
  FakeSecrets secrets(calls);
  env_->secrets = &secrets;
  auto r = run("s1", json::array({{{"name", "app"}, {"image", "busybox"},
                                   {"environment", {{{"name", "PLAIN"}, {"value", "visible"}}}},
                                   {"secrets", {{{"name", "DB_PASS"}, {"valueFrom", "/prod/db"}}}}}}));
  ASSERT_TRUE(waitForStatus("RUNNING"));
  auto env = envOf(*runtime_->specForTest("berth-s1-app"));
  EXPECT_NE(std::find(env.begin(), env.end(), "DB_PASS=s3cret-of-/prod/db"), env.end());
  EXPECT_NE(std::find(env.begin(), env.end(), "PLAIN=visible"), env.end());
  r->setDesiredStatus("STOPPED");
  ASSERT_TRUE(waitForStatus("STOPPED"));
  for (const auto& change : reporter_.changes()) EXPECT_EQ(change.dump().find("s3cret"), std::string::npos);
  EXPECT_EQ(toJson(record_->snapshot()).dump().find("s3cret"), std::string::npos);
  std::ifstream persisted(dir_ / "agent-state.json");
  std::stringstream content;
  content << persisted.rdbuf();
  EXPECT_FALSE(content.str().empty());
  EXPECT_EQ(content.str().find("s3cret"), std::string::npos);
}

TEST_F(TaskRunnerTest, SecretErrorsStopTheTaskWithTheResolversMessage) {
  CallLog calls;
  FakeSecrets secrets(calls);
  auto r = run("s2", json::array({{{"name", "app"}, {"image", "busybox"},
                                   {"secrets", {{{"name", "X"}, {"valueFrom", "/prod/x"}}}}}}));
  ASSERT_TRUE(waitForStatus("STOPPED"));
  EXPECT_NE((*reporter_.last())["reason"].get<std::string>().find("no secret resolver"), std::string::npos);

  env_->secrets = &secrets;
  auto r2 = run("s3", json::array({{{"name", "app"}, {"image", "busybox"},
                                    {"secrets", {{{"name", "X"}, {"valueFrom", "/missing"}}}}}}));
  ASSERT_TRUE(waitForTask("s3", "STOPPED"));
  auto last = *reporter_.last();
  EXPECT_EQ(last["stopCode"], "TaskFailedToStart");
  EXPECT_EQ(last["reason"], "ResourceInitializationError: unable to retrieve secret from ssm: parameter /missing does not exist");
  EXPECT_FALSE(runtime_->state("berth-s3-app").ok());
}

TEST_F(TaskRunnerTest, HooksRunInOrderAndNetworkIsReported) {
  CallLog calls;
  FakeNetworking network(calls);
  FakeSecrets secrets(calls);
  FakeMetadata metadata(calls);
  FakeLogs logs(calls);
  env_->network = &network;
  env_->secrets = &secrets;
  env_->metadata = &metadata;
  env_->logs = &logs;
  auto r = run("n1",
               json::array({{{"name", "web"}, {"image", "busybox"},
                             {"portMappings", {{{"containerPort", 80}, {"hostPort", 8080}},
                                               {{"containerPort", 9000}, {"protocol", "udp"}}}},
                             {"secrets", {{{"name", "K"}, {"valueFrom", "/k"}}}},
                             {"logConfiguration", {{"logDriver", "awslogs"}, {"options", {{"awslogs-group", "g"}}}}}},
                            {{"name", "side"}, {"image", "busybox"}}}),
               {{"networkMode", "bridge"}});
  ASSERT_TRUE(waitForStatus("RUNNING"));
  // The request carries every port mapping, 0 for a dynamic host port.
  ASSERT_EQ(network.lastRequest.portMappings.size(), 2u);
  EXPECT_EQ(network.lastRequest.portMappings[1].hostPort, 0);
  EXPECT_EQ(network.lastRequest.portMappings[1].protocol, "udp");
  auto last = *reporter_.last();
  auto bindings = containerIn(last, "web")["networkBindings"];
  ASSERT_EQ(bindings.size(), 2u) << last.dump();
  EXPECT_EQ(bindings[0], json({{"bindIP", "0.0.0.0"}, {"containerPort", 80}, {"hostPort", 8080}, {"protocol", "tcp"}}));
  EXPECT_EQ(bindings[1]["hostPort"], 40000);
  EXPECT_FALSE(containerIn(last, "side").contains("networkBindings"));
  EXPECT_EQ(last["networkInterface"]["privateIPv4Address"], "10.88.0.7");
  EXPECT_EQ(last["networkInterface"]["gatewayIpv4Address"], "10.88.0.1");
  // Each container joins the task's namespace, gets its hosts/resolv.conf and the metadata variable.
  auto spec = *runtime_->specForTest("berth-n1-side");
  EXPECT_EQ(spec["linux"]["namespaces"][0]["path"], "/run/netns/fake-n1");
  const auto taskDir = (dir_ / "tasks" / "n1").string();
  EXPECT_TRUE(hasMount(spec, taskDir + "/hosts", "/etc/hosts", true));
  EXPECT_TRUE(hasMount(spec, taskDir + "/resolv.conf", "/etc/resolv.conf", true));
  std::ifstream hosts(taskDir + "/hosts");
  std::stringstream hostsText;
  hostsText << hosts.rdbuf();
  EXPECT_NE(hostsText.str().find("10.88.0.7\tberth-n1-web web berth-n1-sid side"), std::string::npos)
      << hostsText.str();
  auto env = envOf(spec);
  EXPECT_NE(std::find(env.begin(), env.end(), "ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/berth-n1-side"),
            env.end());
  // The metadata view is a live snapshot of the runner.
  auto view = metadata.viewFn()();
  EXPECT_EQ(view.record.lastStatus, "RUNNING");
  ASSERT_TRUE(view.network.has_value());
  EXPECT_EQ(view.network->ipv4Address, "10.88.0.7");

  r->setDesiredStatus("STOPPED");
  ASSERT_TRUE(waitForStatus("STOPPED"));
  EXPECT_EQ(calls.calls(), (std::vector<std::string>{"secrets.resolve", "network.setup bridge", "metadata.register",
                                                     "logs.attach berth-n1-web g", "logs.detach berth-n1-web",
                                                     "metadata.unregister n1", "network.teardown n1"}));
}

TEST_F(TaskRunnerTest, HostModeUsesTheHostsNamespaceAndNames) {
  CallLog calls;
  FakeNetworking network(calls);
  env_->network = &network;
  auto r = run("n5", json::array({{{"name", "web"}, {"image", "busybox"},
                                   {"portMappings", {{{"containerPort", 8081}, {"hostPort", 8081}}}}}}),
               {{"networkMode", "host"}});
  ASSERT_TRUE(waitForStatus("RUNNING"));
  auto spec = *runtime_->specForTest("berth-n5-web");
  EXPECT_TRUE(spec["linux"]["namespaces"].empty()) << "no network namespace of its own";
  if (std::filesystem::exists("/etc/resolv.conf")) {
    EXPECT_TRUE(hasMount(spec, "/etc/resolv.conf", "/etc/resolv.conf", true));
  }
  auto last = *reporter_.last();
  EXPECT_EQ(containerIn(last, "web")["networkBindings"][0]["hostPort"], 8081);
  EXPECT_FALSE(last.contains("networkInterface")) << "host mode has no task interface";
  r->setDesiredStatus("STOPPED");
  ASSERT_TRUE(waitForStatus("STOPPED"));
}

TEST_F(TaskRunnerTest, NetworkSetupFailureAndHalfwayFailuresCleanUp) {
  CallLog calls;
  FakeNetworking network(calls);
  FakeMetadata metadata(calls);
  env_->network = &network;
  env_->metadata = &metadata;
  network.failWith = Error::make(ErrorCode::kConflict, "host port 8080/tcp is already in use");
  auto r = run("n2", json::array({{{"name", "web"}, {"image", "busybox"}}}));
  ASSERT_TRUE(waitForStatus("STOPPED"));
  auto last = *reporter_.last();
  EXPECT_EQ(last["stopCode"], "TaskFailedToStart");
  EXPECT_EQ(last["reason"], "ResourceInitializationError: host port conflict: host port 8080/tcp is already in use");
  EXPECT_EQ(calls.calls(), std::vector<std::string>{"network.setup bridge"}) << "a failed setup leaves nothing";

  // Create fails after the network and metadata were set up: both are undone.
  network.failWith.reset();
  runtime::FakeBehavior broken;
  broken.createError = Error::make(ErrorCode::kInternal, "runc create failed");
  runtime_->setBehaviorForIdPrefix("berth-n3-", broken);
  auto r2 = run("n3", json::array({{{"name", "web"}, {"image", "busybox"}}}));
  ASSERT_TRUE(waitForTask("n3", "STOPPED"));
  EXPECT_EQ(calls.only("network.teardown"), std::vector<std::string>{"network.teardown n3"});
  EXPECT_EQ(calls.only("metadata.").back(), "metadata.unregister n3");
  EXPECT_NE((*reporter_.last())["reason"].get<std::string>().find("CannotCreateContainerError"), std::string::npos);
}

TEST_F(TaskRunnerTest, RecoverReattachesHooksAndTearsDownAtTheEnd) {
  CallLog calls;
  FakeNetworking network(calls);
  FakeMetadata metadata(calls);
  FakeLogs logs(calls);
  env_->network = &network;
  env_->metadata = &metadata;
  env_->logs = &logs;
  {
    auto r = run("n4", json::array({{{"name", "web"}, {"image", "busybox"},
                                     {"portMappings", {{{"containerPort", 80}}}},
                                     {"logConfiguration", {{"logDriver", "awslogs"}, {"options", {{"awslogs-group", "g"}}}}}}}));
    ASSERT_TRUE(waitForStatus("RUNNING"));
  }  // agent restart
  auto before = calls.calls().size();
  auto reportsBefore = reporter_.changes().size();
  auto saved = record_->snapshot().tasks.at("arn:aws:ecs:eu-west-3:123456789012:task/c/n4");
  TaskRunner recovered(*env_, saved, /*recovering=*/true);
  ASSERT_TRUE(eventually([&] { return calls.calls().size() >= before + 3; }));
  auto after = calls.calls();
  EXPECT_EQ(std::vector<std::string>(after.begin() + before, after.end()),
            (std::vector<std::string>{"network.recover n4", "metadata.register", "logs.attach berth-n4-web g"}));
  // Bindings survive the restart in reports.
  ASSERT_TRUE(eventually([&] {
    return reporter_.changes().size() > reportsBefore && containerIn(*reporter_.last(), "web").contains("networkBindings");
  }));
  recovered.setDesiredStatus("STOPPED");
  ASSERT_TRUE(waitForStatus("STOPPED"));
  EXPECT_EQ(calls.only("network.teardown"), std::vector<std::string>{"network.teardown n4"});
  EXPECT_EQ(calls.only("logs.detach"), std::vector<std::string>{"logs.detach berth-n4-web"});
}

// Health checks run on a FakeClock: intervals are seconds (5 s at least).
class TaskRunnerHealthTest : public TaskRunnerTest {
 protected:
  const Clock& clock() const override { return fakeClock_; }
  // Advances the clock by one interval and waits until the container has
  // been probed `probes` times in all.
  bool probe(const std::string& runtimeId, std::size_t probes) {
    fakeClock_.advance(5s);
    return eventually([&] { return runtime_->execsForTest(runtimeId).size() >= probes; });
  }
  FakeClock fakeClock_;
};

TEST_F(TaskRunnerHealthTest, HealthyDependencyHoldsTheDependentBackUntilTheCheckPasses) {
  runtime_->setExecResultsForIdPrefix("berth-h1-db", {{1, false, ""}, {0, false, ""}});
  auto r = run("h1", json::array({{{"name", "db"}, {"image", "busybox"},
                                   {"healthCheck", {{"command", {"CMD-SHELL", "pg_isready", "-q"}}, {"interval", 5}}}},
                                  {{"name", "web"}, {"image", "busybox"},
                                   {"dependsOn", {{{"containerName", "db"}, {"condition", "HEALTHY"}}}}}}));
  ASSERT_TRUE(waitForStatus("PENDING"));
  ASSERT_TRUE(probe("berth-h1-db", 1));
  EXPECT_EQ(runtime_->execsForTest("berth-h1-db")[0].argv,
            (std::vector<std::string>{"/bin/sh", "-c", "pg_isready -q"}));
  EXPECT_EQ(runtime_->execsForTest("berth-h1-db")[0].timeout, 5s) << "ECS's default timeout";
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(runtime_->state("berth-h1-web")->status, runtime::ContainerStatus::kCreated) << "one failure: still waiting";
  ASSERT_TRUE(probe("berth-h1-db", 2));
  ASSERT_TRUE(waitForStatus("RUNNING"));
  EXPECT_EQ(runtime_->state("berth-h1-web")->status, runtime::ContainerStatus::kRunning);
  auto last = *reporter_.last();
  EXPECT_EQ(containerIn(last, "db")["healthStatus"], "HEALTHY");
  EXPECT_EQ(containerIn(last, "web")["healthStatus"], "UNKNOWN");
  r->setDesiredStatus("STOPPED");
  ASSERT_TRUE(waitForStatus("STOPPED"));
}

TEST_F(TaskRunnerHealthTest, FailuresAfterStartPeriodMakeItUnhealthyButTheTaskKeepsRunning) {
  runtime_->setExecResultsForIdPrefix("berth-h2-app", {{1, false, "down"}});
  auto r = run("h2", json::array({{{"name", "app"}, {"image", "busybox"},
                                   {"healthCheck", {{"command", {"CMD", "check"}}, {"interval", 5}, {"retries", 2},
                                                    {"startPeriod", 10}, {"timeout", 2}}}}}));
  ASSERT_TRUE(waitForStatus("RUNNING"));
  ASSERT_TRUE(probe("berth-h2-app", 1));  // t=5: inside startPeriod, does not count
  ASSERT_TRUE(probe("berth-h2-app", 2));  // t=10: first counted failure
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(containerIn(*reporter_.last(), "app")["healthStatus"], "UNKNOWN");
  ASSERT_TRUE(probe("berth-h2-app", 3));  // t=15: second → UNHEALTHY (retries 2)
  ASSERT_TRUE(eventually([&] { return containerIn(*reporter_.last(), "app")["healthStatus"] == "UNHEALTHY"; }));
  EXPECT_EQ((*reporter_.last())["status"], "RUNNING") << "ECS keeps a standalone UNHEALTHY task running";
  EXPECT_EQ(runtime_->execsForTest("berth-h2-app")[0].argv, std::vector<std::string>{"check"});
  EXPECT_EQ(runtime_->execsForTest("berth-h2-app")[0].timeout, 2s);
  // A pass brings it back.
  runtime_->setExecResultsForIdPrefix("berth-h2-app", {{0, false, ""}});
  ASSERT_TRUE(probe("berth-h2-app", 4));
  ASSERT_TRUE(eventually([&] { return containerIn(*reporter_.last(), "app")["healthStatus"] == "HEALTHY"; }));
  r->setDesiredStatus("STOPPED");
  ASSERT_TRUE(waitForStatus("STOPPED"));
}

TEST_F(TaskRunnerHealthTest, DependencyStartTimeoutStopsTheTask) {
  runtime_->setExecResultsForIdPrefix("berth-h3-db", {{1, false, ""}});
  auto r = run("h3", json::array({{{"name", "db"}, {"image", "busybox"}, {"startTimeout", 12},
                                   {"healthCheck", {{"command", {"CMD", "false"}}, {"interval", 5}, {"retries", 10}}}},
                                  {{"name", "web"}, {"image", "busybox"},
                                   {"dependsOn", {{{"containerName", "db"}, {"condition", "HEALTHY"}}}}}}));
  ASSERT_TRUE(waitForStatus("PENDING"));
  ASSERT_TRUE(probe("berth-h3-db", 1));
  ASSERT_TRUE(probe("berth-h3-db", 2));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ((*reporter_.last())["status"], "PENDING");
  fakeClock_.advance(3s);  // 13 s after db started
  ASSERT_TRUE(waitForStatus("STOPPED"));
  auto last = *reporter_.last();
  EXPECT_EQ(last["stopCode"], "TaskFailedToStart");
  EXPECT_NE(last["reason"].get<std::string>().find("did not reach HEALTHY within its startTimeout (12s)"),
            std::string::npos)
      << last.dump();
}

}  // namespace
}  // namespace berth::agent
