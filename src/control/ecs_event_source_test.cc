#include "control/ecs_event_source.h"

#include <gtest/gtest.h>

#include <mutex>
#include <regex>

#include "control/cluster_ops.h"
#include "control/container_instance_ops.h"
#include "control/ecs_events.h"
#include "control/task_definition_ops.h"
#include "control/task_ops.h"
#include "control/testing/ecs_fixture.h"

namespace berth::control {
namespace {

using nlohmann::json;
using test::mustOk;

class RecordingSink final : public EventSink {
 public:
  void publish(json event) override {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(event));
  }
  std::vector<json> ofType(const std::string& type) {
    std::lock_guard lock(mu_);
    std::vector<json> out;
    for (const auto& e : events_)
      if (e["detail-type"] == type) out.push_back(e);
    return out;
  }
  std::size_t size() {
    std::lock_guard lock(mu_);
    return events_.size();
  }

 private:
  std::mutex mu_;
  std::vector<json> events_;
};

const std::regex kIsoMillis(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
const std::regex kIsoSeconds(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)");

class EcsEventSourceTest : public test::EcsFixture {
 protected:
  void SetUp() override {
    mustOk(createCluster(ctx(), json{{"clusterName", "prod"}}), "CreateCluster");
    mustOk(registerTaskDefinition(ctx(), json{{"family", "web"},
                                              {"containerDefinitions",
                                               {{{"name", "app"}, {"image", "busybox"}, {"memory", 64}}}}}));
  }
  void TearDown() override { source_.reset(); }

  void install() { source_ = std::make_unique<EcsEventSource>(ctx(), sink_); }

  std::string registerInstance() {
    json req = {{"cluster", "prod"}, {"totalResources", test::instanceResources(1024, 2048, {"22"})}};
    return mustOk(registerContainerInstance(ctx(), req))["containerInstance"]["containerInstanceArn"];
  }
  std::string runOne() {
    return mustOk(runTask(ctx(), json{{"cluster", "prod"}, {"taskDefinition", "web"}}))["tasks"][0]["taskArn"];
  }
  void report(const std::string& arn, json change) {
    change["cluster"] = "prod";
    change["task"] = arn;
    mustOk(submitTaskStateChange(ctx(), change));
  }

  RecordingSink sink_;
  std::unique_ptr<EcsEventSource> source_;
};

TEST_F(EcsEventSourceTest, TaskLifecyclePublishesOneEventPerVersion) {
  registerInstance();
  install();
  clock().advance(std::chrono::milliseconds(1500));
  const std::string arn = runOne();
  clock().advance(std::chrono::seconds(1));
  report(arn, json{{"status", "RUNNING"}, {"containers", {{{"containerName", "app"}, {"status", "RUNNING"}}}}});
  report(arn, json{{"status", "RUNNING"}});  // a duplicate: no new version, no event
  clock().advance(std::chrono::seconds(1));
  mustOk(stopTask(ctx(), json{{"cluster", "prod"}, {"task", arn}, {"reason", "done here"}}));
  report(arn, json{{"status", "STOPPED"}, {"containers", {{{"containerName", "app"}, {"status", "STOPPED"}, {"exitCode", 0}}}}});

  auto tasks = sink_.ofType("ECS Task State Change");
  ASSERT_EQ(tasks.size(), 4u);  // created, RUNNING, stop requested, STOPPED
  std::vector<std::string> last, desired;
  for (const auto& e : tasks) {
    last.push_back(e["detail"]["lastStatus"]);
    desired.push_back(e["detail"]["desiredStatus"]);
  }
  EXPECT_EQ(last, (std::vector<std::string>{"PENDING", "RUNNING", "RUNNING", "STOPPED"}));
  EXPECT_EQ(desired, (std::vector<std::string>{"RUNNING", "RUNNING", "STOPPED", "STOPPED"}));
  for (std::size_t i = 1; i < tasks.size(); ++i)
    EXPECT_GT(tasks[i]["detail"]["version"].get<int>(), tasks[i - 1]["detail"]["version"].get<int>());

  const json& created = tasks[0];
  EXPECT_EQ(created["version"], "0");
  EXPECT_EQ(created["source"], "aws.ecs");
  EXPECT_EQ(created["account"], test::kAccount);
  EXPECT_EQ(created["region"], test::kRegion);
  EXPECT_EQ(created["resources"], json::array({arn}));
  EXPECT_EQ(created["time"], "2023-11-14T22:13:21Z");
  EXPECT_TRUE(std::regex_match(created["id"].get<std::string>(), std::regex("[0-9a-f-]{36}")));
  EXPECT_EQ(created["detail"]["taskArn"], arn);
  EXPECT_EQ(created["detail"]["clusterArn"], "arn:aws:ecs:eu-west-3:123456789012:cluster/prod");
  EXPECT_EQ(created["detail"]["version"], 1);
  EXPECT_EQ(created["detail"]["createdAt"], "2023-11-14T22:13:21.500Z");
  EXPECT_EQ(created["detail"]["updatedAt"], "2023-11-14T22:13:21.500Z");
  EXPECT_FALSE(created["detail"].contains("berth"));
  EXPECT_FALSE(created["detail"].contains("tags"));

  const json& stopped = tasks[3];
  EXPECT_EQ(stopped["detail"]["stopCode"], "UserInitiated");
  EXPECT_EQ(stopped["detail"]["stoppedReason"], "done here");
  EXPECT_EQ(stopped["detail"]["containers"][0]["lastStatus"], "STOPPED");
  EXPECT_EQ(stopped["detail"]["containers"][0]["exitCode"], 0);
  EXPECT_TRUE(std::regex_match(stopped["detail"]["stoppedAt"].get<std::string>(), kIsoMillis));
  EXPECT_TRUE(std::regex_match(stopped["detail"]["updatedAt"].get<std::string>(), kIsoMillis));
  EXPECT_TRUE(std::regex_match(stopped["time"].get<std::string>(), kIsoSeconds));
}

TEST_F(EcsEventSourceTest, InstanceRegistrationDrainAndAgentConnectionPublishEvents) {
  install();
  const std::string arn = registerInstance();
  const std::string id = arn.substr(arn.rfind('/') + 1);
  mustOk(updateContainerInstancesState(ctx(), json{{"cluster", "prod"}, {"containerInstances", {arn}}, {"status", "DRAINING"}}));
  ASSERT_TRUE(setAgentConnected(ctx(), "prod", id, false).ok());
  ASSERT_TRUE(setAgentConnected(ctx(), "prod", id, false).ok());  // no change: no event

  auto events = sink_.ofType("ECS Container Instance State Change");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0]["resources"], json::array({arn}));
  EXPECT_EQ(events[0]["detail"]["status"], "ACTIVE");
  EXPECT_EQ(events[0]["detail"]["containerInstanceArn"], arn);
  EXPECT_EQ(events[0]["detail"]["clusterArn"], "arn:aws:ecs:eu-west-3:123456789012:cluster/prod");
  EXPECT_TRUE(events[0]["detail"]["registeredResources"].is_array());
  EXPECT_TRUE(events[0]["detail"]["remainingResources"].is_array());
  EXPECT_TRUE(std::regex_match(events[0]["detail"]["registeredAt"].get<std::string>(), kIsoMillis));
  EXPECT_FALSE(events[0]["detail"].contains("berth"));
  EXPECT_EQ(events[1]["detail"]["status"], "DRAINING");
  EXPECT_EQ(events[2]["detail"]["agentConnected"], false);
  EXPECT_LT(events[0]["detail"]["version"].get<int>(), events[1]["detail"]["version"].get<int>());
  EXPECT_LT(events[1]["detail"]["version"].get<int>(), events[2]["detail"]["version"].get<int>());
  EXPECT_TRUE(sink_.ofType("ECS Task State Change").empty());
}

TEST_F(EcsEventSourceTest, ExistingObjectsAreNotAnnouncedAndRemovalStopsEvents) {
  const std::string ci = registerInstance();
  const std::string arn = runOne();
  install();
  EXPECT_EQ(sink_.size(), 0u);  // the cache's replay of existing keys published nothing
  report(arn, json{{"status", "RUNNING"}});
  EXPECT_EQ(sink_.ofType("ECS Task State Change").size(), 1u);
  source_.reset();
  const std::size_t before = sink_.size();
  runOne();
  EXPECT_EQ(sink_.size(), before);
}

TEST(EcsEventBuilders, TaskEventConvertsEveryTimestampAndDropsInternalFields) {
  SeededRandom random(1);
  json stored = {{"taskArn", "arn:aws:ecs:us-east-1:000000000000:task/c/abc"},
                 {"createdAt", 1'700'000'000.25},
                 {"startedAt", 1'700'000'001.0},
                 {"containers", {{{"name", "app"}, {"lastStatus", "RUNNING"}}}},
                 {"attachments", {{{"id", "e"}, {"status", "ATTACHED"}}}},
                 {"lastStatus", "RUNNING"},
                 {"version", 4},
                 {"tags", {{{"key", "k"}, {"value", "v"}}}},
                 {"berth", {{"cluster", "c"}}}};
  json e = taskStateChangeEvent(AccountInfo{}, random, stored, 1'700'000'002.0);
  EXPECT_EQ(e["detail-type"], "ECS Task State Change");
  EXPECT_EQ(e["detail"]["createdAt"], "2023-11-14T22:13:20.250Z");
  EXPECT_EQ(e["detail"]["startedAt"], "2023-11-14T22:13:21.000Z");
  EXPECT_EQ(e["detail"]["updatedAt"], "2023-11-14T22:13:22.000Z");
  EXPECT_EQ(e["detail"]["version"], 4);
  EXPECT_EQ(e["detail"]["containers"], stored["containers"]);
  EXPECT_FALSE(e["detail"].contains("berth"));
  EXPECT_FALSE(e["detail"].contains("tags"));
  EXPECT_EQ(e["time"], "2023-11-14T22:13:22Z");
  EXPECT_EQ(e["account"], "000000000000");
  EXPECT_EQ(e["region"], "us-east-1");
}

}  // namespace
}  // namespace berth::control
