#include "agent/simulated_fleet.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <thread>

namespace berth::agent {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// An in-memory server for the fleet: instances, their tasks (as PollTasks
// documents), a version bumped by every change, and the reports it took.
class FakeFleetChannel final : public FleetChannel {
 public:
  Result<std::string> createCluster(const std::string& name) override { return "arn:aws:ecs:us-east-1:1:cluster/" + name; }

  Result<std::string> registerContainerInstance(const json& request) override {
    int now = ++registeringNow_;
    {
      std::lock_guard lock(mu_);
      maxRegistering_ = std::max(maxRegistering_, now);
      registrations_.push_back(request);
    }
    std::this_thread::sleep_for(registrationTime);
    --registeringNow_;
    std::lock_guard lock(mu_);
    if (request.contains("containerInstanceArn")) {
      std::string arn = request["containerInstanceArn"];
      if (!active_.count(arn)) return Error::make(ErrorCode::kClient, "not registered", "ClientException");
      return arn;
    }
    std::string arn = "arn:aws:ecs:us-east-1:1:container-instance/c/" + std::to_string(++nextInstance_);
    active_.insert(arn);
    return arn;
  }

  Result<PollBatchResult> pollTasks(const std::string&, const std::vector<std::string>& arns, std::int64_t since,
                                    std::chrono::seconds wait) override {
    std::unique_lock lock(mu_);
    polls_.push_back(arns);
    auto changed = [&] {
      for (const auto& a : arns)
        if (changedAt_[a] > since) return true;
      return false;
    };
    cv_.wait_for(lock, std::min<std::chrono::milliseconds>(wait, 100ms), [&] { return cancelled_ || changed(); });
    if (cancelled_) return Error::make(ErrorCode::kUnavailable, "cancelled");
    PollBatchResult r;
    r.version = version_;
    for (const auto& a : arns) {
      if (changedAt_[a] <= since) continue;
      InstanceTasks it{a, active_.count(a) ? "ACTIVE" : "INACTIVE", json::array()};
      for (const auto& [arn, doc] : tasks_)
        if (doc["containerInstanceArn"] == a && (doc["lastStatus"] != "STOPPED" || taskChangedAt_[arn] > since))
          it.tasks.push_back(doc);
      r.instances.push_back(std::move(it));
    }
    return r;
  }

  Status submitTaskStateChange(const json& change) override {
    std::lock_guard lock(mu_);
    if (cancelled_) return Error::make(ErrorCode::kUnavailable, "cancelled");
    if (failNext > 0 || failAll) {
      if (failNext > 0) --failNext;
      ++failed_;
      return Error::make(ErrorCode::kUnavailable, "server away");
    }
    reports_.push_back(change);
    auto& doc = tasks_[change["task"].get<std::string>()];
    static const std::map<std::string, int> order = {{"PENDING", 1}, {"RUNNING", 2}, {"STOPPED", 3}};
    if (order.at(change["status"]) > order.at(doc["lastStatus"])) {
      doc["lastStatus"] = change["status"];
      touchLocked(doc["taskArn"], doc["containerInstanceArn"]);
    }
    return okStatus();
  }

  void cancel() override {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }

  // --- the test's side of the server --------------------------------------
  void resetAfterCancel() {
    std::lock_guard lock(mu_);
    cancelled_ = false;
  }
  void putTask(const std::string& instanceArn, const std::string& taskArn, const std::string& image = "busybox",
               const std::string& lastStatus = "PENDING") {
    std::lock_guard lock(mu_);
    tasks_[taskArn] = json{{"taskArn", taskArn},
                           {"containerInstanceArn", instanceArn},
                           {"lastStatus", lastStatus},
                           {"desiredStatus", "RUNNING"},
                           {"containers", json::array({{{"name", "web"}}, {{"name", "side"}}})},
                           {"taskDefinition",
                            {{"containerDefinitions",
                              json::array({{{"name", "web"}, {"image", image}, {"essential", true}},
                                           {{"name", "side"}, {"image", "busybox"}, {"essential", false}}})}}}};
    touchLocked(taskArn, instanceArn);
  }
  void stopTask(const std::string& taskArn, const std::string& reason) {
    std::lock_guard lock(mu_);
    auto& doc = tasks_[taskArn];
    doc["desiredStatus"] = "STOPPED";
    doc["stoppedReason"] = reason;
    touchLocked(taskArn, doc["containerInstanceArn"]);
  }
  void deregister(const std::string& instanceArn) {
    std::lock_guard lock(mu_);
    active_.erase(instanceArn);
    changedAt_[instanceArn] = ++version_;
    cv_.notify_all();
  }
  std::vector<json> reports() const {
    std::lock_guard lock(mu_);
    return reports_;
  }
  std::vector<json> reportsFor(const std::string& task) const {
    std::vector<json> out;
    for (const auto& r : reports())
      if (r["task"] == task) out.push_back(r);
    return out;
  }
  std::vector<json> registrations() const {
    std::lock_guard lock(mu_);
    return registrations_;
  }
  std::vector<std::vector<std::string>> polls() const {
    std::lock_guard lock(mu_);
    return polls_;
  }
  int maxRegistering() const {
    std::lock_guard lock(mu_);
    return maxRegistering_;
  }
  int failedReports() const {
    std::lock_guard lock(mu_);
    return failed_;
  }

  std::chrono::milliseconds registrationTime{0};
  std::atomic<int> failNext{0};
  std::atomic<bool> failAll{false};

 private:
  void touchLocked(const std::string& taskArn, const std::string& instanceArn) {
    ++version_;
    changedAt_[instanceArn] = version_;
    taskChangedAt_[taskArn] = version_;
    cv_.notify_all();
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;
  std::atomic<int> registeringNow_{0};
  int maxRegistering_ = 0;
  int nextInstance_ = 0;
  int failed_ = 0;
  std::int64_t version_ = 0;
  std::set<std::string> active_;
  std::map<std::string, std::int64_t> changedAt_;      // by instance
  std::map<std::string, std::int64_t> taskChangedAt_;  // by task
  std::map<std::string, json> tasks_;
  std::vector<json> reports_;
  std::vector<json> registrations_;
  std::vector<std::vector<std::string>> polls_;
};

template <typename F>
bool eventually(F condition, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

std::string attributeOf(const json& registration, const std::string& name) {
  for (const auto& a : registration["attributes"])
    if (a["name"] == name) return a.value("value", "");
  return "";
}

class SimulatedFleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("berth-simulate-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
            std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  SimulatedFleetOptions options(std::size_t count) {
    SimulatedFleetOptions o;
    o.count = count;
    o.dataDir = dir_.string();
    o.instance.cluster = "sim";
    o.instance.instanceType = "sim.large";
    o.instance.cpuUnits = 4096;
    o.instance.memoryMiB = 8192;
    o.instance.attributes = {{"team", "blue"}};
    o.availabilityZones = {"zone-a", "zone-b", "zone-c"};
    o.pollWait = 1s;
    o.persistInterval = 20ms;
    o.retryBackoffStart = 5ms;
    o.retryBackoffMax = 20ms;
    return o;
  }

  std::filesystem::path dir_;
  SystemClock clock_;
};

TEST_F(SimulatedFleetTest, RegistersEveryInstanceRoundRobinOverZonesWithBoundedConcurrency) {
  FakeFleetChannel server;
  server.registrationTime = 10ms;
  auto o = options(12);
  o.registrationConcurrency = 3;
  SimulatedFleet fleet(o, server, clock_);
  ASSERT_TRUE(fleet.start().ok());

  auto arns = fleet.instanceArns();
  ASSERT_EQ(arns.size(), 12u);
  EXPECT_EQ(std::set<std::string>(arns.begin(), arns.end()).size(), 12u);
  EXPECT_LE(server.maxRegistering(), 3);
  EXPECT_GE(server.maxRegistering(), 2);  // they did overlap
  std::map<std::string, int> perZone;
  std::set<std::string> ec2Ids;
  for (const auto& r : server.registrations()) {
    perZone[attributeOf(r, "ecs.availability-zone")]++;
    EXPECT_EQ(attributeOf(r, "team"), "blue");
    EXPECT_EQ(attributeOf(r, "ecs.instance-type"), "sim.large");
    EXPECT_EQ(r["totalResources"][0]["integerValue"], 4096);
    EXPECT_EQ(r["totalResources"][1]["integerValue"], 8192);
    ec2Ids.insert(json::parse(r["instanceIdentityDocument"].get<std::string>())["instanceId"].get<std::string>());
  }
  EXPECT_EQ(perZone, (std::map<std::string, int>{{"zone-a", 4}, {"zone-b", 4}, {"zone-c", 4}}));
  EXPECT_EQ(ec2Ids.size(), 12u);
}

TEST_F(SimulatedFleetTest, PollsInBatchesThatTogetherCoverEveryInstance) {
  FakeFleetChannel server;
  auto o = options(5);
  o.instancesPerPoll = 2;
  SimulatedFleet fleet(o, server, clock_);
  ASSERT_TRUE(fleet.start().ok());
  ASSERT_TRUE(eventually([&] { return server.polls().size() >= 3; }));
  std::set<std::string> polled;
  for (const auto& batch : server.polls()) {
    EXPECT_LE(batch.size(), 2u);
    polled.insert(batch.begin(), batch.end());
  }
  auto arns = fleet.instanceArns();
  EXPECT_EQ(polled, std::set<std::string>(arns.begin(), arns.end()));
}

TEST_F(SimulatedFleetTest, TaskRunsWhenItAppearsAndStopsWithExitCodeZeroAndTheServersReason) {
  FakeFleetChannel server;
  SimulatedFleet fleet(options(2), server, clock_);
  ASSERT_TRUE(fleet.start().ok());
  server.putTask(fleet.instanceArns()[1], "task-1");
  ASSERT_TRUE(eventually([&] { return !server.reportsFor("task-1").empty(); }));
  auto running = server.reportsFor("task-1").front();
  EXPECT_EQ(running["status"], "RUNNING");
  EXPECT_EQ(running["cluster"], "arn:aws:ecs:us-east-1:1:cluster/sim");
  EXPECT_GT(running["startedAt"].get<double>(), 0);
  ASSERT_EQ(running["containers"].size(), 2u);
  EXPECT_EQ(running["containers"][0]["status"], "RUNNING");
  EXPECT_FALSE(running["containers"][0].contains("exitCode"));

  server.stopTask("task-1", "scaling in");
  ASSERT_TRUE(eventually([&] { return server.reportsFor("task-1").size() == 2; }));
  auto stopped = server.reportsFor("task-1").back();
  EXPECT_EQ(stopped["status"], "STOPPED");
  EXPECT_EQ(stopped["reason"], "scaling in");
  EXPECT_FALSE(stopped.contains("stopCode"));
  for (const auto& c : stopped["containers"]) {
    EXPECT_EQ(c["status"], "STOPPED");
    EXPECT_EQ(c["exitCode"], 0);
  }
  // Once the server shows it STOPPED the fleet forgets it.
  EXPECT_TRUE(eventually([&] { return fleet.taskCount() == 0; }));
  EXPECT_EQ(server.reportsFor("task-1").size(), 2u);
}

TEST_F(SimulatedFleetTest, ImageThatDoesNotExistFailsLikeAPullFailure) {
  FakeFleetChannel server;
  SimulatedFleet fleet(options(1), server, clock_);
  ASSERT_TRUE(fleet.start().ok());
  server.putTask(fleet.instanceArns()[0], "task-bad", "registry.local/does-not-exist:1");
  ASSERT_TRUE(eventually([&] { return !server.reportsFor("task-bad").empty(); }));
  std::this_thread::sleep_for(50ms);
  auto reports = server.reportsFor("task-bad");
  ASSERT_EQ(reports.size(), 1u);  // never RUNNING
  EXPECT_EQ(reports[0]["status"], "STOPPED");
  EXPECT_EQ(reports[0]["stopCode"], "TaskFailedToStart");
  EXPECT_EQ(reports[0]["reason"],
            "CannotPullContainerError: pull access denied for registry.local/does-not-exist:1, repository does not exist");
  for (const auto& c : reports[0]["containers"]) {
    EXPECT_EQ(c["status"], "STOPPED");
    EXPECT_FALSE(c.contains("exitCode"));
  }
}

TEST_F(SimulatedFleetTest, StartAndStopDelaysFollowTheClock) {
  FakeFleetChannel server;
  FakeClock clock;
  auto o = options(1);
  o.delays.start = 5s;
  o.delays.stop = 3s;
  SimulatedFleet fleet(o, server, clock);
  ASSERT_TRUE(fleet.start().ok());
  server.putTask(fleet.instanceArns()[0], "task-slow");
  ASSERT_TRUE(eventually([&] { return fleet.taskCount() == 1; }));
  std::this_thread::sleep_for(150ms);
  EXPECT_TRUE(server.reportsFor("task-slow").empty());
  clock.advance(5s);
  ASSERT_TRUE(eventually([&] { return server.reportsFor("task-slow").size() == 1; }));
  EXPECT_EQ(server.reportsFor("task-slow")[0]["status"], "RUNNING");

  server.stopTask("task-slow", "bye");
  ASSERT_TRUE(eventually([&] { return fleet.taskForTest("task-slow")->stopRequested; }));
  clock.advance(2s);
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(server.reportsFor("task-slow").size(), 1u);
  clock.advance(1s);
  ASSERT_TRUE(eventually([&] { return server.reportsFor("task-slow").size() == 2; }));
  EXPECT_EQ(server.reportsFor("task-slow")[1]["status"], "STOPPED");
}

TEST_F(SimulatedFleetTest, StopBeforeStartReportsStoppedWithoutExitCodes) {
  FakeFleetChannel server;
  FakeClock clock;
  auto o = options(1);
  o.delays.start = 10s;
  SimulatedFleet fleet(o, server, clock);
  ASSERT_TRUE(fleet.start().ok());
  server.putTask(fleet.instanceArns()[0], "task-early");
  ASSERT_TRUE(eventually([&] { return fleet.taskCount() == 1; }));
  server.stopTask("task-early", "changed my mind");
  ASSERT_TRUE(eventually([&] { return server.reportsFor("task-early").size() == 1; }));
  auto r = server.reportsFor("task-early")[0];
  EXPECT_EQ(r["status"], "STOPPED");
  EXPECT_EQ(r["reason"], "changed my mind");
  EXPECT_FALSE(r.contains("startedAt"));
  EXPECT_FALSE(r["containers"][0].contains("exitCode"));
}

TEST_F(SimulatedFleetTest, ReportsAreRetriedUntilTheServerTakesThem) {
  FakeFleetChannel server;
  server.failNext = 4;
  SimulatedFleet fleet(options(1), server, clock_);
  ASSERT_TRUE(fleet.start().ok());
  server.putTask(fleet.instanceArns()[0], "task-r");
  ASSERT_TRUE(eventually([&] { return server.reportsFor("task-r").size() == 1; }));
  EXPECT_EQ(server.failedReports(), 4);
  EXPECT_EQ(server.reportsFor("task-r")[0]["status"], "RUNNING");
}

TEST_F(SimulatedFleetTest, ManyTasksEachReportedOnceInOrder) {
  FakeFleetChannel server;
  auto o = options(20);
  o.instancesPerPoll = 7;
  o.reportWorkers = 4;
  SimulatedFleet fleet(o, server, clock_);
  ASSERT_TRUE(fleet.start().ok());
  auto arns = fleet.instanceArns();
  for (int i = 0; i < 200; ++i) server.putTask(arns[i % arns.size()], "t-" + std::to_string(i));
  ASSERT_TRUE(eventually([&] { return server.reports().size() == 200; }));
  for (int i = 0; i < 200; i += 2) server.stopTask("t-" + std::to_string(i), "half");
  ASSERT_TRUE(eventually([&] { return server.reports().size() == 300; }));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(server.reports().size(), 300u);
  for (int i = 0; i < 200; ++i) {
    auto r = server.reportsFor("t-" + std::to_string(i));
    ASSERT_EQ(r.size(), i % 2 == 0 ? 2u : 1u) << i;
    EXPECT_EQ(r[0]["status"], "RUNNING");
    if (i % 2 == 0) {
      EXPECT_EQ(r[1]["status"], "STOPPED");
    }
  }
  EXPECT_TRUE(eventually([&] { return fleet.taskCount() == 100; }));
}

TEST_F(SimulatedFleetTest, RestartKeepsIdentitiesResendsUndeliveredReportsAndAdoptsUnknownRunningTasks) {
  FakeFleetChannel server;
  std::vector<std::string> arns;
  {
    SimulatedFleet fleet(options(2), server, clock_);
    ASSERT_TRUE(fleet.start().ok());
    arns = fleet.instanceArns();
    server.putTask(arns[0], "task-known");
    ASSERT_TRUE(eventually([&] { return server.reportsFor("task-known").size() == 1; }));
    server.failAll = true;  // the server goes away
    server.stopTask("task-known", "stop while away");
    ASSERT_TRUE(eventually([&] { return server.failedReports() >= 1; }));
    fleet.stop();
  }
  ASSERT_EQ(server.reportsFor("task-known").size(), 1u);  // STOPPED never got through
  server.resetAfterCancel();
  server.failAll = false;
  // A task the record never saw, already RUNNING on the server.
  server.putTask(arns[1], "task-unknown", "busybox", "RUNNING");
  const auto registrationsBefore = server.registrations().size();

  SimulatedFleet restarted(options(2), server, clock_);
  ASSERT_TRUE(restarted.start().ok());
  EXPECT_EQ(restarted.instanceArns(), arns);
  auto regs = server.registrations();
  ASSERT_EQ(regs.size(), registrationsBefore + 2);
  std::set<std::string> reregistered;
  for (std::size_t i = registrationsBefore; i < regs.size(); ++i) reregistered.insert(regs[i]["containerInstanceArn"]);
  EXPECT_EQ(reregistered, std::set<std::string>(arns.begin(), arns.end()));

  ASSERT_TRUE(eventually([&] { return server.reportsFor("task-known").size() == 2; }));
  EXPECT_EQ(server.reportsFor("task-known")[1]["status"], "STOPPED");
  EXPECT_EQ(server.reportsFor("task-known")[1]["reason"], "stop while away");
  ASSERT_TRUE(eventually([&] { return restarted.taskForTest("task-unknown").has_value(); }));
  EXPECT_EQ(restarted.taskForTest("task-unknown")->status, SimStatus::kRunning);
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(server.reportsFor("task-unknown").empty());  // adopted as it is: nothing to say
  server.stopTask("task-unknown", "done");
  ASSERT_TRUE(eventually([&] { return server.reportsFor("task-unknown").size() == 1; }));
  EXPECT_EQ(server.reportsFor("task-unknown")[0]["containers"][0]["exitCode"], 0);
}

TEST_F(SimulatedFleetTest, DeregisteredInstanceRegistersAnew) {
  FakeFleetChannel server;
  SimulatedFleet fleet(options(2), server, clock_);
  ASSERT_TRUE(fleet.start().ok());
  auto before = fleet.instanceArns();
  server.deregister(before[0]);
  ASSERT_TRUE(eventually([&] { auto a = fleet.instanceArns(); return !a[0].empty() && a[0] != before[0]; }));
  EXPECT_EQ(fleet.instanceArns()[1], before[1]);
  EXPECT_FALSE(server.registrations().back().contains("containerInstanceArn"));
}

TEST(SimulatedTaskTest, RecordRoundTrip) {
  SimulatedTask t;
  t.arn = "arn:task/1";
  t.instance = 7;
  t.status = SimStatus::kStopped;
  t.reported = SimStatus::kRunning;
  t.stopRequested = true;
  t.ran = true;
  t.stoppedReason = "why";
  t.startedAt = 12.5;
  t.containers = {{"a", true}, {"b", false}};
  auto back = simulatedTaskFromRecord(toRecordJson(t));
  ASSERT_TRUE(back);
  EXPECT_EQ(stateChangeRequest(*back, "c"), stateChangeRequest(t, "c"));
  EXPECT_EQ(back->reported, SimStatus::kRunning);
  EXPECT_EQ(back->instance, 7u);
}

}  // namespace
}  // namespace berth::agent
