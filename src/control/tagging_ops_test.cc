#include "control/tagging_ops.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "control/cluster_ops.h"
#include "control/keys.h"
#include "control/task_definition_ops.h"
#include "control/testing/ecs_fixture.h"

namespace berth::control {
namespace {

using nlohmann::json;
using test::mustOk;

const std::string kClusterArn = "arn:aws:ecs:eu-west-3:123456789012:cluster/prod";
const std::string kTdArn = "arn:aws:ecs:eu-west-3:123456789012:task-definition/web:1";

json tag(const std::string& k, const std::string& v) { return {{"key", k}, {"value", v}}; }

class TaggingOpsTest : public test::EcsFixture {
 protected:
  void SetUp() override {
    mustOk(createCluster(ctx(), json{{"clusterName", "prod"}, {"tags", {tag("a", "1")}}}));
    mustOk(registerTaskDefinition(
        ctx(), json{{"family", "web"},
                    {"tags", {tag("team", "core")}},
                    {"containerDefinitions", {{{"name", "app"}, {"image", "nginx"}, {"memory", 128}}}}}));
  }

  json listTags(const std::string& arn) { return mustOk(listTagsForResource(ctx(), json{{"resourceArn", arn}}))["tags"]; }
  ErrorCode tagCode(const std::string& arn, const json& tags = json::array({tag("x", "y")})) {
    auto r = tagResource(ctx(), json{{"resourceArn", arn}, {"tags", tags}});
    EXPECT_FALSE(r.ok()) << arn;
    return r.ok() ? ErrorCode::kInternal : r.error().code;
  }
  ErrorCode untagCode(const std::string& arn) {
    auto r = untagResource(ctx(), json{{"resourceArn", arn}, {"tagKeys", {"a"}}});
    EXPECT_FALSE(r.ok()) << arn;
    return r.ok() ? ErrorCode::kInternal : r.error().code;
  }
  ErrorCode listCode(const std::string& arn) {
    auto r = listTagsForResource(ctx(), json{{"resourceArn", arn}});
    EXPECT_FALSE(r.ok()) << arn;
    return r.ok() ? ErrorCode::kInternal : r.error().code;
  }
};

TEST_F(TaggingOpsTest, StoreKeyForArn) {
  const AccountInfo acct = test::testAccount();
  EXPECT_EQ(storeKeyForArn(acct, kClusterArn), keys::cluster("prod"));
  EXPECT_EQ(storeKeyForArn(acct, kTdArn), keys::taskDefinition("web", 1));
  EXPECT_EQ(storeKeyForArn(acct, "arn:aws:ecs:eu-west-3:123456789012:service/prod/api"), keys::service("prod", "api"));
  // The old service ARN format names no cluster.
  for (const char* bad : {"prod", "arn:aws:ecs:eu-west-3:123456789012:task-definition/web",
                          "arn:aws:ecs:eu-west-3:999999999999:cluster/prod", "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
                          "arn:aws:iam::123456789012:role/prod", "arn:aws:ecs:eu-west-3:123456789012:service/api"})
    EXPECT_EQ(storeKeyForArn(acct, bad), std::nullopt) << bad;
}

TEST_F(TaggingOpsTest, ClusterTagUntagList) {
  EXPECT_EQ(listTags(kClusterArn), json::array({tag("a", "1")}));
  json r = mustOk(tagResource(ctx(), json{{"resourceArn", kClusterArn}, {"tags", {tag("b", "2"), tag("a", "10")}}}));
  EXPECT_EQ(r, json::object());
  EXPECT_EQ(listTags(kClusterArn), json::array({tag("a", "10"), tag("b", "2")}));
  // DescribeClusters sees the same tags.
  json d = mustOk(describeClusters(ctx(), json{{"clusters", {"prod"}}, {"include", {"TAGS"}}}));
  EXPECT_EQ(d["clusters"][0]["tags"], json::array({tag("a", "10"), tag("b", "2")}));

  EXPECT_EQ(mustOk(untagResource(ctx(), json{{"resourceArn", kClusterArn}, {"tagKeys", {"a", "unknown"}}})),
            json::object());
  EXPECT_EQ(listTags(kClusterArn), json::array({tag("b", "2")}));
  // Nothing else about the cluster changed.
  json c = mustOk(describeClusters(ctx(), json{{"clusters", {"prod"}}, {"include", {"SETTINGS"}}}))["clusters"][0];
  EXPECT_EQ(c["status"], "ACTIVE");
  EXPECT_EQ(c["settings"], json::parse(R"([{"name":"containerInsights","value":"disabled"}])"));
}

TEST_F(TaggingOpsTest, TaskDefinitionTagUntagList) {
  json before = mustOk(describeTaskDefinition(ctx(), json{{"taskDefinition", "web:1"}}))["taskDefinition"];
  EXPECT_EQ(listTags(kTdArn), json::array({tag("team", "core")}));
  mustOk(tagResource(ctx(), json{{"resourceArn", kTdArn}, {"tags", {tag("env", "prod")}}}));
  EXPECT_EQ(listTags(kTdArn), json::array({tag("team", "core"), tag("env", "prod")}));
  json described = mustOk(describeTaskDefinition(ctx(), json{{"taskDefinition", "web"}, {"include", {"TAGS"}}}));
  EXPECT_EQ(described["tags"], json::array({tag("team", "core"), tag("env", "prod")}));
  EXPECT_EQ(described["taskDefinition"], before);  // the definition itself is untouched
  mustOk(untagResource(ctx(), json{{"resourceArn", kTdArn}, {"tagKeys", {"team"}}}));
  EXPECT_EQ(listTags(kTdArn), json::array({tag("env", "prod")}));

  // An INACTIVE revision can still be tagged; a deleted one is gone.
  mustOk(deregisterTaskDefinition(ctx(), json{{"taskDefinition", "web:1"}}));
  mustOk(tagResource(ctx(), json{{"resourceArn", kTdArn}, {"tags", {tag("old", "yes")}}}));
  EXPECT_EQ(listTags(kTdArn), json::array({tag("env", "prod"), tag("old", "yes")}));
  mustOk(deleteTaskDefinitions(ctx(), json{{"taskDefinitions", {"web:1"}}}));
  EXPECT_EQ(listCode(kTdArn), ErrorCode::kResourceNotFound);
  EXPECT_EQ(tagCode(kTdArn), ErrorCode::kResourceNotFound);
}

TEST_F(TaggingOpsTest, UnknownResourcesAreNotFound) {
  for (const std::string& arn : {std::string("arn:aws:ecs:eu-west-3:123456789012:cluster/nope"),
                                 std::string("arn:aws:ecs:eu-west-3:123456789012:task-definition/web:2"),
                                 std::string("arn:aws:ecs:eu-west-3:123456789012:task-definition/other:1")}) {
    EXPECT_EQ(tagCode(arn), ErrorCode::kResourceNotFound) << arn;
    EXPECT_EQ(untagCode(arn), ErrorCode::kResourceNotFound) << arn;
    EXPECT_EQ(listCode(arn), ErrorCode::kResourceNotFound) << arn;
  }
  EXPECT_FALSE(cache().get(keys::cluster("nope")).has_value());  // tagging did not create anything
}

TEST_F(TaggingOpsTest, MalformedArnsAreInvalid) {
  for (const std::string& arn :
       {std::string("prod"), std::string("not-an-arn"), std::string("arn:aws:ecs:eu-west-3:123456789012:cluster"),
        std::string("arn:aws:ecs:eu-west-3:123456789012:task-definition/web"),  // no revision
        std::string("arn:aws:ecs:eu-west-3:123456789012:task-definition/web:x"),
        std::string("arn:aws:iam::123456789012:role/prod"),
        std::string("arn:aws:ecs:eu-west-3:123456789012:widget/prod")}) {
    EXPECT_EQ(tagCode(arn), ErrorCode::kInvalidParameter) << arn;
    EXPECT_EQ(listCode(arn), ErrorCode::kInvalidParameter) << arn;
  }
  EXPECT_EQ(tagCode(""), ErrorCode::kInvalidParameter);
  auto missing = listTagsForResource(ctx(), json::object());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kInvalidParameter);
}

TEST_F(TaggingOpsTest, OtherAccountOrRegionIsRejected) {
  for (const std::string& arn : {std::string("arn:aws:ecs:eu-west-3:999999999999:cluster/prod"),
                                 std::string("arn:aws:ecs:us-east-1:123456789012:cluster/prod"),
                                 std::string("arn:aws:ecs:us-east-1:123456789012:task-definition/web:1")}) {
    EXPECT_EQ(tagCode(arn), ErrorCode::kInvalidParameter) << arn;
    EXPECT_EQ(untagCode(arn), ErrorCode::kInvalidParameter) << arn;
    EXPECT_EQ(listCode(arn), ErrorCode::kInvalidParameter) << arn;
  }
  // Our same-named cluster was not touched.
  EXPECT_EQ(listTags(kClusterArn), json::array({tag("a", "1")}));
}

TEST_F(TaggingOpsTest, InactiveClusterIsNotFound) {
  mustOk(deleteCluster(ctx(), json{{"cluster", "prod"}}));
  EXPECT_EQ(tagCode(kClusterArn), ErrorCode::kClusterNotFound);
  EXPECT_EQ(untagCode(kClusterArn), ErrorCode::kClusterNotFound);
  EXPECT_EQ(listCode(kClusterArn), ErrorCode::kClusterNotFound);
  auto stored = cache().get(keys::cluster("prod"));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->doc["tags"], json::array({tag("a", "1")}));
}

TEST_F(TaggingOpsTest, TagValidationAndLimit) {
  EXPECT_EQ(tagCode(kClusterArn, json::array()), ErrorCode::kInvalidParameter);
  EXPECT_EQ(tagCode(kClusterArn, json::array({tag("aws:x", "1")})), ErrorCode::kInvalidParameter);
  EXPECT_EQ(tagCode(kClusterArn, json::array({tag("a*b", "1")})), ErrorCode::kInvalidParameter);
  EXPECT_EQ(tagCode(kClusterArn, json::array({tag("d", "1"), tag("d", "2")})), ErrorCode::kInvalidParameter);
  auto noTags = tagResource(ctx(), json{{"resourceArn", kClusterArn}});
  ASSERT_FALSE(noTags.ok());
  EXPECT_EQ(noTags.error().code, ErrorCode::kInvalidParameter);

  // 49 more reach the limit of 50 with the existing one; then one more is refused.
  json many = json::array();
  for (int i = 0; i < 49; ++i) many.push_back(tag("k" + std::to_string(i), "v"));
  mustOk(tagResource(ctx(), json{{"resourceArn", kClusterArn}, {"tags", many}}));
  EXPECT_EQ(listTags(kClusterArn).size(), 50u);
  EXPECT_EQ(tagCode(kClusterArn, json::array({tag("one-too-many", "v")})), ErrorCode::kInvalidParameter);
  EXPECT_EQ(listTags(kClusterArn).size(), 50u);
  // Overwriting at the limit is fine.
  mustOk(tagResource(ctx(), json{{"resourceArn", kClusterArn}, {"tags", {tag("a", "changed")}}}));
  EXPECT_EQ(listTags(kClusterArn)[0], tag("a", "changed"));
}

TEST_F(TaggingOpsTest, ConcurrentTaggersDoNotLoseTags) {
  constexpr int kThreads = 8, kEach = 5;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto r = tagResource(ctx(), json{{"resourceArn", kClusterArn},
                                         {"tags", {tag("t" + std::to_string(t) + "-" + std::to_string(i), "v")}}});
        if (!r.ok()) ADD_FAILURE() << r.error().message;
      }
    });
  for (auto& th : threads) th.join();
  std::set<std::string> keysSeen;
  for (const auto& t : listTags(kClusterArn)) keysSeen.insert(t["key"].get<std::string>());
  EXPECT_EQ(keysSeen.size(), 1u + kThreads * kEach);
  EXPECT_TRUE(keysSeen.count("a"));
}

}  // namespace
}  // namespace berth::control
