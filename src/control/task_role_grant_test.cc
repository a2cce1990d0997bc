#include "control/task_role_grant.h"

#include <gtest/gtest.h>

#include "control/cluster_ops.h"
#include "control/container_instance_ops.h"
#include "control/task_definition_ops.h"
#include "control/task_ops.h"
#include "control/testing/ecs_fixture.h"

namespace berth::control {
namespace {

using nlohmann::json;
using test::mustOk;

const std::string kRole = "arn:aws:iam::123456789012:role/app";

class TaskRoleGrantTest : public test::EcsFixture {
 protected:
  void SetUp() override {
    mustOk(createCluster(ctx(), json{{"clusterName", "prod"}}), "CreateCluster");
    mustOk(registerTaskDefinition(ctx(), json{{"family", "web"},
                                              {"taskRoleArn", kRole},
                                              {"containerDefinitions", {{{"name", "app"}, {"image", "busybox"}, {"memory", 64}}}}}));
    mustOk(registerTaskDefinition(ctx(), json{{"family", "plain"},
                                              {"containerDefinitions", {{{"name", "app"}, {"image", "busybox"}, {"memory", 64}}}}}));
    a_ = registerInstance();
    b_ = registerInstance();
  }
  std::string registerInstance() {
    return mustOk(registerContainerInstance(
        ctx(), json{{"cluster", "prod"}, {"totalResources", test::instanceResources(2048, 4096, {})}}))
        ["containerInstance"]["containerInstanceArn"];
  }
  std::string startOn(const std::string& instance, const std::string& family, json overrides = json::object()) {
    return mustOk(startTask(ctx(), json{{"cluster", "prod"}, {"taskDefinition", family}, {"containerInstances", {instance}},
                                        {"overrides", overrides}}))["tasks"][0]["taskArn"];
  }
  Result<TaskRoleGrant> ask(const std::string& instance, const std::string& task) {
    return taskRoleForAgent(ctx(), json{{"cluster", "prod"}, {"containerInstance", instance}, {"task", task}});
  }
  std::string a_, b_;
};

TEST_F(TaskRoleGrantTest, GrantsTheDefinitionsRoleToTheTasksOwnInstance) {
  const std::string task = startOn(a_, "web");
  auto grant = ask(a_, task);
  ASSERT_TRUE(grant.ok()) << grant.error().message;
  EXPECT_EQ(grant->taskArn, task);
  EXPECT_EQ(grant->roleArn, kRole);
}

TEST_F(TaskRoleGrantTest, OverrideRoleWins) {
  const std::string other = "arn:aws:iam::123456789012:role/other";
  const std::string task = startOn(a_, "plain", json{{"taskRoleArn", other}});
  auto grant = ask(a_, task);
  ASSERT_TRUE(grant.ok()) << grant.error().message;
  EXPECT_EQ(grant->roleArn, other);
}

TEST_F(TaskRoleGrantTest, RefusesATaskOnAnotherInstance) {
  const std::string task = startOn(a_, "web");
  auto grant = ask(b_, task);
  ASSERT_FALSE(grant.ok());
  EXPECT_EQ(grant.error().code, ErrorCode::kClient);
  EXPECT_NE(grant.error().message.find("is not running on container instance"), std::string::npos);
}

TEST_F(TaskRoleGrantTest, RefusesUnknownTasksAndTasksWithoutRole) {
  EXPECT_EQ(ask(a_, "0123456789abcdef0123456789abcdef").error().code, ErrorCode::kClient);
  const std::string plain = startOn(a_, "plain");
  auto noRole = ask(a_, plain);
  ASSERT_FALSE(noRole.ok());
  EXPECT_NE(noRole.error().message.find("no task role"), std::string::npos);
}

TEST_F(TaskRoleGrantTest, ChecksItsInput) {
  EXPECT_EQ(taskRoleForAgent(ctx(), json{{"cluster", "prod"}, {"task", "x"}}).error().code, ErrorCode::kInvalidParameter);
  EXPECT_EQ(taskRoleForAgent(ctx(), json{{"cluster", "prod"}, {"containerInstance", a_}}).error().code,
            ErrorCode::kInvalidParameter);
  EXPECT_EQ(taskRoleForAgent(ctx(), json{{"cluster", 5}, {"containerInstance", a_}, {"task", "x"}}).error().code,
            ErrorCode::kInvalidParameter);
  EXPECT_FALSE(taskRoleForAgent(ctx(), json{{"cluster", "nope"}, {"containerInstance", a_}, {"task", "x"}}).ok());
}

}  // namespace
}  // namespace berth::control
