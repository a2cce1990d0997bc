#include "control/service_doc_update.h"

#include <gtest/gtest.h>

#include "control/service_input.h"

namespace berth::control {
namespace {

using nlohmann::json;

json storedDeploymentJson(const std::string& id, const std::string& status, const std::string& rollout) {
  return {{"id", id}, {"status", status}, {"rolloutState", rollout}, {"rolloutStateReason", ""},
          {"taskDefinition", "td:" + id}, {"desiredCount", 2}, {"runningCount", 0}, {"pendingCount", 0},
          {"failedTasks", 0}, {"createdAt", 100}, {"updatedAt", 100}, {"launchType", "EC2"},
          {"berth", {{"launchRequest", {{"startedBy", id}}}}}};
}

json storedService() {
  return {{"serviceName", "web"}, {"status", "ACTIVE"}, {"taskDefinition", "td:ecs-svc/2"}, {"desiredCount", 2}, {"runningCount", 0}, {"pendingCount", 0},
          {"schedulingStrategy", "REPLICA"},
          {"deployments", {storedDeploymentJson("ecs-svc/2", "PRIMARY", "IN_PROGRESS")}},
          {"events", json::array()},
          {"berth", {{"revision", 3}, {"lastCompletedDeployment", storedDeploymentJson("ecs-svc/1", "PRIMARY", "COMPLETED")}}}};
}

// The plan that changes nothing in storedService().
scheduler::ServicePlan unchangedPlan(const json& doc) {
  scheduler::ServicePlan plan;
  for (const auto& d : doc["deployments"]) plan.deployments.push_back(*deploymentFromJson(d));
  plan.lastCompleted = deploymentFromJson(doc["berth"]["lastCompletedDeployment"]);
  return plan;
}

TEST(ServiceDocUpdate, NothingChangedGivesTheSameDocument) {
  SeededRandom random(1);
  json doc = storedService();
  doc["berth"]["lastSteadyStateEventAt"] = 0;
  doc["berth"]["launchesThrottledUntil"] = 0;
  doc["berth"]["lastStuckEventAt"] = 0;
  EXPECT_EQ(updatedServiceDoc(doc, unchangedPlan(doc), {}, true, 500, random), doc);
}

TEST(ServiceDocUpdate, DeploymentsKeepWhatOpsWroteAndRollbackGetsItsLaunchRequestBack) {
  SeededRandom random(1);
  json doc = storedService();
  doc["deployments"][0]["networkConfiguration"] = {{"awsvpcConfiguration", {{"subnets", {"s"}}}}};
  scheduler::ServicePlan plan = unchangedPlan(doc);
  // The circuit breaker failed ecs-svc/2 and restored ecs-svc/1 (gone from deployments[]).
  plan.deployments[0].rollout = scheduler::RolloutState::kFailed;
  plan.deployments[0].status = scheduler::DeploymentStatus::kActive;
  plan.deployments[0].failedTasks = 3;
  scheduler::Deployment restored = *plan.lastCompleted;
  restored.status = scheduler::DeploymentStatus::kPrimary;
  restored.rollout = scheduler::RolloutState::kInProgress;
  restored.updatedAt = 500;
  plan.deployments.insert(plan.deployments.begin(), restored);
  plan.runningCount = 2;
  json out = updatedServiceDoc(doc, plan, {}, true, 500, random);
  ASSERT_EQ(out["deployments"].size(), 2u);
  EXPECT_EQ(out["deployments"][0]["id"], "ecs-svc/1");
  EXPECT_EQ(out["deployments"][0]["status"], "PRIMARY");
  EXPECT_EQ(out["deployments"][0]["rolloutState"], "IN_PROGRESS");
  EXPECT_EQ(out["deployments"][0]["updatedAt"], 500);
  EXPECT_EQ(out["deployments"][0]["berth"]["launchRequest"]["startedBy"], "ecs-svc/1");
  EXPECT_EQ(out["deployments"][0]["taskDefinition"], "td:ecs-svc/1");
  EXPECT_EQ(out["deployments"][1]["rolloutState"], "FAILED");
  EXPECT_EQ(out["deployments"][1]["status"], "ACTIVE");
  EXPECT_EQ(out["deployments"][1]["failedTasks"], 3);
  EXPECT_EQ(out["deployments"][1]["networkConfiguration"], doc["deployments"][0]["networkConfiguration"]);
  EXPECT_EQ(out["deployments"][1]["berth"]["launchRequest"]["startedBy"], "ecs-svc/2");
  EXPECT_EQ(out["runningCount"], 2);
  EXPECT_EQ(out["taskDefinition"], "td:ecs-svc/1") << "the service shows its PRIMARY's task definition again";
  EXPECT_EQ(out["berth"]["lastCompletedDeployment"]["berth"]["launchRequest"]["startedBy"], "ecs-svc/1");
}

TEST(ServiceDocUpdate, EventsArePrependedNewestFirstAndCapped) {
  SeededRandom random(1);
  json doc = storedService();
  for (int i = 0; i < 99; ++i) doc["events"].push_back({{"id", std::to_string(i)}, {"createdAt", 1}, {"message", "old"}});
  json out = updatedServiceDoc(doc, unchangedPlan(doc), {"first", "second"}, true, 700, random);
  ASSERT_EQ(out["events"].size(), scheduler::kMaxServiceEvents);
  EXPECT_EQ(out["events"][0]["message"], "second");
  EXPECT_EQ(out["events"][1]["message"], "first");
  EXPECT_EQ(out["events"][0]["createdAt"], 700);
  EXPECT_EQ(out["events"][0]["id"].get<std::string>().size(), 36u);
  EXPECT_EQ(out["events"][2]["id"], "0");
}

TEST(ServiceDocUpdate, StalePlanWritesOnlyItsEvents) {
  SeededRandom random(1);
  json doc = storedService();
  scheduler::ServicePlan plan = unchangedPlan(doc);
  plan.deployments.clear();
  plan.drained = true;
  json out = updatedServiceDoc(doc, plan, {"(service web) has started 1 tasks: (task abc)."}, false, 700, random);
  EXPECT_EQ(out["deployments"], doc["deployments"]);
  EXPECT_EQ(out["status"], "ACTIVE");
  ASSERT_EQ(out["events"].size(), 1u);
}

TEST(ServiceDocUpdate, DrainedServiceBecomesInactiveAndDaemonCountIsWritten) {
  SeededRandom random(1);
  json doc = storedService();
  doc["schedulingStrategy"] = "DAEMON";
  scheduler::ServicePlan plan = unchangedPlan(doc);
  plan.desiredCount = 5;
  plan.drained = true;
  json out = updatedServiceDoc(doc, plan, {}, true, 700, random);
  EXPECT_EQ(out["status"], "INACTIVE");
  EXPECT_EQ(out["berth"]["inactiveAt"], 700);
  EXPECT_EQ(out["desiredCount"], 5);
}

TEST(ServiceDocUpdate, PlanBasisMovesOnUserChangesOnly) {
  json doc = storedService();
  const std::string basis = planBasis(doc);
  json controllerWrite = doc;
  controllerWrite["runningCount"] = 2;
  controllerWrite["events"].push_back({{"message", "x"}});
  EXPECT_EQ(planBasis(controllerWrite), basis);
  json userWrite = doc;
  userWrite["berth"]["revision"] = 4;
  EXPECT_NE(planBasis(userWrite), basis);
  json deleted = doc;
  deleted["status"] = "DRAINING";
  EXPECT_NE(planBasis(deleted), basis);
}

}  // namespace
}  // namespace berth::control
