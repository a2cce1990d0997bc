#include "control/container_instance_ops.h"

#include <gtest/gtest.h>

#include <regex>

#include "control/cluster_ops.h"
#include "control/keys.h"
#include "control/task_definition_ops.h"
#include "control/task_ops.h"
#include "control/testing/ecs_fixture.h"

namespace berth::control {
namespace {

using nlohmann::json;
using test::mustOk;

json totalResources(int cpu, int memory) { return test::instanceResources(cpu, memory, {"22", "2375", "2376", "51678", "51679"}); }

std::int64_t resourceValue(const json& resources, const std::string& name) {
  for (const auto& r : resources)
    if (r["name"] == name) return r["integerValue"].get<std::int64_t>();
  ADD_FAILURE() << "no resource " << name;
  return -1;
}

class ContainerInstanceOpsTest : public test::EcsFixture {
 protected:
  void SetUp() override { mustOk(createCluster(ctx(), json{{"clusterName", "prod"}}), "CreateCluster"); }

  json registerInstance(int cpu = 2048, int memory = 4096, const std::string& az = "eu-west-3a") {
    json req = {{"cluster", "prod"},
                {"totalResources", totalResources(cpu, memory)},
                {"versionInfo", {{"agentVersion", "0.1.0"}, {"agentHash", "abc"}, {"dockerVersion", "runc 1.1"}}},
                {"attributes", {{{"name", "ecs.availability-zone"}, {"value", az}},
                                {{"name", "ecs.os-type"}, {"value", "linux"}},
                                {{"name", "com.amazonaws.ecs.capability.logging-driver.awslogs"}}}},
                {"tags", {{{"key", "team"}, {"value", "infra"}}}}};
    return mustOk(registerContainerInstance(ctx(), req), "RegisterContainerInstance")["containerInstance"];
  }

  void registerTd(const std::string& family, int memory = 256, int hostPort = 0) {
    json c = {{"name", "app"}, {"image", "busybox"}, {"memory", memory}, {"cpu", 128}};
    if (hostPort) c["portMappings"] = {{{"containerPort", 80}, {"hostPort", hostPort}}};
    mustOk(registerTaskDefinition(ctx(), json{{"family", family}, {"containerDefinitions", {c}}}), "RegisterTaskDefinition");
  }

  json describe(const std::string& ref, const json& include = json::array()) {
    auto r = mustOk(describeContainerInstances(ctx(), json{{"cluster", "prod"}, {"containerInstances", {ref}}, {"include", include}}));
    EXPECT_EQ(r["containerInstances"].size(), 1u) << r.dump();
    return r["containerInstances"].empty() ? json() : r["containerInstances"][0];
  }

  ErrorCode failCode(const Result<json>& r) {
    EXPECT_FALSE(r.ok());
    return r.ok() ? ErrorCode::kInternal : r.error().code;
  }
};

TEST_F(ContainerInstanceOpsTest, RegisterReturnsTheEcsShape) {
  json ci = registerInstance();
  const std::string arn = ci["containerInstanceArn"];
  EXPECT_TRUE(std::regex_match(arn, std::regex("arn:aws:ecs:eu-west-3:123456789012:container-instance/prod/[0-9a-f]{32}"))) << arn;
  const std::string id = arn.substr(arn.rfind('/') + 1);
  EXPECT_EQ(ci["ec2InstanceId"], "i-" + id.substr(0, 17));
  EXPECT_EQ(ci["status"], "ACTIVE");
  EXPECT_EQ(ci["agentConnected"], true);
  EXPECT_EQ(ci["runningTasksCount"], 0);
  EXPECT_EQ(ci["pendingTasksCount"], 0);
  EXPECT_EQ(ci["version"], 1);
  EXPECT_EQ(ci["registeredResources"], ci["remainingResources"]);
  EXPECT_EQ(resourceValue(ci["registeredResources"], "CPU"), 2048);
  EXPECT_EQ(ci["registeredResources"][2]["stringSetValue"], (json{"22", "2375", "2376", "51678", "51679"}));
  EXPECT_EQ(ci["versionInfo"]["agentVersion"], "0.1.0");
  EXPECT_EQ(ci["registeredAt"], 1'700'000'000.0);
  EXPECT_EQ(ci["attachments"], json::array());
  EXPECT_EQ(ci["attributes"].size(), 3u);
  EXPECT_EQ(ci["attributes"][2], (json{{"name", "com.amazonaws.ecs.capability.logging-driver.awslogs"}}));
  EXPECT_EQ(ci["tags"], (json{{{"key", "team"}, {"value", "infra"}}}));
  EXPECT_FALSE(ci.contains("berth"));
  auto clusters = mustOk(describeClusters(ctx(), json{{"clusters", {"prod"}}}));
  EXPECT_EQ(clusters["clusters"][0]["registeredContainerInstancesCount"], 1);
}

TEST_F(ContainerInstanceOpsTest, IdentityDocumentNamesTheInstance) {
  json ci = mustOk(registerContainerInstance(
      ctx(), json{{"cluster", "prod"}, {"totalResources", totalResources(1024, 1024)},
                  {"instanceIdentityDocument", R"({"instanceId":"i-0abc","availabilityZone":"eu-west-3c","instanceType":"berth.local"})"},
                  {"attributes", {{{"name", "ecs.instance-type"}, {"value", "custom"}}}}}))["containerInstance"];
  EXPECT_EQ(ci["ec2InstanceId"], "i-0abc");
  EXPECT_EQ(ci["attributes"], (json{{{"name", "ecs.instance-type"}, {"value", "custom"}},  // the attribute wins
                                    {{"name", "ecs.availability-zone"}, {"value", "eu-west-3c"}}}));
  EXPECT_EQ(failCode(registerContainerInstance(ctx(), json{{"cluster", "prod"}, {"totalResources", totalResources(1, 1)},
                                                           {"instanceIdentityDocument", "{not json"}})),
            ErrorCode::kInvalidParameter);
}

TEST_F(ContainerInstanceOpsTest, RegisterValidatesInput) {
  EXPECT_EQ(failCode(registerContainerInstance(ctx(), json{{"cluster", "nope"}, {"totalResources", totalResources(1, 1)}})),
            ErrorCode::kClusterNotFound);
  EXPECT_EQ(failCode(registerContainerInstance(ctx(), json{{"cluster", "prod"}})), ErrorCode::kInvalidParameter);
  EXPECT_EQ(failCode(registerContainerInstance(
                ctx(), json{{"cluster", "prod"}, {"totalResources", totalResources(1, 1)},
                            {"attributes", {{{"name", "bad name!"}, {"value", "x"}}}}})),
            ErrorCode::kInvalidParameter);
}

TEST_F(ContainerInstanceOpsTest, ReRegistrationKeepsIdentityAndExactAccounting) {
  json ci = registerInstance(2048, 4096);
  registerTd("web", 1000);
  auto run = mustOk(runTask(ctx(), json{{"cluster", "prod"}, {"taskDefinition", "web"}}));
  ASSERT_EQ(run["tasks"].size(), 1u);
  json again = mustOk(registerContainerInstance(
      ctx(), json{{"cluster", "prod"}, {"containerInstanceArn", ci["containerInstanceArn"]},
                  {"totalResources", totalResources(4096, 8192)},
                  {"attributes", {{{"name", "ecs.os-type"}, {"value", "linux"}}, {{"name", "custom"}, {"value", "1"}}}},
                  {"versionInfo", {{"agentVersion", "0.2.0"}}}}))["containerInstance"];
  EXPECT_EQ(again["containerInstanceArn"], ci["containerInstanceArn"]);
  EXPECT_EQ(again["registeredAt"], ci["registeredAt"]);
  EXPECT_EQ(again["versionInfo"]["agentVersion"], "0.2.0");
  EXPECT_EQ(resourceValue(again["registeredResources"], "MEMORY"), 8192);
  EXPECT_EQ(resourceValue(again["remainingResources"], "MEMORY"), 8192 - 1000);
  EXPECT_EQ(resourceValue(again["remainingResources"], "CPU"), 4096 - 128);
  EXPECT_EQ(again["attributes"].size(), 4u);  // merged: az, os-type, awslogs, custom
  EXPECT_EQ(again["pendingTasksCount"], 1);
  // Still one instance in the cluster.
  auto list = mustOk(listContainerInstances(ctx(), json{{"cluster", "prod"}}));
  EXPECT_EQ(list["containerInstanceArns"].size(), 1u);
}

TEST_F(ContainerInstanceOpsTest, ReRegistrationOfUnknownOrDeregisteredInstanceFails) {
  json ci = registerInstance();
  std::string unknown = "arn:aws:ecs:eu-west-3:123456789012:container-instance/prod/0123456789abcdef0123456789abcdef";
  EXPECT_EQ(failCode(registerContainerInstance(ctx(), json{{"cluster", "prod"}, {"containerInstanceArn", unknown},
                                                           {"totalResources", totalResources(1, 1)}})),
            ErrorCode::kClient);
  mustOk(deregisterContainerInstance(ctx(), json{{"cluster", "prod"}, {"containerInstance", ci["containerInstanceArn"]}}));
  EXPECT_EQ(failCode(registerContainerInstance(ctx(), json{{"cluster", "prod"}, {"containerInstanceArn", ci["containerInstanceArn"]},
                                                           {"totalResources", totalResources(1, 1)}})),
            ErrorCode::kClient);
}

TEST_F(ContainerInstanceOpsTest, DescribeByIdOrArnWithTagsAndMissingFailures) {
  json ci = registerInstance();
  const std::string arn = ci["containerInstanceArn"];
  const std::string id = arn.substr(arn.rfind('/') + 1);
  json byId = describe(id);
  EXPECT_EQ(byId["containerInstanceArn"], arn);
  EXPECT_FALSE(byId.contains("tags"));
  EXPECT_EQ(describe(arn, json{"TAGS"})["tags"], (json{{{"key", "team"}, {"value", "infra"}}}));
  auto r = mustOk(describeContainerInstances(
      ctx(), json{{"cluster", "prod"}, {"containerInstances", {arn, "0123456789abcdef0123456789abcdef", "garbage"}}}));
  EXPECT_EQ(r["containerInstances"].size(), 1u);
  ASSERT_EQ(r["failures"].size(), 2u);
  EXPECT_EQ(r["failures"][0],
            (json{{"arn", "arn:aws:ecs:eu-west-3:123456789012:container-instance/prod/0123456789abcdef0123456789abcdef"},
                  {"reason", "MISSING"}}));
  EXPECT_EQ(r["failures"][1]["arn"], "garbage");
  EXPECT_EQ(failCode(describeContainerInstances(ctx(), json{{"cluster", "prod"}, {"containerInstances", {arn}}, {"include", {"NOPE"}}})),
            ErrorCode::kInvalidParameter);
  // An instance of another cluster is missing here.
  mustOk(createCluster(ctx(), json{{"clusterName", "other"}}));
  auto other = mustOk(describeContainerInstances(ctx(), json{{"cluster", "other"}, {"containerInstances", {arn}}}));
  EXPECT_EQ(other["failures"].size(), 1u);
}

TEST_F(ContainerInstanceOpsTest, ListFiltersByStatusAttributeAndPaginates) {
  std::vector<std::string> arns;
  for (int i = 0; i < 5; ++i) arns.push_back(registerInstance(1024, 1024, i % 2 ? "eu-west-3b" : "eu-west-3a")["containerInstanceArn"]);
  mustOk(updateContainerInstancesState(ctx(), json{{"cluster", "prod"}, {"containerInstances", {arns[0]}}, {"status", "DRAINING"}}));
  mustOk(deregisterContainerInstance(ctx(), json{{"cluster", "prod"}, {"containerInstance", arns[4]}}));

  auto all = mustOk(listContainerInstances(ctx(), json{{"cluster", "prod"}}));
  EXPECT_EQ(all["containerInstanceArns"].size(), 4u);  // INACTIVE is never listed
  EXPECT_EQ(mustOk(listContainerInstances(ctx(), json{{"cluster", "prod"}, {"status", "DRAINING"}}))["containerInstanceArns"],
            (json{arns[0]}));
  EXPECT_EQ(mustOk(listContainerInstances(ctx(), json{{"cluster", "prod"}, {"status", "ACTIVE"}}))["containerInstanceArns"].size(), 3u);

  auto zoneB = mustOk(listContainerInstances(ctx(), json{{"cluster", "prod"}, {"filter", "attribute:ecs.availability-zone == eu-west-3b"}}));
  EXPECT_EQ(zoneB["containerInstanceArns"].size(), 2u);  // arns[1], arns[3]
  auto notB = mustOk(listContainerInstances(ctx(), json{{"cluster", "prod"}, {"filter", "attribute:ecs.availability-zone != 'eu-west-3b'"}}));
  EXPECT_EQ(notB["containerInstanceArns"].size(), 2u);  // arns[0], arns[2]
  EXPECT_EQ(mustOk(listContainerInstances(ctx(), json{{"cluster", "prod"}, {"filter", "attribute:ecs.os-type exists"}}))["containerInstanceArns"].size(), 4u);
  EXPECT_EQ(mustOk(listContainerInstances(ctx(), json{{"cluster", "prod"}, {"filter", "attribute:gpu !exists"}}))["containerInstanceArns"].size(), 4u);
  // The full query language (more in instance_facts_test.cc).
  EXPECT_EQ(mustOk(listContainerInstances(ctx(), json{{"cluster", "prod"}, {"filter", "attribute:ecs.availability-zone == eu-west-3b and attribute:ecs.os-type == linux"}}))["containerInstanceArns"].size(), 2u);
  EXPECT_EQ(failCode(listContainerInstances(ctx(), json{{"cluster", "prod"}, {"filter", "attribute:a == b and"}})),
            ErrorCode::kInvalidParameter);
  EXPECT_EQ(failCode(listContainerInstances(ctx(), json{{"cluster", "prod"}, {"status", "INACTIVE"}})), ErrorCode::kInvalidParameter);

  auto first = mustOk(listContainerInstances(ctx(), json{{"cluster", "prod"}, {"maxResults", 3}}));
  ASSERT_EQ(first["containerInstanceArns"].size(), 3u);
  ASSERT_TRUE(first.contains("nextToken"));
  auto second = mustOk(listContainerInstances(ctx(), json{{"cluster", "prod"}, {"maxResults", 3}, {"nextToken", first["nextToken"]}}));
  EXPECT_EQ(second["containerInstanceArns"].size(), 1u);
  EXPECT_FALSE(second.contains("nextToken"));
}

TEST_F(ContainerInstanceOpsTest, UpdateStateDrainsAndReactivates) {
  json ci = registerInstance();
  auto r = mustOk(updateContainerInstancesState(
      ctx(), json{{"cluster", "prod"}, {"containerInstances", {ci["containerInstanceArn"], "0123456789abcdef0123456789abcdef"}},
                  {"status", "DRAINING"}}));
  ASSERT_EQ(r["containerInstances"].size(), 1u);
  EXPECT_EQ(r["containerInstances"][0]["status"], "DRAINING");
  EXPECT_EQ(r["containerInstances"][0]["version"], 2);
  ASSERT_EQ(r["failures"].size(), 1u);
  EXPECT_EQ(r["failures"][0]["reason"], "MISSING");
  // A draining instance takes no new tasks.
  registerTd("web");
  auto run = mustOk(runTask(ctx(), json{{"cluster", "prod"}, {"taskDefinition", "web"}}));
  EXPECT_TRUE(run["tasks"].empty());
  ASSERT_EQ(run["failures"].size(), 1u);
  EXPECT_EQ(run["failures"][0]["reason"], "MISSING");
  r = mustOk(updateContainerInstancesState(ctx(), json{{"cluster", "prod"}, {"containerInstances", {ci["containerInstanceArn"]}}, {"status", "ACTIVE"}}));
  EXPECT_EQ(r["containerInstances"][0]["status"], "ACTIVE");
  EXPECT_EQ(mustOk(runTask(ctx(), json{{"cluster", "prod"}, {"taskDefinition", "web"}}))["tasks"].size(), 1u);
  EXPECT_EQ(failCode(updateContainerInstancesState(ctx(), json{{"cluster", "prod"}, {"containerInstances", {ci["containerInstanceArn"]}}, {"status", "INACTIVE"}})),
            ErrorCode::kInvalidParameter);
}

TEST_F(ContainerInstanceOpsTest, DeregisterRefusesWithTasksUnlessForced) {
  json ci = registerInstance();
  const std::string arn = ci["containerInstanceArn"];
  registerTd("web");
  auto run = mustOk(runTask(ctx(), json{{"cluster", "prod"}, {"taskDefinition", "web"}}));
  ASSERT_EQ(run["tasks"].size(), 1u);
  auto refused = deregisterContainerInstance(ctx(), json{{"cluster", "prod"}, {"containerInstance", arn}});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidParameter);
  EXPECT_EQ(refused.error().message, "Found running tasks on the instance.");

  json gone = mustOk(deregisterContainerInstance(ctx(), json{{"cluster", "prod"}, {"containerInstance", arn}, {"force", true}}))["containerInstance"];
  EXPECT_EQ(gone["status"], "INACTIVE");
  EXPECT_EQ(gone["agentConnected"], false);
  EXPECT_EQ(gone["runningTasksCount"], 0);
  EXPECT_EQ(gone["pendingTasksCount"], 0);
  auto task = mustOk(describeTasks(ctx(), json{{"cluster", "prod"}, {"tasks", {run["tasks"][0]["taskArn"]}}}))["tasks"][0];
  EXPECT_EQ(task["lastStatus"], "STOPPED");
  EXPECT_EQ(task["desiredStatus"], "STOPPED");
  EXPECT_EQ(task["containers"][0]["lastStatus"], "STOPPED");
  // Still describable for the retention window, but not counted: the cluster can go.
  EXPECT_EQ(describe(arn)["status"], "INACTIVE");
  EXPECT_EQ(mustOk(describeClusters(ctx(), json{{"clusters", {"prod"}}}))["clusters"][0]["registeredContainerInstancesCount"], 0);
  EXPECT_EQ(failCode(deregisterContainerInstance(ctx(), json{{"cluster", "prod"}, {"containerInstance", arn}})),
            ErrorCode::kInvalidParameter);
  mustOk(deleteCluster(ctx(), json{{"cluster", "prod"}}), "DeleteCluster");
}

TEST_F(ContainerInstanceOpsTest, ReaperRemovesDeregisteredInstancesAfterRetention) {
  json ci = registerInstance();
  mustOk(deregisterContainerInstance(ctx(), json{{"cluster", "prod"}, {"containerInstance", ci["containerInstanceArn"]}}));
  clock().advance(std::chrono::minutes(59));
  EXPECT_EQ(mustOk(reapStoppedTasks(ctx(), clock().now())), 0);
  clock().advance(std::chrono::minutes(1));
  EXPECT_EQ(mustOk(reapStoppedTasks(ctx(), clock().now())), 1);
  auto r = mustOk(describeContainerInstances(ctx(), json{{"cluster", "prod"}, {"containerInstances", {ci["containerInstanceArn"]}}}));
  EXPECT_EQ(r["failures"].size(), 1u);
}

TEST_F(ContainerInstanceOpsTest, AgentConnectedWritesOnlyOnChange) {
  json ci = registerInstance();
  const std::string arn = ci["containerInstanceArn"];
  const std::string id = arn.substr(arn.rfind('/') + 1);
  auto before = cache().get(keys::containerInstance("prod", id))->modRevision;
  ASSERT_TRUE(setAgentConnected(ctx(), "prod", id, true).ok());
  EXPECT_EQ(cache().get(keys::containerInstance("prod", id))->modRevision, before);
  ASSERT_TRUE(setAgentConnected(ctx(), "prod", id, false).ok());
  EXPECT_EQ(describe(arn)["agentConnected"], false);
  EXPECT_FALSE(setAgentConnected(ctx(), "prod", "0123456789abcdef0123456789abcdef", true).ok());
}

TEST(ContainerInstanceRefTest, ParsesIdsAndArns) {
  EXPECT_EQ(containerInstanceIdFromRef("0123456789abcdef0123456789abcdef", "c"), "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(containerInstanceIdFromRef("arn:aws:ecs:r:1:container-instance/c/0123456789abcdef0123456789abcdef", "c"),
            "0123456789abcdef0123456789abcdef");
  EXPECT_FALSE(containerInstanceIdFromRef("arn:aws:ecs:r:1:container-instance/other/0123456789abcdef0123456789abcdef", "c"));
  EXPECT_FALSE(containerInstanceIdFromRef("arn:aws:ecs:r:1:task/c/0123456789abcdef0123456789abcdef", "c"));
  EXPECT_FALSE(containerInstanceIdFromRef("0123456789ABCDEF0123456789abcdef", "c"));
  EXPECT_FALSE(containerInstanceIdFromRef("../x", "c"));
}

}  // namespace
}  // namespace berth::control
