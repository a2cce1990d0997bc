#include "control/arn.h"

#include <gtest/gtest.h>

#include <string>

#include "control/testing/ecs_fixture.h"

namespace berth::control {
namespace {

TEST(ArnTest, ParsesClusterArn) {
  auto a = parseArn("arn:aws:ecs:eu-west-3:123456789012:cluster/prod");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->partition, "aws");
  EXPECT_EQ(a->service, "ecs");
  EXPECT_EQ(a->region, "eu-west-3");
  EXPECT_EQ(a->account, "123456789012");
  EXPECT_EQ(a->resourceType, "cluster");
  EXPECT_EQ(a->resource, "prod");
}

TEST(ArnTest, ResourceKeepsColonsAndSlashes) {
  auto td = parseArn("arn:aws:ecs:us-east-1:000000000000:task-definition/web:12");
  ASSERT_TRUE(td.has_value());
  EXPECT_EQ(td->resourceType, "task-definition");
  EXPECT_EQ(td->resource, "web:12");

  auto task = parseArn("arn:aws-cn:ecs:cn-north-1:111122223333:task/my-cluster/0123456789abcdef");
  ASSERT_TRUE(task.has_value());
  EXPECT_EQ(task->partition, "aws-cn");
  EXPECT_EQ(task->resourceType, "task");
  EXPECT_EQ(task->resource, "my-cluster/0123456789abcdef");

  // IAM ARNs have an empty region; parsing is not ECS-specific.
  auto role = parseArn("arn:aws:iam::123456789012:role/ecsTaskRole");
  ASSERT_TRUE(role.has_value());
  EXPECT_EQ(role->service, "iam");
  EXPECT_EQ(role->region, "");
  EXPECT_EQ(role->resource, "ecsTaskRole");
}

TEST(ArnTest, RejectsMalformedArns) {
  for (const char* bad : {"", "arn", "prod", "arn:aws:ecs:eu-west-3:123456789012",
                          "arn:aws:ecs:eu-west-3:123456789012:cluster",      // no "/"
                          "arn:aws:ecs:eu-west-3:123456789012:/prod",        // empty type
                          "arn:aws:ecs:eu-west-3",                            // too few fields
                          "nra:aws:ecs:eu-west-3:123456789012:cluster/prod",  // wrong scheme
                          "ARN:aws:ecs:eu-west-3:123456789012:cluster/prod"}) {
    EXPECT_FALSE(parseArn(bad).has_value()) << bad;
  }
}

TEST(ArnTest, BuildsArnsFromAccount) {
  const AccountInfo acct = test::testAccount();
  EXPECT_EQ(clusterArn(acct, "prod"), "arn:aws:ecs:eu-west-3:123456789012:cluster/prod");
  EXPECT_EQ(taskDefinitionArn(acct, "web", 7), "arn:aws:ecs:eu-west-3:123456789012:task-definition/web:7");
  EXPECT_EQ(ecsArn(acct, "service", "prod/api"), "arn:aws:ecs:eu-west-3:123456789012:service/prod/api");
  EXPECT_EQ(clusterArn(AccountInfo{}, "default"), "arn:aws:ecs:us-east-1:000000000000:cluster/default");
  EXPECT_EQ(clusterArn(AccountInfo{"1", "cn-north-1", "aws-cn"}, "c"), "arn:aws-cn:ecs:cn-north-1:1:cluster/c");
}

TEST(ArnTest, BuildParseRoundTrip) {
  const AccountInfo acct = test::testAccount();
  struct Case {
    std::string type, resource;
  };
  for (const Case& c : {Case{"cluster", "a"}, Case{"cluster", "My_Cluster-01"}, Case{"task-definition", "fam:1"},
                        Case{"task-definition", "f_a-m:999999"}, Case{"task", "c/abc"},
                        Case{"container-instance", "c/0f0f"}}) {
    std::string arn = ecsArn(acct, c.type, c.resource);
    auto p = parseArn(arn);
    ASSERT_TRUE(p.has_value()) << arn;
    EXPECT_EQ(p->partition, acct.partition);
    EXPECT_EQ(p->service, "ecs");
    EXPECT_EQ(p->region, acct.region);
    EXPECT_EQ(p->account, acct.accountId);
    EXPECT_EQ(p->resourceType, c.type);
    EXPECT_EQ(p->resource, c.resource);
    EXPECT_EQ(ecsArn(AccountInfo{p->account, p->region, p->partition}, p->resourceType, p->resource), arn);
  }
}

TEST(ArnTest, ClusterNameFromRef) {
  const AccountInfo acct{"123456789012", "eu-west-3", "aws"};
  EXPECT_EQ(clusterNameFromRef("prod", acct), "prod");
  EXPECT_EQ(clusterNameFromRef("", acct), "default");
  EXPECT_EQ(clusterNameFromRef("arn:aws:ecs:eu-west-3:123456789012:cluster/prod", acct), "prod");
  // Another account's or region's ARN can't name one of our clusters.
  EXPECT_EQ(clusterNameFromRef("arn:aws:ecs:us-west-2:999999999999:cluster/other", acct), std::nullopt);
  EXPECT_EQ(clusterNameFromRef("arn:aws:ecs:eu-west-3:999999999999:cluster/prod", acct), std::nullopt);
  EXPECT_EQ(clusterNameFromRef("arn:aws:ecs:us-west-2:123456789012:cluster/prod", acct), std::nullopt);
  // ARNs of other things are not cluster references.
  EXPECT_EQ(clusterNameFromRef("arn:aws:ecs:eu-west-3:123456789012:task-definition/web:1", acct), std::nullopt);
  EXPECT_EQ(clusterNameFromRef("arn:aws:ecs:eu-west-3:123456789012:service/prod/api", acct), std::nullopt);
  EXPECT_EQ(clusterNameFromRef("arn:aws:iam::123456789012:cluster/prod", acct), std::nullopt);
  EXPECT_EQ(clusterNameFromRef("arn:aws:ecs:eu-west-3:123456789012:cluster", acct), std::nullopt);
  EXPECT_EQ(clusterNameFromRef("arn:garbage", acct), std::nullopt);
}

}  // namespace
}  // namespace berth::control
