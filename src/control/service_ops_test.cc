#include "control/service_ops.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "control/cluster_ops.h"
#include "control/container_instance_ops.h"
#include "control/keys.h"
#include "control/tagging_ops.h"
#include "control/task_definition_ops.h"
#include "control/task_ops.h"
#include "control/testing/ecs_fixture.h"

namespace berth::control {
namespace {

using nlohmann::json;
using test::mustOk;

constexpr const char* kTdArnPrefix = "arn:aws:ecs:eu-west-3:123456789012:task-definition/";
constexpr const char* kServiceArnPrefix = "arn:aws:ecs:eu-west-3:123456789012:service/prod/";
constexpr double kStart = 1'700'000'000.0;  // FakeClock's epoch

json tag(const std::string& k, const std::string& v) { return json{{"key", k}, {"value", v}}; }

class ServiceOpsTest : public test::EcsFixture {
 protected:
  void SetUp() override {
    mustOk(createCluster(ctx(), json{{"clusterName", "prod"}}), "CreateCluster");
    registerWeb();
  }

  std::string registerInstance(const std::string& az = "eu-west-3a") {
    json req = {{"cluster", "prod"},
                {"totalResources", test::instanceResources(4096, 8192, {"22"})},
                {"attributes", {{{"name", "ecs.availability-zone"}, {"value", az}}}}};
    return mustOk(registerContainerInstance(ctx(), req), "RegisterContainerInstance")["containerInstance"]["containerInstanceArn"];
  }
  json registerTd(json request) { return mustOk(registerTaskDefinition(ctx(), request), "RegisterTaskDefinition")["taskDefinition"]; }
  // web:N — one container "app" listening on 80.
  json registerWeb(const std::string& image = "nginx") {
    return registerTd(json{{"family", "web"},
                           {"tags", {tag("team", "blue")}},
                           {"containerDefinitions", {{{"name", "app"}, {"image", image}, {"memory", 128},
                                                      {"portMappings", {{{"containerPort", 80}}}}}}}});
  }
  json registerFargate() {
    return registerTd(json{{"family", "fg"}, {"networkMode", "awsvpc"}, {"requiresCompatibilities", {"FARGATE"}},
                           {"cpu", "256"}, {"memory", "512"},
                           {"containerDefinitions", {{{"name", "app"}, {"image", "nginx"}}}}});
  }

  json create(json request) {
    if (!request.contains("cluster")) request["cluster"] = "prod";
    return mustOk(createService(ctx(), request), "CreateService")["service"];
  }
  json createWeb(const std::string& name = "web", int desired = 2, json extra = json::object()) {
    json r = {{"serviceName", name}, {"taskDefinition", "web"}, {"desiredCount", desired}};
    r.update(extra);
    return create(r);
  }
  json update(json request) {
    request["cluster"] = "prod";
    return mustOk(updateService(ctx(), request), "UpdateService")["service"];
  }
  json describe(const std::string& name, bool tags = false) {
    json req = {{"cluster", "prod"}, {"services", {name}}};
    if (tags) req["include"] = {"TAGS"};
    json r = mustOk(describeServices(ctx(), req), "DescribeServices");
    EXPECT_EQ(r["services"].size(), 1u) << r.dump();
    return r["services"].empty() ? json() : r["services"][0];
  }
  json stored(const std::string& name) {
    auto obj = cache().get(keys::service("prod", name));
    EXPECT_TRUE(obj.has_value()) << name;
    return obj ? obj->doc : json();
  }
  // Expects `r` to fail with `code` and exactly `message`.
  void expectError(const Result<json>& r, ErrorCode code, const std::string& message) {
    ASSERT_FALSE(r.ok()) << r.value().dump();
    EXPECT_EQ(errorCodeName(r.error().code), errorCodeName(code)) << r.error().message;
    EXPECT_EQ(r.error().message, message);
  }
  void expectCreateError(json request, ErrorCode code, const std::string& message) {
    request["cluster"] = "prod";
    if (!request.contains("serviceName")) request["serviceName"] = "bad";
    if (!request.contains("taskDefinition")) request["taskDefinition"] = "web";
    if (!request.contains("desiredCount") && request.value("schedulingStrategy", "") != "DAEMON") request["desiredCount"] = 1;
    SCOPED_TRACE(request.dump());
    expectError(createService(ctx(), request), code, message);
  }
};

TEST_F(ServiceOpsTest, CreateServiceReturnsTheServiceWithOnePrimaryDeployment) {
  clock().advance(std::chrono::seconds(7));
  json s = createWeb("web", 3, {{"tags", {tag("env", "prod")}}});
  EXPECT_EQ(s["serviceArn"], std::string(kServiceArnPrefix) + "web");
  EXPECT_EQ(s["serviceName"], "web");
  EXPECT_EQ(s["clusterArn"], "arn:aws:ecs:eu-west-3:123456789012:cluster/prod");
  EXPECT_EQ(s["status"], "ACTIVE");
  EXPECT_EQ(s["desiredCount"], 3);
  EXPECT_EQ(s["runningCount"], 0);
  EXPECT_EQ(s["pendingCount"], 0);
  EXPECT_EQ(s["launchType"], "EC2");
  EXPECT_FALSE(s.contains("capacityProviderStrategy"));
  EXPECT_FALSE(s.contains("platformVersion"));
  EXPECT_EQ(s["taskDefinition"], std::string(kTdArnPrefix) + "web:1");
  EXPECT_EQ(s["deploymentConfiguration"],
            (json{{"deploymentCircuitBreaker", {{"enable", false}, {"rollback", false}}},
                  {"maximumPercent", 200},
                  {"minimumHealthyPercent", 100}}));
  EXPECT_EQ(s["schedulingStrategy"], "REPLICA");
  EXPECT_EQ(s["deploymentController"], (json{{"type", "ECS"}}));
  EXPECT_EQ(s["events"], json::array());
  EXPECT_EQ(s["loadBalancers"], json::array());
  EXPECT_EQ(s["placementConstraints"], json::array());
  EXPECT_EQ(s["placementStrategy"], json::array());
  EXPECT_EQ(s["createdAt"], kStart + 7);
  EXPECT_EQ(s["createdBy"], "arn:aws:iam::123456789012:root");
  EXPECT_EQ(s["propagateTags"], "NONE");
  EXPECT_EQ(s["enableECSManagedTags"], false);
  EXPECT_EQ(s["enableExecuteCommand"], false);
  EXPECT_EQ(s["tags"], (json{tag("env", "prod")}));
  EXPECT_FALSE(s.contains("roleArn"));
  EXPECT_FALSE(s.contains("berth"));
  ASSERT_EQ(s["deployments"].size(), 1u);
  json d = s["deployments"][0];
  const std::string id = d["id"];
  EXPECT_TRUE(std::regex_match(id, std::regex("ecs-svc/[1-9][0-9]{18}"))) << id;
  EXPECT_EQ(d["status"], "PRIMARY");
  EXPECT_EQ(d["taskDefinition"], s["taskDefinition"]);
  EXPECT_EQ(d["desiredCount"], 3);
  EXPECT_EQ(d["pendingCount"], 0);
  EXPECT_EQ(d["runningCount"], 0);
  EXPECT_EQ(d["failedTasks"], 0);
  EXPECT_EQ(d["createdAt"], kStart + 7);
  EXPECT_EQ(d["updatedAt"], kStart + 7);
  EXPECT_EQ(d["launchType"], "EC2");
  EXPECT_EQ(d["rolloutState"], "IN_PROGRESS");
  EXPECT_EQ(d["rolloutStateReason"], "ECS deployment " + id + " in progress.");
  EXPECT_FALSE(d.contains("berth"));
  // Describe shows the same, tags only when asked for.
  EXPECT_EQ(describe("web", true), s);
  json plain = describe("web");
  EXPECT_FALSE(plain.contains("tags"));
  EXPECT_EQ(plain["deployments"], s["deployments"]);
}

TEST_F(ServiceOpsTest, StoredDocumentCarriesTheControllerFields) {
  clock().advance(std::chrono::seconds(3));
  createWeb("web", 2, {{"clientToken", "tok-1"}});
  json doc = stored("web");
  json b = doc["berth"];
  EXPECT_EQ(b["cluster"], "prod");
  EXPECT_EQ(b["name"], "web");
  EXPECT_EQ(b["updatedAt"], kStart + 3);
  EXPECT_EQ(b["lastSteadyStateEventAt"], 0);
  EXPECT_EQ(b["launchesThrottledUntil"], 0);
  EXPECT_EQ(b["clientToken"], "tok-1");
  EXPECT_EQ(b["revision"], 0);
  EXPECT_FALSE(b.contains("lastCompletedDeployment"));
  json d = doc["deployments"][0];
  json launch = d["berth"]["launchRequest"];
  EXPECT_EQ(launch, (json{{"cluster", "prod"},
                          {"taskDefinition", std::string(kTdArnPrefix) + "web:1"},
                          {"launchType", "EC2"},
                          {"placementConstraints", json::array()},
                          {"placementStrategy", {{{"type", "spread"}, {"field", "attribute:ecs.availability-zone"}},
                                                 {{"type", "spread"}, {"field", "instanceId"}}}},
                          {"group", "service:web"},
                          {"startedBy", d["id"]},
                          {"tags", json::array()},
                          {"enableECSManagedTags", false},
                          {"enableExecuteCommand", false}}));
}

TEST_F(ServiceOpsTest, LaunchRequestIsAValidRunTaskRequest) {
  std::string a = registerInstance("eu-west-3a");
  std::string b = registerInstance("eu-west-3b");
  createWeb("web", 2, {{"propagateTags", "SERVICE"}, {"tags", {tag("env", "prod")}}, {"enableExecuteCommand", true}});
  json d = stored("web")["deployments"][0];
  json r = mustOk(runTask(ctx(), d["berth"]["launchRequest"]), "RunTask from launchRequest");
  ASSERT_EQ(r["tasks"].size(), 1u) << r.dump();
  json t = r["tasks"][0];
  EXPECT_EQ(t["group"], "service:web");
  EXPECT_EQ(t["startedBy"], d["id"]);
  EXPECT_EQ(t["taskDefinitionArn"], std::string(kTdArnPrefix) + "web:1");
  EXPECT_EQ(t["tags"], (json{tag("env", "prod")}));
  EXPECT_EQ(t["enableExecuteCommand"], true);
  // The second task spreads to the other availability zone.
  json r2 = mustOk(runTask(ctx(), d["berth"]["launchRequest"]), "RunTask again");
  ASSERT_EQ(r2["tasks"].size(), 1u);
  EXPECT_EQ((std::set<std::string>{t["containerInstanceArn"], r2["tasks"][0]["containerInstanceArn"]}),
            (std::set<std::string>{a, b}));
}

TEST_F(ServiceOpsTest, FargateServiceNeedsANetworkAndShowsItsPlatform) {
  registerFargate();
  json vpc = {{"awsvpcConfiguration", {{"subnets", {"subnet-1"}}, {"assignPublicIp", "ENABLED"}}}};
  expectCreateError(json{{"taskDefinition", "fg"}, {"launchType", "FARGATE"}}, ErrorCode::kInvalidParameter,
                    "Network Configuration must be provided when networkMode 'awsvpc' is specified.");
  expectCreateError(json{{"taskDefinition", "fg"}, {"launchType", "EC2"}, {"networkConfiguration", vpc}},
                    ErrorCode::kInvalidParameter, "Assign public IP is not supported for this launch type.");
  expectCreateError(json{{"taskDefinition", "fg"}, {"launchType", "FARGATE"}, {"networkConfiguration", vpc},
                         {"schedulingStrategy", "DAEMON"}},
                    ErrorCode::kInvalidParameter, "The DAEMON scheduling strategy is not supported on Fargate.");
  json s = create(json{{"serviceName", "api"}, {"taskDefinition", "fg"}, {"desiredCount", 1},
                       {"launchType", "FARGATE"}, {"networkConfiguration", vpc}});
  EXPECT_EQ(s["launchType"], "FARGATE");
  EXPECT_EQ(s["platformVersion"], "LATEST");
  EXPECT_EQ(s["platformFamily"], "Linux");
  json network = {{"awsvpcConfiguration", {{"subnets", {"subnet-1"}}, {"securityGroups", json::array()}, {"assignPublicIp", "ENABLED"}}}};
  EXPECT_EQ(s["networkConfiguration"], network);
  json d = s["deployments"][0];
  EXPECT_EQ(d["platformVersion"], "1.4.0");
  EXPECT_EQ(d["networkConfiguration"], network);
  json launch = stored("api")["deployments"][0]["berth"]["launchRequest"];
  EXPECT_EQ(launch["networkConfiguration"], network);
  EXPECT_EQ(launch["launchType"], "FARGATE");
  // A new network is a new deployment; dropping it is refused for awsvpc.
  json moved = {{"awsvpcConfiguration", {{"subnets", {"subnet-2"}}, {"securityGroups", {"sg-1"}}, {"assignPublicIp", "DISABLED"}}}};
  json u = update(json{{"service", "api"}, {"networkConfiguration", moved}});
  ASSERT_EQ(u["deployments"].size(), 2u);
  EXPECT_EQ(u["networkConfiguration"], moved);
  EXPECT_EQ(u["deployments"][0]["networkConfiguration"], moved);
  EXPECT_EQ(u["deployments"][1]["networkConfiguration"], network);
  EXPECT_EQ(stored("api")["deployments"][0]["berth"]["launchRequest"]["networkConfiguration"], moved);
  expectError(updateService(ctx(), json{{"cluster", "prod"}, {"service", "api"}, {"platformVersion", "9.9.9"}}),
              ErrorCode::kInvalidParameter, "The specified platform version 9.9.9 does not exist. Valid values: LATEST, 1.4.0, 1.3.0.");
  expectCreateError(json{{"launchType", "EC2"}, {"platformVersion", "LATEST"}}, ErrorCode::kInvalidParameter,
                    "The platform version must be null when specifying an EC2 or EXTERNAL launch type.");
}

TEST_F(ServiceOpsTest, CapacityProviderServiceShowsItsStrategyInsteadOfALaunchType) {
  registerFargate();
  mustOk(createCluster(ctx(), json{{"clusterName", "spot"}, {"capacityProviders", {"FARGATE", "FARGATE_SPOT"}}}));
  json strategy = {{{"capacityProvider", "FARGATE_SPOT"}, {"weight", 1}, {"base", 0}}};
  json s = create(json{{"cluster", "spot"}, {"serviceName", "cp"}, {"taskDefinition", "fg"}, {"desiredCount", 1},
                       {"capacityProviderStrategy", strategy},
                       {"networkConfiguration", {{"awsvpcConfiguration", {{"subnets", {"subnet-1"}}}}}}});
  EXPECT_FALSE(s.contains("launchType"));
  EXPECT_EQ(s["capacityProviderStrategy"], strategy);
  EXPECT_EQ(s["platformVersion"], "LATEST");
  EXPECT_FALSE(s["deployments"][0].contains("launchType"));
  EXPECT_EQ(s["deployments"][0]["capacityProviderStrategy"], strategy);
  json launch = cache().get(keys::service("spot", "cp"))->doc["deployments"][0]["berth"]["launchRequest"];
  EXPECT_FALSE(launch.contains("launchType"));
  EXPECT_EQ(launch["capacityProviderStrategy"], strategy);
  json zero = {{{"capacityProvider", "FARGATE"}, {"weight", 0}}};
  json r = {{"cluster", "spot"}, {"serviceName", "z"}, {"taskDefinition", "fg"}, {"desiredCount", 1},
            {"capacityProviderStrategy", zero}, {"networkConfiguration", {{"awsvpcConfiguration", {{"subnets", {"subnet-1"}}}}}}};
  expectError(createService(ctx(), r), ErrorCode::kInvalidParameter,
              "The capacity provider strategy must give at least one capacity provider a weight or base greater than 0.");
}

TEST_F(ServiceOpsTest, CreateServiceValidatesLikeEcs) {
  const auto kInvalid = ErrorCode::kInvalidParameter;
  expectCreateError(json{{"serviceName", "has space"}}, kInvalid,
                    "Service names must be 1-255 characters long and contain only letters (uppercase and lowercase), numbers, hyphens and underscores.");
  expectCreateError(json{{"serviceName", std::string(256, 'a')}}, kInvalid,
                    "Service names must be 1-255 characters long and contain only letters (uppercase and lowercase), numbers, hyphens and underscores.");
  expectCreateError(json{{"taskDefinition", ""}}, kInvalid, "taskDefinition must be specified.");
  expectCreateError(json{{"taskDefinition", "nope"}}, ErrorCode::kClient, "Unable to find task definition 'nope'.");
  expectCreateError(json{{"taskDefinition", "web:x:y"}}, ErrorCode::kClient,
                    "Invalid task definition 'web:x:y'. Specify family, family:revision or a task definition ARN.");
  json r = {{"cluster", "prod"}, {"serviceName", "nodesired"}, {"taskDefinition", "web"}};
  expectError(createService(ctx(), r), kInvalid, "desiredCount must be specified for services using the REPLICA scheduling strategy.");
  expectCreateError(json{{"desiredCount", -1}}, kInvalid, "desiredCount must be greater than or equal to 0.");
  expectCreateError(json{{"schedulingStrategy", "SOMETIMES"}}, kInvalid, "Invalid schedulingStrategy 'SOMETIMES'. Valid values: REPLICA, DAEMON.");
  expectCreateError(json{{"deploymentController", {{"type", "CODE_DEPLOY"}}}}, kInvalid,
                    "Berth supports only the ECS (rolling update) deployment controller; CODE_DEPLOY is not supported.");
  expectCreateError(json{{"deploymentController", {{"type", "EXTERNAL"}}}}, kInvalid,
                    "Berth supports only the ECS (rolling update) deployment controller; EXTERNAL is not supported.");
  expectCreateError(json{{"launchType", "EC2"}, {"capacityProviderStrategy", {{{"capacityProvider", "FARGATE"}, {"weight", 1}}}}},
                    kInvalid, "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.");
  expectCreateError(json{{"capacityProviderStrategy", {{{"capacityProvider", "FARGATE"}, {"weight", 1}}}}}, kInvalid,
                    "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.");
  expectCreateError(json{{"launchType", "MOON"}}, kInvalid, "Invalid launch type 'MOON'. Valid values: EC2, FARGATE, EXTERNAL.");
  expectCreateError(json{{"deploymentConfiguration", {{"minimumHealthyPercent", 101}}}}, kInvalid,
                    "minimumHealthyPercent must be between 0 and 100.");
  expectCreateError(json{{"deploymentConfiguration", {{"minimumHealthyPercent", -1}}}}, kInvalid,
                    "minimumHealthyPercent must be between 0 and 100.");
  expectCreateError(json{{"deploymentConfiguration", {{"maximumPercent", 99}}}}, kInvalid,
                    "maximumPercent must be greater than or equal to 100.");
  expectCreateError(json{{"deploymentConfiguration", {{"deploymentCircuitBreaker", {{"enable", true}}}}}}, kInvalid,
                    "deploymentCircuitBreaker requires both enable and rollback.");
  expectCreateError(json{{"placementConstraints", {{{"type", "memberOf"}}}}}, kInvalid,
                    "Placement constraint type memberOf requires an expression.");
  json eleven = json::array();
  for (int i = 0; i < 11; ++i) eleven.push_back({{"type", "memberOf"}, {"expression", "attribute:ecs.os-type == linux"}});
  expectCreateError(json{{"placementConstraints", eleven}}, kInvalid,
                    "You can specify up to 10 placement constraints per task (task definition and request combined).");
  json six = json::array();
  for (int i = 0; i < 6; ++i) six.push_back({{"type", "random"}});
  expectCreateError(json{{"placementStrategy", six}}, kInvalid, "You can specify up to 5 placement strategies.");
  expectCreateError(json{{"placementStrategy", {{{"type", "binpack"}, {"field", "disk"}}}}}, kInvalid,
                    "The binpack placement strategy field must be cpu or memory.");
  expectCreateError(json{{"networkConfiguration", {{"awsvpcConfiguration", {{"subnets", {"s-1"}}}}}}}, kInvalid,
                    "Network Configuration is not valid for the given networkMode of this task definition.");
  json lb = {{"targetGroupArn", "arn:aws:elasticloadbalancing:eu-west-3:123456789012:targetgroup/tg/1"},
             {"containerName", "app"}, {"containerPort", 80}};
  json lbs = json::array();
  for (int i = 0; i < 6; ++i) lbs.push_back(lb);
  expectCreateError(json{{"loadBalancers", lbs}}, kInvalid, "You can specify up to 5 load balancers (target groups) per service.");
  expectCreateError(json{{"loadBalancers", {json{{"targetGroupArn", "tg"}, {"containerName", "app"}}}}}, kInvalid,
                    "Each load balancer must name a containerName and a containerPort.");
  expectCreateError(json{{"loadBalancers", {json{{"containerName", "app"}, {"containerPort", 80}}}}}, kInvalid,
                    "Each load balancer must name a targetGroupArn (or a Classic loadBalancerName).");
  json wrongName = lb, wrongPort = lb;
  wrongName["containerName"] = "db";
  wrongPort["containerPort"] = 8080;
  expectCreateError(json{{"loadBalancers", json::array({wrongName})}}, kInvalid, "The container db does not exist in the task definition.");
  expectCreateError(json{{"loadBalancers", json::array({wrongPort})}}, kInvalid, "The container app did not have a container port 8080 defined.");
  expectCreateError(json{{"role", "ecsServiceRole"}}, kInvalid,
                    "The role parameter is only valid for services configured to use load balancers.");
  expectCreateError(json{{"healthCheckGracePeriodSeconds", -1}}, kInvalid, "healthCheckGracePeriodSeconds must be between 0 and 2147483647.");
  expectCreateError(json{{"propagateTags", "ALL"}}, kInvalid, "Invalid propagateTags 'ALL'. Valid values: TASK_DEFINITION, SERVICE, NONE.");
  expectCreateError(json{{"tags", {tag("aws:x", "1")}}}, kInvalid, "Tag keys that start with 'aws:' are reserved for AWS use.");
  expectCreateError(json{{"clientToken", std::string(33, 't')}}, kInvalid, "clientToken can be up to 32 characters long.");
  expectCreateError(json{{"serviceRegistries", {{{"registryArn", "arn:x"}}}}}, kInvalid,
                    "Berth does not support service discovery (serviceRegistries) yet.");
  json missingCluster = {{"cluster", "nope"}, {"serviceName", "x"}, {"taskDefinition", "web"}, {"desiredCount", 1}};
  expectError(createService(ctx(), missingCluster), ErrorCode::kClusterNotFound, "Cluster not found.");
  // Deregistered revisions cannot start a service.
  mustOk(deregisterTaskDefinition(ctx(), json{{"taskDefinition", "web:1"}}));
  expectCreateError(json{{"taskDefinition", "web:1"}}, ErrorCode::kClient, "TaskDefinition is inactive");
  // Nothing was written by any of the failures.
  EXPECT_EQ(mustOk(listServices(ctx(), json{{"cluster", "prod"}}))["serviceArns"], json::array());
}

TEST_F(ServiceOpsTest, LoadBalancersAreStoredWithAGracePeriod) {
  json lb = {{"targetGroupArn", "arn:aws:elasticloadbalancing:eu-west-3:123456789012:targetgroup/tg/1"},
             {"containerName", "app"}, {"containerPort", 80}};
  json s = createWeb("lb", 1, {{"loadBalancers", json::array({lb})}, {"role", "ecsServiceRole"}});
  EXPECT_EQ(s["loadBalancers"], json::array({lb}));
  EXPECT_EQ(s["healthCheckGracePeriodSeconds"], 0);
  EXPECT_EQ(s["roleArn"], "arn:aws:iam::123456789012:role/ecsServiceRole");
  json g = createWeb("grace", 1, {{"healthCheckGracePeriodSeconds", 30}});
  EXPECT_EQ(g["healthCheckGracePeriodSeconds"], 30);
}

TEST_F(ServiceOpsTest, DaemonServicesHaveTheirOwnRules) {
  expectCreateError(json{{"schedulingStrategy", "DAEMON"}, {"desiredCount", 1}}, ErrorCode::kInvalidParameter,
                    "The daemon scheduling strategy does not support a desired count for services.");
  expectCreateError(json{{"schedulingStrategy", "DAEMON"}, {"placementStrategy", {{{"type", "random"}}}}},
                    ErrorCode::kInvalidParameter, "Placement strategies are not supported with the DAEMON scheduling strategy.");
  expectCreateError(json{{"schedulingStrategy", "DAEMON"}, {"deploymentConfiguration", {{"maximumPercent", 200}}}},
                    ErrorCode::kInvalidParameter, "maximumPercent must be 100 for services with the DAEMON scheduling strategy.");
  json s = create(json{{"serviceName", "agent"}, {"taskDefinition", "web"}, {"schedulingStrategy", "DAEMON"},
                       {"placementConstraints", {{{"type", "memberOf"}, {"expression", "attribute:ecs.availability-zone == eu-west-3a"}}}}});
  EXPECT_EQ(s["schedulingStrategy"], "DAEMON");
  EXPECT_EQ(s["desiredCount"], 0);
  EXPECT_EQ(s["deploymentConfiguration"]["maximumPercent"], 100);
  EXPECT_EQ(s["deploymentConfiguration"]["minimumHealthyPercent"], 0);
  json launch = stored("agent")["deployments"][0]["berth"]["launchRequest"];
  EXPECT_EQ(launch["placementStrategy"], json::array());
  EXPECT_EQ(launch["placementConstraints"], s["placementConstraints"]);
  // No desiredCount on update either; other updates work, and deleting needs no force.
  expectError(updateService(ctx(), json{{"cluster", "prod"}, {"service", "agent"}, {"desiredCount", 2}}),
              ErrorCode::kInvalidParameter, "The daemon scheduling strategy does not support a desired count for services.");
  json u = update(json{{"service", "agent"}, {"forceNewDeployment", true}});
  EXPECT_EQ(u["deployments"].size(), 2u);
  json d = mustOk(deleteService(ctx(), json{{"cluster", "prod"}, {"service", "agent"}}))["service"];
  EXPECT_EQ(d["status"], "INACTIVE");
}

TEST_F(ServiceOpsTest, ClientTokenMakesCreateIdempotent) {
  json first = createWeb("web", 2, {{"clientToken", "abc"}});
  clock().advance(std::chrono::seconds(1));
  json again = createWeb("web", 2, {{"clientToken", "abc"}});
  EXPECT_EQ(again, first);
  json r = {{"cluster", "prod"}, {"serviceName", "web"}, {"taskDefinition", "web"}, {"desiredCount", 2}};
  expectError(createService(ctx(), r), ErrorCode::kInvalidParameter, "Creation of service was not idempotent.");
  r["clientToken"] = "other";
  expectError(createService(ctx(), r), ErrorCode::kInvalidParameter, "Creation of service was not idempotent.");
  // The same name in another cluster is another service.
  mustOk(createCluster(ctx(), json{{"clusterName", "stage"}}));
  r["cluster"] = "stage";
  EXPECT_EQ(mustOk(createService(ctx(), r))["service"]["serviceArn"], "arn:aws:ecs:eu-west-3:123456789012:service/stage/web");
}

TEST_F(ServiceOpsTest, UpdateDesiredCountResizesThePrimary) {
  json s = createWeb("web", 2);
  const std::string id = s["deployments"][0]["id"];
  clock().advance(std::chrono::seconds(10));
  json u = update(json{{"service", "web"}, {"desiredCount", 5}});
  EXPECT_EQ(u["desiredCount"], 5);
  ASSERT_EQ(u["deployments"].size(), 1u);
  EXPECT_EQ(u["deployments"][0]["id"], id);
  EXPECT_EQ(u["deployments"][0]["desiredCount"], 5);
  EXPECT_EQ(u["deployments"][0]["updatedAt"], kStart + 10);
  EXPECT_FALSE(u.contains("tags"));
  json b = stored("web")["berth"];
  EXPECT_EQ(b["revision"], 1);
  EXPECT_EQ(b["updatedAt"], kStart + 10);
  // deploymentConfiguration merges: maximumPercent stays 200.
  u = update(json{{"service", "web"}, {"deploymentConfiguration", {{"minimumHealthyPercent", 50}}}});
  EXPECT_EQ(u["deploymentConfiguration"]["maximumPercent"], 200);
  EXPECT_EQ(u["deploymentConfiguration"]["minimumHealthyPercent"], 50);
  EXPECT_EQ(u["deployments"].size(), 1u);
  EXPECT_EQ(stored("web")["berth"]["revision"], 2);
  expectError(updateService(ctx(), json{{"cluster", "prod"}, {"service", "web"}, {"desiredCount", -3}}),
              ErrorCode::kInvalidParameter, "desiredCount must be greater than or equal to 0.");
  expectError(updateService(ctx(), json{{"cluster", "prod"}, {"service", "web"},
                                        {"deploymentConfiguration", {{"maximumPercent", 50}}}}),
              ErrorCode::kInvalidParameter, "maximumPercent must be greater than or equal to 100.");
}

TEST_F(ServiceOpsTest, UpdateTaskDefinitionStartsANewPrimaryDeployment) {
  json s = createWeb("web", 2);
  const std::string oldId = s["deployments"][0]["id"];
  registerWeb("nginx:2");
  clock().advance(std::chrono::seconds(20));
  json u = update(json{{"service", "web"}, {"taskDefinition", "web:2"}});
  EXPECT_EQ(u["taskDefinition"], std::string(kTdArnPrefix) + "web:2");
  ASSERT_EQ(u["deployments"].size(), 2u);
  json primary = u["deployments"][0], old = u["deployments"][1];
  EXPECT_NE(primary["id"], oldId);
  EXPECT_EQ(primary["status"], "PRIMARY");
  EXPECT_EQ(primary["taskDefinition"], std::string(kTdArnPrefix) + "web:2");
  EXPECT_EQ(primary["desiredCount"], 2);
  EXPECT_EQ(primary["rolloutState"], "IN_PROGRESS");
  EXPECT_EQ(primary["createdAt"], kStart + 20);
  EXPECT_EQ(old["id"], oldId);
  EXPECT_EQ(old["status"], "ACTIVE");
  EXPECT_EQ(old["taskDefinition"], std::string(kTdArnPrefix) + "web:1");
  EXPECT_EQ(old["updatedAt"], kStart + 20);
  json launch = stored("web")["deployments"][0]["berth"]["launchRequest"];
  EXPECT_EQ(launch["taskDefinition"], std::string(kTdArnPrefix) + "web:2");
  EXPECT_EQ(launch["startedBy"], primary["id"]);
  // forceNewDeployment and placement changes also make one; the newest is first.
  u = update(json{{"service", "web"}, {"forceNewDeployment", true}});
  EXPECT_EQ(u["deployments"].size(), 3u);
  EXPECT_EQ(u["deployments"][1]["id"], primary["id"]);
  EXPECT_EQ(u["deployments"][1]["status"], "ACTIVE");
  u = update(json{{"service", "web"}, {"placementStrategy", {{{"type", "binpack"}, {"field", "memory"}}}}});
  EXPECT_EQ(u["deployments"].size(), 4u);
  EXPECT_EQ(stored("web")["deployments"][0]["berth"]["launchRequest"]["placementStrategy"],
            (json{{{"type", "binpack"}, {"field", "memory"}}}));
  // The same placement again is no change.
  u = update(json{{"service", "web"}, {"placementStrategy", {{{"type", "binpack"}, {"field", "memory"}}}}});
  EXPECT_EQ(u["deployments"].size(), 4u);
  expectError(updateService(ctx(), json{{"cluster", "prod"}, {"service", "web"}, {"taskDefinition", "nope"}}),
              ErrorCode::kClient, "Unable to find task definition 'nope'.");
}

TEST_F(ServiceOpsTest, TagSettingsReachTheLaunchRequest) {
  createWeb("web", 1, {{"tags", {tag("env", "prod")}}, {"propagateTags", "TASK_DEFINITION"}, {"enableECSManagedTags", true}});
  json launch = stored("web")["deployments"][0]["berth"]["launchRequest"];
  EXPECT_EQ(launch["tags"], (json{tag("team", "blue")}));
  EXPECT_EQ(launch["enableECSManagedTags"], true);
  // Tasks started from now on: same deployment, new tags.
  json u = update(json{{"service", "web"}, {"propagateTags", "SERVICE"}, {"enableExecuteCommand", true}});
  EXPECT_EQ(u["deployments"].size(), 1u);
  EXPECT_EQ(u["propagateTags"], "SERVICE");
  launch = stored("web")["deployments"][0]["berth"]["launchRequest"];
  EXPECT_EQ(launch["tags"], (json{tag("env", "prod")}));
  EXPECT_EQ(launch["enableExecuteCommand"], true);
  // Service ARNs are taggable.
  const std::string arn = std::string(kServiceArnPrefix) + "web";
  mustOk(tagResource(ctx(), json{{"resourceArn", arn}, {"tags", {tag("owner", "me")}}}));
  EXPECT_EQ(mustOk(listTagsForResource(ctx(), json{{"resourceArn", arn}}))["tags"], (json{tag("env", "prod"), tag("owner", "me")}));
}

TEST_F(ServiceOpsTest, UpdateAndDeleteNeedAnActiveService) {
  expectError(updateService(ctx(), json{{"cluster", "prod"}, {"service", "ghost"}, {"desiredCount", 1}}),
              ErrorCode::kServiceNotFound, "Service not found.");
  expectError(deleteService(ctx(), json{{"cluster", "prod"}, {"service", "ghost"}}), ErrorCode::kServiceNotFound,
              "Service not found.");
  expectError(updateService(ctx(), json{{"cluster", "nope"}, {"service", "ghost"}}), ErrorCode::kClusterNotFound,
              "Cluster not found.");
  createWeb("web", 0);
  json d = mustOk(deleteService(ctx(), json{{"cluster", "prod"}, {"service", "web"}}))["service"];
  EXPECT_EQ(d["status"], "INACTIVE");
  expectError(updateService(ctx(), json{{"cluster", "prod"}, {"service", "web"}, {"desiredCount", 1}}),
              ErrorCode::kServiceNotActive, "Service was not ACTIVE.");
  expectError(deleteService(ctx(), json{{"cluster", "prod"}, {"service", "web"}}), ErrorCode::kServiceNotActive,
              "Service was not ACTIVE.");
}

TEST_F(ServiceOpsTest, DeleteScaledServiceNeedsForceAndDrainsItsTasks) {
  registerInstance();
  createWeb("web", 2);
  expectError(deleteService(ctx(), json{{"cluster", "prod"}, {"service", "web"}}), ErrorCode::kInvalidParameter,
              "The service cannot be stopped while it is scaled above 0.");
  // One task of the service is running: the service drains.
  json launch = stored("web")["deployments"][0]["berth"]["launchRequest"];
  json task = mustOk(runTask(ctx(), launch))["tasks"][0];
  clock().advance(std::chrono::seconds(5));
  json d = mustOk(deleteService(ctx(), json{{"cluster", "prod"}, {"service", std::string(kServiceArnPrefix) + "web"},
                                            {"force", true}}))["service"];
  EXPECT_EQ(d["status"], "DRAINING");
  EXPECT_EQ(d["desiredCount"], 0);
  EXPECT_EQ(d["deployments"][0]["desiredCount"], 0);
  EXPECT_EQ(stored("web")["berth"]["revision"], 1);
  EXPECT_EQ(stored("web")["berth"]["updatedAt"], kStart + 5);
  // Hidden from ListServices, still described; deleting again changes nothing.
  EXPECT_EQ(mustOk(listServices(ctx(), json{{"cluster", "prod"}}))["serviceArns"], json::array());
  EXPECT_EQ(describe("web")["status"], "DRAINING");
  EXPECT_EQ(mustOk(deleteService(ctx(), json{{"cluster", "prod"}, {"service", "web"}}))["service"]["status"], "DRAINING");
  // A DRAINING name cannot be created again.
  json r = {{"cluster", "prod"}, {"serviceName", "web"}, {"taskDefinition", "web"}, {"desiredCount", 1}};
  expectError(createService(ctx(), r), ErrorCode::kInvalidParameter, "Unable to Start a service that is still Draining.");
  // Once its task is STOPPED a delete of a new service of that name goes straight to INACTIVE.
  const std::string taskArnText = task["taskArn"];
  const std::string taskKey = keys::task("prod", taskArnText.substr(taskArnText.rfind('/') + 1));
  json taskDoc = cache().get(taskKey)->doc;
  ASSERT_TRUE(forceStopTaskDoc(taskDoc, kStart + 6, "test"));
  env_->putDoc(taskKey, taskDoc);
  json doc = stored("web");
  doc["status"] = "INACTIVE";  // what the controller does once drained
  env_->putDoc(keys::service("prod", "web"), doc);
  json again = mustOk(createService(ctx(), r))["service"];
  EXPECT_EQ(again["status"], "ACTIVE");
  EXPECT_EQ(again["deployments"].size(), 1u);
  EXPECT_NE(again["deployments"][0]["id"], d["deployments"][0]["id"]);
  EXPECT_EQ(mustOk(deleteService(ctx(), json{{"cluster", "prod"}, {"service", "web"}, {"force", true}}))["service"]["status"],
            "INACTIVE");
}

TEST_F(ServiceOpsTest, DescribeServicesByNameAndArn) {
  createWeb("web", 1, {{"tags", {tag("a", "1")}}});
  createWeb("api", 1);
  json r = mustOk(describeServices(
      ctx(), json{{"cluster", "prod"},
                  {"services", {"web", std::string(kServiceArnPrefix) + "api",
                                "arn:aws:ecs:eu-west-3:123456789012:service/web", "ghost",
                                "arn:aws:ecs:eu-west-3:123456789012:service/other/web"}}}));
  ASSERT_EQ(r["services"].size(), 3u);
  EXPECT_EQ(r["services"][0]["serviceName"], "web");
  EXPECT_EQ(r["services"][1]["serviceName"], "api");
  EXPECT_EQ(r["services"][2]["serviceName"], "web");
  EXPECT_FALSE(r["services"][0].contains("tags"));
  EXPECT_EQ(r["failures"], (json{{{"arn", std::string(kServiceArnPrefix) + "ghost"}, {"reason", "MISSING"}},
                                 {{"arn", "arn:aws:ecs:eu-west-3:123456789012:service/other/web"}, {"reason", "MISSING"}}}));
  json eleven = json::array();
  for (int i = 0; i < 11; ++i) eleven.push_back("web");
  expectError(describeServices(ctx(), json{{"cluster", "prod"}, {"services", eleven}}), ErrorCode::kInvalidParameter,
              "Too many services specified. You can describe up to 10 services in a single call.");
  expectError(describeServices(ctx(), json{{"cluster", "prod"}, {"services", {"web"}}, {"include", {"EVERYTHING"}}}),
              ErrorCode::kInvalidParameter, "Invalid include value. Valid values: TAGS.");
  expectError(describeServices(ctx(), json{{"cluster", "nope"}, {"services", {"web"}}}), ErrorCode::kClusterNotFound,
              "Cluster not found.");
}

TEST_F(ServiceOpsTest, ListServicesFiltersAndPages) {
  registerFargate();
  json vpc = {{"awsvpcConfiguration", {{"subnets", {"subnet-1"}}}}};
  for (const char* n : {"s1", "s2", "s3", "s4"}) createWeb(n, 1);
  create(json{{"serviceName", "f1"}, {"taskDefinition", "fg"}, {"desiredCount", 1}, {"launchType", "FARGATE"},
              {"networkConfiguration", vpc}});
  create(json{{"serviceName", "d1"}, {"taskDefinition", "web"}, {"schedulingStrategy", "DAEMON"}});
  auto list = [&](json req) { req["cluster"] = "prod"; return mustOk(listServices(ctx(), req)); };
  const std::string p = kServiceArnPrefix;
  EXPECT_EQ(list(json::object())["serviceArns"], (json{p + "d1", p + "f1", p + "s1", p + "s2", p + "s3", p + "s4"}));
  EXPECT_EQ(list(json{{"launchType", "FARGATE"}})["serviceArns"], (json{p + "f1"}));
  EXPECT_EQ(list(json{{"schedulingStrategy", "DAEMON"}})["serviceArns"], (json{p + "d1"}));
  EXPECT_EQ(list(json{{"launchType", "EC2"}, {"schedulingStrategy", "REPLICA"}})["serviceArns"],
            (json{p + "s1", p + "s2", p + "s3", p + "s4"}));
  json page1 = list(json{{"maxResults", 4}});
  EXPECT_EQ(page1["serviceArns"], (json{p + "d1", p + "f1", p + "s1", p + "s2"}));
  ASSERT_TRUE(page1.contains("nextToken"));
  json page2 = list(json{{"maxResults", 4}, {"nextToken", page1["nextToken"]}});
  EXPECT_EQ(page2["serviceArns"], (json{p + "s3", p + "s4"}));
  EXPECT_FALSE(page2.contains("nextToken"));
  expectError(listServices(ctx(), json{{"cluster", "prod"}, {"maxResults", 101}}), ErrorCode::kInvalidParameter,
              "maxResults must be between 1 and 100.");
  expectError(listServices(ctx(), json{{"cluster", "prod"}, {"launchType", "MOON"}}), ErrorCode::kInvalidParameter,
              "Invalid launch type 'MOON'. Valid values: EC2, FARGATE, EXTERNAL.");
  expectError(listServices(ctx(), json{{"cluster", "nope"}}), ErrorCode::kClusterNotFound, "Cluster not found.");
}

TEST_F(ServiceOpsTest, ReaperDeletesInactiveServicesAfterRetention) {
  createWeb("gone", 0);
  createWeb("kept", 0);
  createWeb("live", 1);
  mustOk(deleteService(ctx(), json{{"cluster", "prod"}, {"service", "gone"}}));
  clock().advance(std::chrono::seconds(1800));
  mustOk(deleteService(ctx(), json{{"cluster", "prod"}, {"service", "kept"}}));
  // A service the controller made INACTIVE carries no inactiveAt yet.
  createWeb("unstamped", 0);
  json doc = stored("unstamped");
  doc["status"] = "INACTIVE";
  env_->putDoc(keys::service("prod", "unstamped"), doc);
  clock().advance(std::chrono::seconds(1800));
  EXPECT_EQ(mustOk(reapInactiveServices(ctx(), clock().now(), std::chrono::seconds(3600))), 1);
  EXPECT_FALSE(cache().get(keys::service("prod", "gone")));
  EXPECT_TRUE(cache().get(keys::service("prod", "kept")));
  EXPECT_TRUE(cache().get(keys::service("prod", "live")));
  EXPECT_EQ(stored("unstamped")["berth"]["inactiveAt"], kStart + 3600);
  json r = mustOk(describeServices(ctx(), json{{"cluster", "prod"}, {"services", {"gone"}}}));
  EXPECT_EQ(r["failures"][0]["reason"], "MISSING");
  clock().advance(std::chrono::seconds(3600));
  EXPECT_EQ(mustOk(reapInactiveServices(ctx(), clock().now(), std::chrono::seconds(3600))), 2);
  EXPECT_TRUE(cache().get(keys::service("prod", "live")));
}

TEST_F(ServiceOpsTest, ClusterCountsSeeServicesByStatusAndLaunchType) {
  registerInstance();
  createWeb("a", 0);
  createWeb("b", 1);
  json launch = stored("b")["deployments"][0]["berth"]["launchRequest"];
  mustOk(runTask(ctx(), launch));
  mustOk(deleteService(ctx(), json{{"cluster", "prod"}, {"service", "b"}, {"force", true}}));
  json c = mustOk(describeClusters(ctx(), json{{"clusters", {"prod"}}, {"include", {"STATISTICS"}}}))["clusters"][0];
  EXPECT_EQ(c["activeServicesCount"], 1);
  json stats = json::object();
  for (const auto& s : c["statistics"]) stats[s["name"].get<std::string>()] = s["value"];
  EXPECT_EQ(stats["activeEC2ServiceCount"], "1");
  EXPECT_EQ(stats["drainingEC2ServiceCount"], "1");
  // A cluster with services cannot be deleted.
  EXPECT_FALSE(deleteCluster(ctx(), json{{"cluster", "prod"}}).ok());
}

}  // namespace
}  // namespace berth::control
