#include "agent/task_plan.h"

#include <gtest/gtest.h>

namespace berth::agent {
namespace {

nlohmann::json sampleTask() {
  return nlohmann::json::parse(R"({
    "taskArn": "arn:aws:ecs:eu-west-3:123456789012:task/prod/0123456789abcdef0123456789abcdef",
    "clusterArn": "arn:aws:ecs:eu-west-3:123456789012:cluster/prod",
    "taskDefinition": {
      "cpu": "512", "memory": "1024", "networkMode": "bridge",
      "containerDefinitions": [
        {"name": "web", "image": "busybox", "command": ["sleep", "10"], "cpu": 128, "memory": 256,
         "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}], "stopTimeout": 5},
        {"name": "sidecar", "image": "busybox:1", "essential": false, "memoryReservation": 64}
      ]
    },
    "overrides": {
      "memory": "2048",
      "containerOverrides": [
        {"name": "web", "command": ["echo", "hi"], "environment": [{"name": "B", "value": "20"}, {"name": "C", "value": "3"}], "memory": 300}
      ]
    }
  })");
}

TEST(TaskPlanTest, MergesOverridesIntoDefinitions) {
  auto plan = planTask(sampleTask());
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->taskId, "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(plan->taskCpu, 512);
  EXPECT_EQ(plan->taskMemoryMiB, 2048);  // task-level override wins
  ASSERT_EQ(plan->containers.size(), 2u);
  const auto& web = plan->containers[0];
  EXPECT_EQ(*web.command, (std::vector<std::string>{"echo", "hi"}));
  EXPECT_EQ(web.memoryMiB, 300);
  EXPECT_EQ(web.cpu, 128);
  EXPECT_EQ(web.stopTimeoutSeconds, 5);
  std::vector<std::pair<std::string, std::string>> env = {{"A", "1"}, {"B", "20"}, {"C", "3"}};
  EXPECT_EQ(web.environment, env);
  EXPECT_TRUE(web.essential);
  const auto& side = plan->containers[1];
  EXPECT_FALSE(side.essential);
  EXPECT_FALSE(side.command.has_value());
  EXPECT_EQ(side.memoryReservationMiB, 64);
}

TEST(TaskPlanTest, RejectsUnusableDocuments) {
  EXPECT_FALSE(planTask(nlohmann::json::array()).ok());
  auto t = sampleTask();
  t.erase("taskArn");
  EXPECT_FALSE(planTask(t).ok());
  t = sampleTask();
  t["taskDefinition"]["containerDefinitions"] = nlohmann::json::array();
  EXPECT_FALSE(planTask(t).ok());
  t = sampleTask();
  t["taskDefinition"]["containerDefinitions"][0].erase("image");
  EXPECT_FALSE(planTask(t).ok());
}

TEST(TaskPlanTest, RuntimeIdsAreStableAndDistinct) {
  EXPECT_EQ(runtimeContainerId("abc", "web"), runtimeContainerId("abc", "web"));
  EXPECT_NE(runtimeContainerId("abc", "web"), runtimeContainerId("abc", "db"));
  EXPECT_NE(runtimeContainerId("abc", "web"), runtimeContainerId("abd", "web"));
}

}  // namespace
}  // namespace berth::agent
