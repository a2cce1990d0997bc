#include "control/agent_channel.h"

#include <gtest/gtest.h>

#include <future>
#include <mutex>
#include <thread>

#include "control/cluster_ops.h"
#include "control/container_instance_ops.h"
#include "control/task_definition_ops.h"
#include "control/task_ops.h"
#include "control/testing/ecs_fixture.h"

namespace berth::control {
namespace {

using nlohmann::json;
using test::mustOk;
using namespace std::chrono_literals;

json totalResources() { return test::instanceResources(2048, 4096, {"22"}); }

class AgentChannelTest : public test::EcsFixture {
 protected:
  void SetUp() override {
    mustOk(createCluster(ctx(), json{{"clusterName", "prod"}}), "CreateCluster");
    mustOk(registerTaskDefinition(ctx(), json{{"family", "web"}, {"containerDefinitions", {{{"name", "app"}, {"image", "busybox"}, {"memory", 64}}}}}));
    a_ = registerInstance();
    b_ = registerInstance();
    // Long-poll deadlines run on real time; heartbeats on the fixture's fake clock.
    channel_ = std::make_unique<AgentChannel>(ctx(), realClock_, AgentChannelOptions{20s, 60s, 50ms});
  }

  std::string registerInstance() {
    return mustOk(registerContainerInstance(ctx(), json{{"cluster", "prod"}, {"totalResources", totalResources()}}))
        ["containerInstance"]["containerInstanceArn"];
  }
  std::string startOn(const std::string& instance) {
    return mustOk(startTask(ctx(), json{{"cluster", "prod"}, {"taskDefinition", "web"}, {"containerInstances", {instance}}}))
        ["tasks"][0]["taskArn"];
  }
  Result<json> poll(const std::string& instance, std::int64_t since, double waitSeconds) {
    return channel_->pollTasks(json{{"cluster", "prod"}, {"containerInstance", instance}, {"sinceVersion", since}, {"waitSeconds", waitSeconds}});
  }
  template <typename F>
  std::chrono::milliseconds timed(F&& f) {
    auto start = realClock_.monotonicNow();
    f();
    return std::chrono::duration_cast<std::chrono::milliseconds>(realClock_.monotonicNow() - start);
  }

  SystemClock realClock_;
  std::string a_, b_;
  std::unique_ptr<AgentChannel> channel_;
};

TEST_F(AgentChannelTest, ReturnsAtOnceWhenTheInstanceHasNewTasks) {
  const std::string task = startOn(a_);
  json r;
  auto took = timed([&] { r = mustOk(poll(a_, 0, 5)); });
  EXPECT_LT(took, 1000ms);
  EXPECT_EQ(r["containerInstanceArn"], a_);
  EXPECT_EQ(r["containerInstanceStatus"], "ACTIVE");
  EXPECT_GT(r["version"].get<std::int64_t>(), 0);
  ASSERT_EQ(r["tasks"].size(), 1u);
  EXPECT_EQ(r["tasks"][0]["taskArn"], task);
  EXPECT_EQ(r["tasks"][0]["desiredStatus"], "RUNNING");
  EXPECT_FALSE(r["tasks"][0].contains("berth"));
  EXPECT_EQ(r["tasks"][0]["taskDefinition"]["family"], "web");
  EXPECT_EQ(r["tasks"][0]["taskDefinition"]["containerDefinitions"][0]["image"], "busybox");
  EXPECT_TRUE(r["tasks"][0].contains("overrides"));
  // The other instance sees nothing of it.
  EXPECT_TRUE(mustOk(poll(b_, 0, 0))["tasks"].empty());
}

TEST_F(AgentChannelTest, TimesOutWithTheSameVersionWhenNothingChanges) {
  startOn(a_);
  const std::int64_t v = mustOk(poll(a_, 0, 0))["version"];
  json r;
  auto took = timed([&] { r = mustOk(poll(a_, v, 0.3)); });
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 3000ms);
  EXPECT_EQ(r["version"], v);
  EXPECT_EQ(r["tasks"].size(), 1u);  // still the full set
}

TEST_F(AgentChannelTest, WakesWhenATaskIsAssignedAndIgnoresOtherInstances) {
  const std::int64_t v = mustOk(poll(a_, 0, 0))["version"];
  auto pending = std::async(std::launch::async, [&] { return poll(a_, v, 10); });
  std::this_thread::sleep_for(150ms);
  startOn(b_);  // another instance's task: no wake-up for a_
  EXPECT_EQ(pending.wait_for(300ms), std::future_status::timeout);
  const std::string task = startOn(a_);
  ASSERT_EQ(pending.wait_for(3s), std::future_status::ready);
  json r = mustOk(pending.get());
  EXPECT_GT(r["version"].get<std::int64_t>(), v);
  ASSERT_EQ(r["tasks"].size(), 1u);
  EXPECT_EQ(r["tasks"][0]["taskArn"], task);
}

TEST_F(AgentChannelTest, DeliversStopTaskAndThenTheStoppedTaskOnce) {
  const std::string task = startOn(a_);
  std::int64_t v = mustOk(poll(a_, 0, 0))["version"];
  mustOk(submitTaskStateChange(ctx(), json{{"cluster", "prod"}, {"task", task}, {"status", "RUNNING"}}));
  v = mustOk(poll(a_, v, 1))["version"];
  auto pending = std::async(std::launch::async, [&] { return poll(a_, v, 10); });
  std::this_thread::sleep_for(100ms);
  mustOk(stopTask(ctx(), json{{"cluster", "prod"}, {"task", task}}));
  ASSERT_EQ(pending.wait_for(3s), std::future_status::ready);
  json r = mustOk(pending.get());
  ASSERT_EQ(r["tasks"].size(), 1u);
  EXPECT_EQ(r["tasks"][0]["desiredStatus"], "STOPPED");
  EXPECT_EQ(r["tasks"][0]["lastStatus"], "RUNNING");
  v = r["version"];
  mustOk(submitTaskStateChange(ctx(), json{{"cluster", "prod"}, {"task", task}, {"status", "STOPPED"}}));
  r = mustOk(poll(a_, v, 1));
  ASSERT_EQ(r["tasks"].size(), 1u);  // the change to STOPPED is shown once...
  EXPECT_EQ(r["tasks"][0]["lastStatus"], "STOPPED");
  r = mustOk(poll(a_, r["version"], 0));
  EXPECT_TRUE(r["tasks"].empty());  // ...then the task leaves the set
}

TEST_F(AgentChannelTest, PollsAreHeartbeatsAndSilenceDisconnects) {
  auto connected = [&](const std::string& arn) {
    return mustOk(describeContainerInstances(ctx(), json{{"cluster", "prod"}, {"containerInstances", {arn}}}))
        ["containerInstances"][0]["agentConnected"].get<bool>();
  };
  EXPECT_EQ(channel_->markDisconnectedAgents(), 0u);  // first sweep starts the window for unseen agents
  mustOk(poll(a_, 0, 0));
  EXPECT_TRUE(channel_->lastSeenForTest(a_).has_value());
  clock().advance(45s);
  mustOk(poll(a_, 0, 0));
  clock().advance(30s);
  EXPECT_EQ(channel_->markDisconnectedAgents(), 1u);  // b_ silent for 75 s; a_ polled 30 s ago
  EXPECT_TRUE(connected(a_));
  EXPECT_FALSE(connected(b_));
  // A disconnected instance takes no tasks...
  auto r = mustOk(startTask(ctx(), json{{"cluster", "prod"}, {"taskDefinition", "web"}, {"containerInstances", {b_}}}));
  EXPECT_EQ(r["failures"], (json{{{"arn", b_}, {"reason", "AGENT"}}}));
  // ...until its agent polls again.
  mustOk(poll(b_, 0, 0));
  EXPECT_TRUE(connected(b_));
  EXPECT_EQ(channel_->markDisconnectedAgents(), 0u);
}

TEST_F(AgentChannelTest, ShutdownEndsWaitingPolls) {
  const std::int64_t v = mustOk(poll(a_, 0, 0))["version"];
  auto pending = std::async(std::launch::async, [&] { return poll(a_, v, 15); });
  std::this_thread::sleep_for(100ms);
  channel_->shutdown();
  ASSERT_EQ(pending.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(mustOk(pending.get())["version"], v);
}

TEST_F(AgentChannelTest, DeregisteredInstanceLearnsItIsInactive) {
  mustOk(deregisterContainerInstance(ctx(), json{{"cluster", "prod"}, {"containerInstance", a_}}));
  json r = mustOk(poll(a_, 0, 5));
  EXPECT_EQ(r["containerInstanceStatus"], "INACTIVE");
  EXPECT_TRUE(r["tasks"].empty());
}

TEST_F(AgentChannelTest, ChecksItsInput) {
  auto code = [&](const json& req) {
    auto r = channel_->pollTasks(req);
    return r.ok() ? ErrorCode::kInternal : r.error().code;
  };
  EXPECT_EQ(code(json{{"cluster", "prod"}}), ErrorCode::kInvalidParameter);
  EXPECT_EQ(code(json{{"cluster", "prod"}, {"containerInstance", a_}, {"sinceVersion", -1}}), ErrorCode::kInvalidParameter);
  EXPECT_EQ(code(json{{"cluster", "prod"}, {"containerInstance", a_}, {"sinceVersion", "1"}}), ErrorCode::kInvalidParameter);
  EXPECT_EQ(code(json{{"cluster", "prod"}, {"containerInstance", a_}, {"waitSeconds", 21}}), ErrorCode::kInvalidParameter);
  EXPECT_EQ(code(json{{"cluster", 5}, {"containerInstance", a_}}), ErrorCode::kInvalidParameter);
  EXPECT_EQ(code(json{{"cluster", "nope"}, {"containerInstance", a_}}), ErrorCode::kClusterNotFound);
  EXPECT_EQ(code(json{{"cluster", "prod"}, {"containerInstance", "0123456789abcdef0123456789abcdef"}}), ErrorCode::kClient);
}

// --- parked and batched polls ---------------------------------------------

// Answers collected from the asynchronous form.
struct Answers {
  std::mutex mu;
  std::vector<Result<json>> got;
  AgentChannel::PollDone sink() {
    return [this](Result<json> r) {
      std::lock_guard lock(mu);
      got.push_back(std::move(r));
    };
  }
  std::size_t count() {
    std::lock_guard lock(mu);
    return got.size();
  }
  // The channel thread may be the one answering: give it a moment.
  bool waitFor(std::size_t n) {
    for (int i = 0; i < 300 && count() < n; ++i) std::this_thread::sleep_for(10ms);
    return count() >= n;
  }
  json only() {
    std::lock_guard lock(mu);
    EXPECT_EQ(got.size(), 1u);
    if (got.size() != 1 || !got[0].ok()) return json();
    return *got[0];
  }
};

class ParkedPollTest : public AgentChannelTest {
 protected:
  void SetUp() override {
    AgentChannelTest::SetUp();
    // Deadlines on the fake clock: only expireDue() after advance() ends a wait.
    parked_ = std::make_unique<AgentChannel>(ctx(), clock(), AgentChannelOptions{20s, 60s, 50ms});
  }
  json batch(std::vector<std::string> instances, std::int64_t since, double waitSeconds) {
    return json{{"cluster", "prod"}, {"containerInstances", instances}, {"sinceVersion", since}, {"waitSeconds", waitSeconds}};
  }
  std::unique_ptr<AgentChannel> parked_;
};

TEST_F(ParkedPollTest, BatchedPollListsOnlyChangedInstances) {
  const std::string task = startOn(a_);
  json r = mustOk(parked_->pollTasks(batch({a_, b_}, 0, 5)));
  const std::int64_t v = r["version"];
  EXPECT_GT(v, 0);
  ASSERT_EQ(r["instances"].size(), 1u);  // b_ has nothing
  EXPECT_EQ(r["instances"][0]["containerInstanceArn"], a_);
  EXPECT_EQ(r["instances"][0]["containerInstanceStatus"], "ACTIVE");
  ASSERT_EQ(r["instances"][0]["tasks"].size(), 1u);
  EXPECT_EQ(r["instances"][0]["tasks"][0]["taskArn"], task);
  EXPECT_EQ(r["instances"][0]["tasks"][0]["taskDefinition"]["family"], "web");

  Answers answers;
  parked_->pollTasks(batch({a_, b_}, v, 10), answers.sink());
  EXPECT_EQ(parked_->parkedForTest(), 1u);
  const std::string other = startOn(b_);
  ASSERT_TRUE(answers.waitFor(1));
  r = answers.only();
  EXPECT_GT(r["version"].get<std::int64_t>(), v);
  ASSERT_EQ(r["instances"].size(), 1u);  // a_ did not change: not listed
  EXPECT_EQ(r["instances"][0]["containerInstanceArn"], b_);
  EXPECT_EQ(r["instances"][0]["tasks"][0]["taskArn"], other);
  EXPECT_EQ(parked_->parkedForTest(), 0u);
}

// changedOnly: an instance's listed tasks are only those changed after
// sinceVersion (a simulator with 10 tasks per instance need not be re-sent
// nine unchanged ones for every new one); sinceVersion 0 still gets them all.
TEST_F(ParkedPollTest, ChangedOnlyListsJustTheChangedTasks) {
  const std::string first = startOn(a_);
  json req = batch({a_}, 0, 0);
  req["changedOnly"] = true;
  json r = mustOk(parked_->pollTasks(req));
  ASSERT_EQ(r["instances"].size(), 1u);
  ASSERT_EQ(r["instances"][0]["tasks"].size(), 1u);
  const std::string second = startOn(a_);
  req["sinceVersion"] = r["version"];
  r = mustOk(parked_->pollTasks(req));
  ASSERT_EQ(r["instances"].size(), 1u);
  ASSERT_EQ(r["instances"][0]["tasks"].size(), 1u);
  EXPECT_EQ(r["instances"][0]["tasks"][0]["taskArn"], second);
  req["changedOnly"] = "yes";
  EXPECT_FALSE(parked_->pollTasks(req).ok());
  (void)first;
}

TEST_F(ParkedPollTest, ExpiresOnTheWaitClockWithTheSameVersion) {
  startOn(a_);
  const std::int64_t v = mustOk(parked_->pollTasks(batch({a_, b_}, 0, 0)))["version"];
  Answers batched, single;
  parked_->pollTasks(batch({a_, b_}, v, 5), batched.sink());
  parked_->pollTasks(json{{"cluster", "prod"}, {"containerInstance", a_}, {"sinceVersion", v}, {"waitSeconds", 8}}, single.sink());
  EXPECT_EQ(parked_->parkedForTest(), 2u);
  clock().advance(4900ms);
  parked_->expireDue();
  EXPECT_EQ(batched.count(), 0u);
  clock().advance(100ms);
  parked_->expireDue();
  ASSERT_TRUE(batched.waitFor(1));
  EXPECT_EQ(batched.only(), (json{{"version", v}, {"instances", json::array()}}));
  EXPECT_EQ(single.count(), 0u);
  clock().advance(3s);
  parked_->expireDue();
  ASSERT_TRUE(single.waitFor(1));
  json r = single.only();
  EXPECT_EQ(r["version"], v);
  EXPECT_EQ(r["tasks"].size(), 1u);  // the single form still shows the full set
  EXPECT_EQ(parked_->parkedForTest(), 0u);
}

TEST_F(ParkedPollTest, ManyParkedPollsWakeOnlyForTheirInstance) {
  const std::int64_t v = cache().revision();
  Answers onA, onB;
  for (int i = 0; i < 250; ++i) {
    parked_->pollTasks(json{{"cluster", "prod"}, {"containerInstance", a_}, {"sinceVersion", v}, {"waitSeconds", 20}}, onA.sink());
    parked_->pollTasks(json{{"cluster", "prod"}, {"containerInstance", b_}, {"sinceVersion", v}, {"waitSeconds", 20}}, onB.sink());
  }
  EXPECT_EQ(parked_->parkedForTest(), 500u);  // and no thread per poll: this test runs them all on one
  startOn(a_);
  EXPECT_TRUE(onA.waitFor(250));
  EXPECT_EQ(onB.count(), 0u);
  EXPECT_EQ(parked_->parkedForTest(), 250u);
  parked_->shutdown();
  EXPECT_EQ(onB.count(), 250u);
}

TEST_F(ParkedPollTest, DeregisteredInstanceIsListedInactiveAtOnce) {
  const std::int64_t v = mustOk(parked_->pollTasks(batch({a_, b_}, 0, 0)))["version"];
  Answers answers;
  parked_->pollTasks(batch({a_, b_}, v, 10), answers.sink());
  mustOk(deregisterContainerInstance(ctx(), json{{"cluster", "prod"}, {"containerInstance", b_}}));
  ASSERT_TRUE(answers.waitFor(1));
  json r = answers.only();
  ASSERT_EQ(r["instances"].size(), 1u);
  EXPECT_EQ(r["instances"][0], (json{{"containerInstanceArn", b_}, {"containerInstanceStatus", "INACTIVE"}, {"tasks", json::array()}}));
  // And on every later poll, without waiting.
  r = mustOk(parked_->pollTasks(batch({a_, b_}, r["version"], 10)));
  ASSERT_EQ(r["instances"].size(), 1u);
  EXPECT_EQ(r["instances"][0]["containerInstanceStatus"], "INACTIVE");
}

TEST_F(ParkedPollTest, BatchedPollReconnectsAllItsAgentsInOneTransaction) {
  std::vector<std::string> all{a_, b_};
  for (int i = 0; i < 8; ++i) all.push_back(registerInstance());
  EXPECT_EQ(parked_->markDisconnectedAgents(), 0u);  // starts the window
  clock().advance(61s);
  EXPECT_EQ(parked_->markDisconnectedAgents(), 10u);
  const std::int64_t before = store().currentRevision();
  mustOk(parked_->pollTasks(batch(all, 0, 0)));
  EXPECT_EQ(store().currentRevision(), before + 1);  // one commit for ten instances
  auto described = mustOk(describeContainerInstances(ctx(), json{{"cluster", "prod"}, {"containerInstances", all}}));
  for (const auto& ci : described["containerInstances"]) EXPECT_TRUE(ci["agentConnected"].get<bool>());
  // Connected ones are not written again.
  mustOk(parked_->pollTasks(batch(all, 0, 0)));
  EXPECT_EQ(store().currentRevision(), before + 1);
}

TEST_F(ParkedPollTest, AParkedPollDoesNotKeepADeadAgentConnected) {
  // channel_ waits on real time and keeps liveness on the fake clock. A live
  // agent's poll ends within maxWait; one parked longer belongs to an agent
  // that died, so only the heartbeat times count.
  EXPECT_EQ(channel_->markDisconnectedAgents(), 0u);
  Answers answers;
  channel_->pollTasks(batch({a_}, cache().revision(), 20), answers.sink());
  clock().advance(59s);
  EXPECT_EQ(channel_->markDisconnectedAgents(), 0u);
  clock().advance(2s);
  EXPECT_EQ(channel_->markDisconnectedAgents(), 2u);  // a_'s poll started 61 s ago and is still parked
  auto described = mustOk(describeContainerInstances(ctx(), json{{"cluster", "prod"}, {"containerInstances", {a_, b_}}}));
  EXPECT_FALSE(described["containerInstances"][0]["agentConnected"].get<bool>());
  EXPECT_FALSE(described["containerInstances"][1]["agentConnected"].get<bool>());
  EXPECT_EQ(answers.count(), 0u);
  channel_->shutdown();
  EXPECT_EQ(answers.count(), 1u);
  // Ending at its deadline is no sign of life: a_ was last seen when its poll arrived.
  EXPECT_EQ(channel_->lastSeenForTest(a_), clock().monotonicNow() - 61s);
}

TEST_F(ParkedPollTest, ChecksTheBatchedInput) {
  auto code = [&](const json& req) {
    auto r = parked_->pollTasks(req);
    return r.ok() ? ErrorCode::kInternal : r.error().code;
  };
  EXPECT_EQ(code(json{{"cluster", "prod"}, {"containerInstance", a_}, {"containerInstances", {b_}}}), ErrorCode::kInvalidParameter);
  EXPECT_EQ(code(json{{"cluster", "prod"}, {"containerInstances", json::array()}}), ErrorCode::kInvalidParameter);
  EXPECT_EQ(code(json{{"cluster", "prod"}, {"containerInstances", a_}}), ErrorCode::kInvalidParameter);
  EXPECT_EQ(code(json{{"cluster", "prod"}, {"containerInstances", {a_, 5}}}), ErrorCode::kInvalidParameter);
  EXPECT_EQ(code(json{{"cluster", "prod"}, {"containerInstances", std::vector<std::string>(10001, a_)}}), ErrorCode::kInvalidParameter);
  EXPECT_EQ(code(json{{"cluster", "prod"}, {"containerInstances", {a_, "0123456789abcdef0123456789abcdef"}}}), ErrorCode::kClient);
  // Listed twice: answered once.
  startOn(a_);
  EXPECT_EQ(mustOk(parked_->pollTasks(batch({a_, a_}, 0, 0)))["instances"].size(), 1u);
}

}  // namespace
}  // namespace berth::control
