// Container instance liveness end to end on a fake clock: heartbeats,
// disconnection at min(60 s, T), loss at T (tasks STOPPED, resources back),
// a restarted server's grace and an agent that comes back.
#include <gtest/gtest.h>

#include <cstdio>

#include "control/agent_channel.h"
#include "control/cluster_ops.h"
#include "control/container_instance_ops.h"
#include "control/keys.h"
#include "control/lost_tasks.h"
#include "control/task_definition_ops.h"
#include "control/task_ops.h"
#include "control/testing/ecs_fixture.h"

namespace berth::control {
namespace {

using nlohmann::json;
using test::mustOk;
using namespace std::chrono_literals;

class InstanceLivenessTest : public test::EcsFixture {
 protected:
  void SetUp() override {
    mustOk(createCluster(ctx(), json{{"clusterName", "prod"}}), "CreateCluster");
    mustOk(registerTaskDefinition(ctx(), json{{"family", "web"},
                                              {"containerDefinitions", {{{"name", "app"}, {"image", "busybox"}, {"cpu", 256}, {"memory", 128},
                                                                         {"portMappings", {{{"containerPort", 80}, {"hostPort", 8080}}}}}}}}));
    mustOk(registerTaskDefinition(ctx(), json{{"family", "small"},
                                              {"containerDefinitions", {{{"name", "app"}, {"image", "busybox"}, {"cpu", 10}, {"memory", 16}}}}}));
    a_ = registerInstance();
    b_ = registerInstance();
  }
  // Long-poll deadlines on real time (polls here never wait); liveness on the fake clock.
  void startChannel(std::chrono::seconds lostTimeout) {
    channel_ = std::make_unique<AgentChannel>(ctx(), realClock_, livenessOptions(lostTimeout));
  }
  std::string registerInstance() {
    return mustOk(registerContainerInstance(ctx(), json{{"cluster", "prod"}, {"totalResources", test::instanceResources(2048, 4096, {"22"})}}))
        ["containerInstance"]["containerInstanceArn"];
  }
  std::string runOn(const std::string& instance, const std::string& family = "web") {
    std::string arn = mustOk(startTask(ctx(), json{{"cluster", "prod"}, {"taskDefinition", family}, {"containerInstances", {instance}}}))
        ["tasks"][0]["taskArn"];
    mustOk(submitTaskStateChange(ctx(), json{{"cluster", "prod"}, {"task", arn}, {"status", "RUNNING"}}));
    return arn;
  }
  json poll(const std::string& instance, std::int64_t since = 0) {
    return mustOk(channel_->pollTasks(json{{"cluster", "prod"}, {"containerInstance", instance}, {"sinceVersion", since}, {"waitSeconds", 0}}));
  }
  json instance(const std::string& arn) {
    return mustOk(describeContainerInstances(ctx(), json{{"cluster", "prod"}, {"containerInstances", {arn}}}))["containerInstances"][0];
  }
  json task(const std::string& arn) {
    return mustOk(describeTasks(ctx(), json{{"cluster", "prod"}, {"tasks", {arn}}}))["tasks"][0];
  }
  static std::int64_t resource(const json& ci, const char* list, const char* name) {
    for (const auto& r : ci[list])
      if (r["name"] == name) return r.value("integerValue", std::int64_t{0});
    return -1;
  }
  static json ports(const json& ci) {
    for (const auto& r : ci["remainingResources"])
      if (r["name"] == "PORTS") return r["stringSetValue"];
    return nullptr;
  }
  static std::string idOf(const std::string& arn) { return arn.substr(arn.rfind('/') + 1); }

  SystemClock realClock_;
  std::string a_, b_;
  std::unique_ptr<AgentChannel> channel_;
};

TEST_F(InstanceLivenessTest, OptionsDisconnectAtTheSmallerOfSixtySecondsAndTheLostTimeout) {
  EXPECT_EQ(livenessOptions(180s).disconnectAfter, 60s);
  EXPECT_EQ(livenessOptions(180s).lostAfter, 180s);
  EXPECT_EQ(livenessOptions(30s).disconnectAfter, 30s);
  EXPECT_EQ(livenessOptions(30s).lostAfter, 30s);
  EXPECT_EQ(livenessOptions(60s).disconnectAfter, 60s);
}

TEST_F(InstanceLivenessTest, SilentAgentIsDisconnectedAtSixtySecondsAndLostAtTheTimeout) {
  startChannel(90s);
  const std::string onA = runOn(a_), onA2 = runOn(a_, "small"), onB = runOn(b_);
  EXPECT_EQ(channel_->sweepLiveness().disconnected, 0u);  // starts the windows
  poll(a_);
  poll(b_);
  // b_ keeps polling every 20 s; a_ goes silent.
  auto keepB = [&](std::chrono::seconds by) {
    for (auto left = by; left > 0s; left -= std::min(left, std::chrono::seconds(20))) {
      clock().advance(std::min(left, std::chrono::seconds(20)));
      poll(b_);
    }
  };
  keepB(60s);
  EXPECT_EQ(channel_->sweepLiveness().disconnected, 0u);  // exactly 60 s: not yet
  EXPECT_TRUE(instance(a_)["agentConnected"].get<bool>());
  keepB(1s);
  auto sweep = channel_->sweepLiveness();
  EXPECT_EQ(sweep.disconnected, 1u);
  EXPECT_EQ(sweep.tasksStopped, 0u);
  EXPECT_FALSE(instance(a_)["agentConnected"].get<bool>());
  EXPECT_EQ(task(onA)["lastStatus"], "RUNNING");  // disconnected is not lost

  keepB(29s);  // 90 s of silence: not yet lost
  EXPECT_EQ(channel_->sweepLiveness().tasksStopped, 0u);
  EXPECT_EQ(task(onA)["lastStatus"], "RUNNING");
  keepB(1s);
  sweep = channel_->sweepLiveness();
  EXPECT_EQ(sweep.lostInstances, 1u);
  EXPECT_EQ(sweep.tasksStopped, 2u);

  for (const auto& arn : {onA, onA2}) {
    json t = task(arn);
    EXPECT_EQ(t["lastStatus"], "STOPPED");
    EXPECT_EQ(t["desiredStatus"], "STOPPED");
    EXPECT_EQ(t["containers"][0]["lastStatus"], "STOPPED");
    EXPECT_EQ(t["stoppedReason"], "Task stopped because its container instance " + idOf(a_) +
                                      " was lost: its agent has not been heard from for 91 seconds.");
    EXPECT_FALSE(t.contains("stopCode"));
    EXPECT_TRUE(t.contains("stoppedAt"));
  }
  // Resources back, instance still registered and disconnected.
  json ci = instance(a_);
  EXPECT_EQ(ci["status"], "ACTIVE");
  EXPECT_FALSE(ci["agentConnected"].get<bool>());
  EXPECT_EQ(resource(ci, "remainingResources", "CPU"), 2048);
  EXPECT_EQ(resource(ci, "remainingResources", "MEMORY"), 4096);
  EXPECT_EQ(ports(ci), json({"22"}));
  EXPECT_EQ(ci["runningTasksCount"], 0);
  // The other instance is untouched.
  EXPECT_EQ(task(onB)["lastStatus"], "RUNNING");
  json cb = instance(b_);
  EXPECT_TRUE(cb["agentConnected"].get<bool>());
  EXPECT_EQ(resource(cb, "remainingResources", "CPU"), 2048 - 256);

  // Idempotent: later sweeps write nothing.
  const std::int64_t rev = store().currentRevision();
  keepB(20s);
  EXPECT_EQ(channel_->sweepLiveness().tasksStopped, 0u);
  EXPECT_EQ(channel_->sweepLiveness().lostInstances, 0u);
  EXPECT_EQ(store().currentRevision(), rev + 0 /* b_'s polls write nothing either */);
}

TEST_F(InstanceLivenessTest, ShortTimeoutDisconnectsAndLosesTogether) {
  startChannel(30s);
  const std::string onA = runOn(a_);
  channel_->sweepLiveness();
  poll(a_);
  poll(b_);
  clock().advance(30s);
  EXPECT_EQ(channel_->sweepLiveness().disconnected, 0u);
  clock().advance(1s);
  auto sweep = channel_->sweepLiveness();
  EXPECT_EQ(sweep.disconnected, 2u);  // both silent 31 s; a_ via its lost transaction
  EXPECT_EQ(sweep.lostInstances, 2u);
  EXPECT_EQ(sweep.tasksStopped, 1u);
  EXPECT_EQ(task(onA)["lastStatus"], "STOPPED");
  EXPECT_FALSE(instance(a_)["agentConnected"].get<bool>());
  EXPECT_FALSE(instance(b_)["agentConnected"].get<bool>());
}

TEST_F(InstanceLivenessTest, ARestartedServerGivesEveryInstanceTheFullWindow) {
  const std::string onA = runOn(a_);
  clock().advance(1h);  // the server was down; nobody polled
  startChannel(60s);
  auto sweep = channel_->sweepLiveness();  // first sweep: everyone gets the window from now
  EXPECT_EQ(sweep.disconnected, 0u);
  EXPECT_EQ(sweep.tasksStopped, 0u);
  clock().advance(60s);
  EXPECT_EQ(channel_->sweepLiveness().tasksStopped, 0u);
  EXPECT_EQ(task(onA)["lastStatus"], "RUNNING");
  clock().advance(1s);
  EXPECT_EQ(channel_->sweepLiveness().tasksStopped, 1u);
  EXPECT_EQ(task(onA)["lastStatus"], "STOPPED");
}

TEST_F(InstanceLivenessTest, AReturningAgentReconnectsAndItsStoppedTasksStayStopped) {
  startChannel(30s);
  const std::string onA = runOn(a_);
  channel_->sweepLiveness();
  const std::int64_t seen = poll(a_)["version"];
  clock().advance(31s);
  ASSERT_EQ(channel_->sweepLiveness().tasksStopped, 1u);

  // The agent comes back (restarted: since 0; or after a network cut: since
  // its last version). Either way the poll shows the task STOPPED.
  for (std::int64_t since : {std::int64_t{0}, seen}) {
    json r = poll(a_, since);
    ASSERT_EQ(r["tasks"].size(), 1u);
    EXPECT_EQ(r["tasks"][0]["taskArn"], onA);
    EXPECT_EQ(r["tasks"][0]["desiredStatus"], "STOPPED");
    EXPECT_EQ(r["tasks"][0]["lastStatus"], "STOPPED");
  }
  EXPECT_TRUE(instance(a_)["agentConnected"].get<bool>());
  // Its late report of the container stopping changes nothing that matters.
  (void)submitTaskStateChange(ctx(), json{{"cluster", "prod"}, {"task", onA}, {"status", "STOPPED"}});
  EXPECT_EQ(task(onA)["lastStatus"], "STOPPED");
  clock().advance(10s);
  poll(a_);
  auto sweep = channel_->sweepLiveness();
  EXPECT_EQ(sweep.disconnected, 0u);
  EXPECT_EQ(sweep.tasksStopped, 0u);
  EXPECT_EQ(task(onA)["lastStatus"], "STOPPED");
  EXPECT_EQ(task(onA)["desiredStatus"], "STOPPED");
  // It takes tasks again, and losing it again stops only the new one.
  const std::string again = runOn(a_);
  clock().advance(31s);
  EXPECT_EQ(channel_->sweepLiveness().tasksStopped, 1u);
  EXPECT_EQ(task(again)["lastStatus"], "STOPPED");
}

TEST_F(InstanceLivenessTest, ATaskPlacedOnALostInstanceLaterIsStoppedToo) {
  startChannel(30s);
  channel_->sweepLiveness();
  clock().advance(31s);
  poll(b_);
  channel_->sweepLiveness();
  EXPECT_FALSE(instance(a_)["agentConnected"].get<bool>());
  // Written straight into the store, bypassing placement (which skips it).
  const std::string onA = runOn(b_, "small");
  auto key = keys::task("prod", idOf(onA));
  json doc = cache().get(key)->doc;
  doc["berth"]["instanceId"] = idOf(a_);
  doc["containerInstanceArn"] = a_;
  env_->putDoc(key, doc);
  EXPECT_EQ(channel_->sweepLiveness().tasksStopped, 1u);
  EXPECT_EQ(task(onA)["lastStatus"], "STOPPED");
}

TEST_F(InstanceLivenessTest, StopsInBatchedTransactions) {
  std::vector<std::string> tasks;
  for (int i = 0; i < 5; ++i) tasks.push_back(keys::task("prod", idOf(runOn(a_, "small"))));
  const std::string onB = runOn(b_, "small");
  const std::int64_t before = store().currentRevision();
  std::vector<LostInstance> lost{{"prod", idOf(a_), tasks, lostInstanceStopReason(idOf(a_), 42)},
                                 {"prod", idOf(b_), {keys::task("prod", idOf(onB))}, lostInstanceStopReason(idOf(b_), 42)}};
  EXPECT_EQ(mustOk(stopTasksOfLostInstances(ctx(), lost, 2)), 6u);
  EXPECT_EQ(store().currentRevision(), before + 3);  // 2 + 2 + (1 of a_ and b_'s 1)
  EXPECT_EQ(resource(instance(a_), "remainingResources", "CPU"), 2048);
  EXPECT_EQ(resource(instance(a_), "remainingResources", "MEMORY"), 4096);
  EXPECT_EQ(resource(instance(b_), "remainingResources", "MEMORY"), 4096);
  EXPECT_EQ(task(onB)["stoppedReason"],
            "Task stopped because its container instance " + idOf(b_) + " was lost: its agent has not been heard from for 42 seconds.");
  EXPECT_EQ(mustOk(stopTasksOfLostInstances(ctx(), lost, 2)), 0u);  // idempotent
  EXPECT_EQ(store().currentRevision(), before + 3);
}

TEST_F(InstanceLivenessTest, DeregisteredInstancesAreLeftAlone) {
  startChannel(30s);
  channel_->sweepLiveness();
  mustOk(deregisterContainerInstance(ctx(), json{{"cluster", "prod"}, {"containerInstance", b_}}));
  clock().advance(31s);
  const std::int64_t before = store().currentRevision();
  auto sweep = channel_->sweepLiveness();
  EXPECT_EQ(sweep.lostInstances, 1u);  // only a_
  EXPECT_EQ(instance(b_)["status"], "INACTIVE");
  EXPECT_EQ(store().currentRevision(), before + 1);
}

TEST_F(InstanceLivenessTest, PresenceOfDeregisteredInstancesIsDroppedOnceTheyAreMany) {
  startChannel(60s);
  std::vector<std::string> gone;
  for (int i = 0; i < 1100; ++i) gone.push_back(registerInstance());
  poll(a_);
  channel_->sweepLiveness();
  EXPECT_TRUE(channel_->lastSeenForTest(gone[0]).has_value());
  for (const auto& arn : gone) mustOk(deregisterContainerInstance(ctx(), json{{"cluster", "prod"}, {"containerInstance", arn}}));
  channel_->sweepLiveness();
  EXPECT_FALSE(channel_->lastSeenForTest(gone[0]).has_value());
  EXPECT_FALSE(channel_->lastSeenForTest(gone.back()).has_value());
  EXPECT_TRUE(channel_->lastSeenForTest(a_).has_value());  // registered ones keep theirs
  EXPECT_TRUE(channel_->lastSeenForTest(b_).has_value());
}

TEST_F(InstanceLivenessTest, ASweepOverTenThousandInstancesIsCheap) {
  std::vector<std::string> all;
  for (int i = 0; i < 10000; ++i) all.push_back(registerInstance());
  startChannel(180s);
  channel_->sweepLiveness();
  for (std::size_t i = 0; i < all.size(); i += 1000) {  // batched polls, like a simulator's
    std::vector<std::string> some(all.begin() + i, all.begin() + std::min(all.size(), i + 1000));
    mustOk(channel_->pollTasks(json{{"cluster", "prod"}, {"containerInstances", some}, {"sinceVersion", 0}, {"waitSeconds", 0}}));
  }
  clock().advance(30s);
  const auto start = realClock_.monotonicNow();
  constexpr int kSweeps = 5;
  for (int i = 0; i < kSweeps; ++i) EXPECT_EQ(channel_->sweepLiveness().disconnected, 0u);
  const auto each = std::chrono::duration_cast<std::chrono::microseconds>(realClock_.monotonicNow() - start) / kSweeps;
  std::printf("liveness sweep over %zu instances: %lld us\n", all.size() + 2, static_cast<long long>(each.count()));
  EXPECT_LT(each, 500ms);  // generous: it runs every 2 s on a shared machine
}

}  // namespace
}  // namespace berth::control
