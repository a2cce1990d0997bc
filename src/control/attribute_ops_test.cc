#include "control/attribute_ops.h"

#include <gtest/gtest.h>

#include "control/cluster_ops.h"
#include "control/container_instance_ops.h"
#include "control/testing/ecs_fixture.h"

namespace berth::control {
namespace {

using nlohmann::json;
using test::mustOk;

class AttributeOpsTest : public test::EcsFixture {
 protected:
  void SetUp() override {
    mustOk(createCluster(ctx(), json{{"clusterName", "prod"}}), "CreateCluster");
    a_ = registerInstance("eu-west-3a");
    b_ = registerInstance("eu-west-3b");
  }

  std::string registerInstance(const std::string& az) {
    json req = {{"cluster", "prod"},
                {"totalResources", test::instanceResources(1024, 2048, {"22"})},
                {"attributes", {{{"name", "ecs.availability-zone"}, {"value", az}},
                                {{"name", "com.amazonaws.ecs.capability.logging-driver.awslogs"}}}}};
    return mustOk(registerContainerInstance(ctx(), req), "RegisterContainerInstance")["containerInstance"]["containerInstanceArn"];
  }

  static std::string idOf(const std::string& arn) { return arn.substr(arn.rfind('/') + 1); }

  // Vectors, not json: a one-element brace list of json would be a copy, not an array.
  json put(const std::vector<json>& attributes) {
    return mustOk(putAttributes(ctx(), json{{"cluster", "prod"}, {"attributes", json(attributes)}}), "PutAttributes");
  }
  ErrorCode putFails(const std::vector<json>& attributes) {
    auto r = putAttributes(ctx(), json{{"cluster", "prod"}, {"attributes", json(attributes)}});
    EXPECT_FALSE(r.ok()) << json(attributes).dump();
    return r.ok() ? ErrorCode::kInternal : r.error().code;
  }
  json attributesOf(const std::string& arn) {
    auto r = mustOk(describeContainerInstances(ctx(), json{{"cluster", "prod"}, {"containerInstances", {arn}}}));
    return r["containerInstances"].empty() ? json() : r["containerInstances"][0]["attributes"];
  }
  std::optional<std::string> valueOn(const std::string& arn, const std::string& name) {
    for (const auto& a : attributesOf(arn))
      if (a["name"] == name) return a.value("value", "");
    return std::nullopt;
  }
  json list(json request) {
    request["cluster"] = "prod";
    return mustOk(listAttributes(ctx(), request), "ListAttributes");
  }

  std::string a_, b_;
};

json attr(const std::string& name, const std::string& target, std::optional<std::string> value = std::nullopt) {
  json a = {{"name", name}, {"targetId", target}};
  if (value) a["value"] = *value;
  return a;
}

TEST_F(AttributeOpsTest, PutByArnOrIdCreatesAndReplaces) {
  auto out = put({attr("stack", a_, "prod"), {{"name", "team"}, {"value", "infra ops"}, {"targetType", "container-instance"},
                                              {"targetId", idOf(b_)}}});
  EXPECT_EQ(out["attributes"],
            (json{{{"name", "stack"}, {"value", "prod"}, {"targetType", "container-instance"}, {"targetId", a_}},
                  {{"name", "team"}, {"value", "infra ops"}, {"targetType", "container-instance"}, {"targetId", idOf(b_)}}}));
  EXPECT_EQ(valueOn(a_, "stack"), "prod");
  EXPECT_EQ(valueOn(b_, "team"), "infra ops");
  EXPECT_FALSE(valueOn(b_, "stack"));

  put({attr("stack", a_, "test")});
  EXPECT_EQ(valueOn(a_, "stack"), "test");
  // A value-less attribute (like a capability) is fine too.
  put({attr("gpu-ready", a_)});
  EXPECT_EQ(valueOn(a_, "gpu-ready"), "");
  // Built-ins stay untouched.
  EXPECT_EQ(valueOn(a_, "ecs.availability-zone"), "eu-west-3a");
  EXPECT_EQ(attributesOf(a_).size(), 4u);
}

TEST_F(AttributeOpsTest, PutBumpsTheInstanceVersion) {
  auto versionOf = [&](const std::string& arn) {
    return mustOk(describeContainerInstances(ctx(), json{{"cluster", "prod"}, {"containerInstances", {arn}}}))
        ["containerInstances"][0]["version"].get<int>();
  };
  const int before = versionOf(a_);
  put({attr("stack", a_, "prod")});
  EXPECT_EQ(versionOf(a_), before + 1);
}

TEST_F(AttributeOpsTest, DeleteRemovesOnlyTheNamedCustomAttribute) {
  put({attr("stack", a_, "prod"), attr("team", a_, "infra"), attr("stack", b_, "prod")});
  auto out = mustOk(deleteAttributes(ctx(), json{{"cluster", "prod"}, {"attributes", json::array({attr("stack", a_)})}}));
  EXPECT_EQ(out["attributes"], (json{{{"name", "stack"}, {"targetType", "container-instance"}, {"targetId", a_}}}));
  EXPECT_FALSE(valueOn(a_, "stack"));
  EXPECT_EQ(valueOn(a_, "team"), "infra");
  EXPECT_EQ(valueOn(b_, "stack"), "prod");
  // Deleting what is not there is not an error.
  mustOk(deleteAttributes(ctx(), json{{"cluster", "prod"}, {"attributes", json::array({attr("stack", a_)})}}));
}

TEST_F(AttributeOpsTest, BuiltInAttributesCannotBeChanged) {
  EXPECT_EQ(putFails({attr("ecs.availability-zone", a_, "eu-west-3c")}), ErrorCode::kInvalidParameter);
  auto del = deleteAttributes(ctx(), json{{"cluster", "prod"}, {"attributes", json::array({attr("ecs.availability-zone", a_)})}});
  ASSERT_FALSE(del.ok());
  EXPECT_EQ(del.error().code, ErrorCode::kInvalidParameter);
  EXPECT_NE(del.error().message.find("built-in"), std::string::npos);
  del = deleteAttributes(ctx(), json{{"cluster", "prod"}, {"attributes", json::array({attr("com.amazonaws.ecs.capability.logging-driver.awslogs", a_)})}});
  EXPECT_FALSE(del.ok());
  EXPECT_EQ(valueOn(a_, "ecs.availability-zone"), "eu-west-3a");
}

TEST_F(AttributeOpsTest, UnknownTargetsAreTargetNotFound) {
  EXPECT_EQ(putFails({attr("stack", "arn:aws:ecs:eu-west-3:123456789012:container-instance/prod/0123456789abcdef0123456789abcdef", "x")}),
            ErrorCode::kTargetNotFound);
  EXPECT_EQ(putFails({{{"name", "stack"}, {"value", "x"}, {"targetType", "container-instance"}, {"targetId", "nope"}}}),
            ErrorCode::kTargetNotFound);
  // The instance's ARN names another cluster.
  mustOk(createCluster(ctx(), json{{"clusterName", "other"}}));
  auto other = putAttributes(ctx(), json{{"cluster", "other"}, {"attributes", json::array({attr("stack", a_, "x")})}});
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, ErrorCode::kTargetNotFound);
  // A deregistered instance.
  mustOk(deregisterContainerInstance(ctx(), json{{"cluster", "prod"}, {"containerInstance", b_}}));
  EXPECT_EQ(putFails({attr("stack", b_, "x")}), ErrorCode::kTargetNotFound);
  auto del = deleteAttributes(ctx(), json{{"cluster", "prod"}, {"attributes", json::array({attr("stack", b_)})}});
  ASSERT_FALSE(del.ok());
  EXPECT_EQ(del.error().code, ErrorCode::kTargetNotFound);
  // An unknown cluster.
  auto noCluster = putAttributes(ctx(), json{{"cluster", "ghost"}, {"attributes", json::array({attr("stack", a_, "x")})}});
  ASSERT_FALSE(noCluster.ok());
  EXPECT_EQ(noCluster.error().code, ErrorCode::kClusterNotFound);
}

TEST_F(AttributeOpsTest, ValidatesNamesValuesAndTargets) {
  const json bad[] = {
      attr("", a_, "x"),
      attr(std::string(129, 'n'), a_, "x"),
      attr("has space", a_, "x"),
      attr("at@sign", a_, "x"),
      attr("colon:name", a_, "x"),
      attr("stack", a_, ""),
      attr("stack", a_, std::string(129, 'v')),
      attr("stack", a_, " leading"),
      attr("stack", a_, "trailing "),
      attr("stack", a_, "semi;colon"),
      attr("stack", a_, "quote'"),
      json{{"name", "stack"}, {"value", "x"}},                                           // no targetId
      json{{"name", "stack"}, {"value", "x"}, {"targetId", idOf(a_)}},                   // short id without targetType
      json{{"name", "stack"}, {"value", "x"}, {"targetType", "task"}, {"targetId", a_}},  // wrong type
      attr("stack", "arn:aws:ecs:eu-west-3:123456789012:task/prod/0123456789abcdef0123456789abcdef", "x"),
  };
  for (const auto& a : bad) EXPECT_EQ(putFails({a}), ErrorCode::kInvalidParameter) << a.dump();
  EXPECT_EQ(putFails({}), ErrorCode::kInvalidParameter);
  // Everything the model allows.
  put({attr("A-z_0/9.x\\y", a_, "Az09-_.@/\\: v")});
  EXPECT_EQ(valueOn(a_, "A-z_0/9.x\\y"), "Az09-_.@/\\: v");
  EXPECT_EQ(put({attr(std::string(128, 'n'), a_, std::string(128, 'v'))})["attributes"].size(), 1u);
}

TEST_F(AttributeOpsTest, AtMostTenCustomAttributesPerCallAndPerInstance) {
  json eleven = json::array();
  for (int i = 0; i < 11; ++i) eleven.push_back(attr("k" + std::to_string(i), a_, "v"));
  EXPECT_EQ(putFails(eleven.get<std::vector<json>>()), ErrorCode::kAttributeLimitExceeded);

  json ten = eleven;
  ten.erase(ten.size() - 1);
  put(ten.get<std::vector<json>>());
  // The 11th custom attribute on the instance is refused, and the call applies
  // nothing (the attribute for b_ in the same call is not written either).
  EXPECT_EQ(putFails({attr("stack", b_, "x"), attr("k10", a_, "v")}), ErrorCode::kAttributeLimitExceeded);
  EXPECT_FALSE(valueOn(b_, "stack"));
  EXPECT_FALSE(valueOn(a_, "k10"));
  // Replacing one of the ten is still fine; built-ins do not count.
  put({attr("k0", a_, "changed")});
  EXPECT_EQ(valueOn(a_, "k0"), "changed");

  auto del = deleteAttributes(ctx(), json{{"cluster", "prod"}, {"attributes", eleven}});
  ASSERT_FALSE(del.ok());
  EXPECT_EQ(del.error().code, ErrorCode::kInvalidParameter);
}

TEST_F(AttributeOpsTest, ListAttributesFiltersAndPaginates) {
  put({attr("stack", a_, "prod"), attr("stack", b_, "test"), attr("team", b_, "infra")});

  auto all = list(json{{"targetType", "container-instance"}});
  // 2 built-ins per instance + 3 custom.
  EXPECT_EQ(all["attributes"].size(), 7u);
  EXPECT_FALSE(all.contains("nextToken"));

  auto stacks = list(json{{"targetType", "container-instance"}, {"attributeName", "stack"}});
  ASSERT_EQ(stacks["attributes"].size(), 2u);
  for (const auto& a : stacks["attributes"]) {
    EXPECT_EQ(a["targetType"], "container-instance");
    EXPECT_EQ(a["value"], a["targetId"] == a_ ? "prod" : "test");
  }
  auto prod = list(json{{"targetType", "container-instance"}, {"attributeName", "stack"}, {"attributeValue", "prod"}});
  EXPECT_EQ(prod["attributes"], (json{{{"name", "stack"}, {"value", "prod"}, {"targetType", "container-instance"}, {"targetId", a_}}}));
  auto awslogs = list(json{{"targetType", "container-instance"}, {"attributeName", "com.amazonaws.ecs.capability.logging-driver.awslogs"}});
  ASSERT_EQ(awslogs["attributes"].size(), 2u);
  EXPECT_FALSE(awslogs["attributes"][0].contains("value"));

  // Pages of 3 walk all 7 exactly once.
  json seen = json::array();
  std::string token;
  for (int page = 0; page < 5; ++page) {
    json req = {{"targetType", "container-instance"}, {"maxResults", 3}};
    if (!token.empty()) req["nextToken"] = token;
    auto r = list(req);
    for (const auto& a : r["attributes"]) seen.push_back(a);
    if (!r.contains("nextToken")) break;
    token = r["nextToken"];
  }
  EXPECT_EQ(seen, all["attributes"]);

  auto fails = [&](json request) {
    request["cluster"] = "prod";
    auto r = listAttributes(ctx(), request);
    EXPECT_FALSE(r.ok()) << request.dump();
    return r.ok() ? ErrorCode::kInternal : r.error().code;
  };
  EXPECT_EQ(fails(json::object()), ErrorCode::kInvalidParameter);
  EXPECT_EQ(fails(json{{"targetType", "task"}}), ErrorCode::kInvalidParameter);
  EXPECT_EQ(fails(json{{"targetType", "container-instance"}, {"attributeValue", "prod"}}), ErrorCode::kInvalidParameter);
  EXPECT_EQ(fails(json{{"targetType", "container-instance"}, {"maxResults", 0}}), ErrorCode::kInvalidParameter);
}

TEST_F(AttributeOpsTest, DeregisteredInstancesAreNotListed) {
  put({attr("stack", b_, "test")});
  mustOk(deregisterContainerInstance(ctx(), json{{"cluster", "prod"}, {"containerInstance", b_}}));
  auto r = list(json{{"targetType", "container-instance"}});
  for (const auto& a : r["attributes"]) EXPECT_EQ(a["targetId"], a_);
  EXPECT_EQ(r["attributes"].size(), 2u);
}

}  // namespace
}  // namespace berth::control
