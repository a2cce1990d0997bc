#include "control/instance_facts.h"

#include <gtest/gtest.h>

#include "control/attribute_ops.h"
#include "control/cluster_ops.h"
#include "control/container_instance_ops.h"
#include "control/task_definition_ops.h"
#include "control/task_ops.h"
#include "control/testing/ecs_fixture.h"

namespace berth::control {
namespace {

using nlohmann::json;
using test::mustOk;

TEST(InstanceDocFactsTest, ReadsTheStoredDocument) {
  const json doc = {{"containerInstanceArn", "arn:aws:ecs:eu-west-3:123456789012:container-instance/prod/abc"},
                    {"ec2InstanceId", "i-0abc"},
                    {"agentConnected", true},
                    {"versionInfo", {{"agentVersion", "1.14.5"}}},
                    {"registeredAt", 1529360908.5},
                    {"attributes", {{{"name", "stack"}, {"value", "prod"}}, {{"name", "com.amazonaws.ecs.capability.ecr-auth"}}}}};
  InstanceTaskFacts tasks{.running = 2, .groups = {"service:web"}};
  InstanceDocFacts facts(doc, &tasks);
  ASSERT_NE(facts.attribute("stack"), nullptr);
  EXPECT_EQ(*facts.attribute("stack"), "prod");
  ASSERT_NE(facts.attribute("com.amazonaws.ecs.capability.ecr-auth"), nullptr);
  EXPECT_EQ(*facts.attribute("com.amazonaws.ecs.capability.ecr-auth"), "");
  EXPECT_EQ(facts.attribute("missing"), nullptr);
  EXPECT_EQ(facts.ec2InstanceId(), "i-0abc");
  EXPECT_TRUE(facts.agentConnected());
  EXPECT_EQ(facts.agentVersion(), "1.14.5");
  EXPECT_EQ(facts.registeredAt(), 1529360908.5);
  EXPECT_EQ(facts.runningTasksCount(), 2);
  EXPECT_TRUE(facts.hasTaskInGroup("service:web"));
  EXPECT_FALSE(facts.hasTaskInGroup("service:api"));

  const json empty = json::object();
  InstanceDocFacts bare(empty, nullptr);
  EXPECT_EQ(bare.attribute("stack"), nullptr);
  EXPECT_EQ(bare.agentVersion(), "");
  EXPECT_FALSE(bare.agentConnected());
  EXPECT_EQ(bare.runningTasksCount(), 0);
  EXPECT_FALSE(bare.hasTaskInGroup("service:web"));
}

class ListFilterTest : public test::EcsFixture {
 protected:
  void SetUp() override {
    mustOk(createCluster(ctx(), json{{"clusterName", "prod"}}));
    for (const char* az : {"eu-west-3a", "eu-west-3b", "eu-west-3c"}) {
      json req = {{"cluster", "prod"},
                  {"totalResources", test::instanceResources(1024, 2048, {"22"})},
                  {"versionInfo", {{"agentVersion", std::string(az) == "eu-west-3c" ? "1.9.0" : "1.20.1"}}},
                  {"attributes", {{{"name", "ecs.availability-zone"}, {"value", az}}}}};
      arns_.push_back(mustOk(registerContainerInstance(ctx(), req))["containerInstance"]["containerInstanceArn"]);
    }
    mustOk(registerTaskDefinition(ctx(), json{{"family", "web"},
                                              {"containerDefinitions", {{{"name", "app"}, {"image", "busybox"}, {"memory", 128}}}}}));
  }

  // Runs one task of group `group` on instance `i` and reports it RUNNING.
  void runOn(int i, const std::string& group) {
    auto run = mustOk(startTask(ctx(), json{{"cluster", "prod"}, {"taskDefinition", "web"}, {"group", group},
                                            {"containerInstances", {arns_[i]}}}));
    ASSERT_EQ(run["tasks"].size(), 1u) << run.dump();
    mustOk(submitTaskStateChange(ctx(), json{{"cluster", "prod"}, {"task", run["tasks"][0]["taskArn"]}, {"status", "RUNNING"}}));
  }

  // Which instances (by index) the filter lists.
  std::string listed(const std::string& filter) {
    auto r = listContainerInstances(ctx(), json{{"cluster", "prod"}, {"filter", filter}});
    if (!r.ok()) return "error: " + r.error().message;
    std::string out;
    for (std::size_t i = 0; i < arns_.size(); ++i)
      for (const auto& a : (*r)["containerInstanceArns"])
        if (a == arns_[i]) out += std::to_string(i);
    return out;
  }

  std::vector<std::string> arns_;
};

TEST_F(ListFilterTest, EvaluatesTheQueryLanguageAgainstInstancesAndTheirTasks) {
  runOn(0, "service:web");
  runOn(0, "family:batch");
  runOn(1, "family:batch");
  mustOk(putAttributes(ctx(), json{{"cluster", "prod"},
                                   {"attributes", {{{"name", "stack"}, {"value", "prod"}, {"targetId", arns_[1]}},
                                                   {{"name", "stack"}, {"value", "test"}, {"targetId", arns_[2]}}}}}));

  EXPECT_EQ(listed("attribute:stack == prod"), "1");
  EXPECT_EQ(listed("attribute:stack exists and attribute:ecs.availability-zone in [eu-west-3a, eu-west-3c]"), "2");
  EXPECT_EQ(listed("runningTasksCount >= 1"), "01");
  EXPECT_EQ(listed("runningTasksCount == 2"), "0");
  EXPECT_EQ(listed("task:group == family:batch"), "01");
  EXPECT_EQ(listed("not(task:group == service:web) and attribute:ecs.availability-zone =~ eu-west-3.*"), "12");
  EXPECT_EQ(listed("agentVersion < 1.14.0 or attribute:stack == prod"), "12");
  EXPECT_EQ(listed("agentConnected == true"), "012");
  EXPECT_EQ(listed("ec2InstanceId =~ i-.*"), "012");
  EXPECT_EQ(listed("registeredAt > 2018-06-18"), "012");  // the fake clock starts after 2018

  auto bad = listContainerInstances(ctx(), json{{"cluster", "prod"}, {"filter", "attribute:stack === prod"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidParameter);
  EXPECT_NE(bad.error().message.find("unknown operator '==='"), std::string::npos) << bad.error().message;
}

}  // namespace
}  // namespace berth::control
