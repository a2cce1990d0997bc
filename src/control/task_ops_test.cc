#include "control/task_ops.h"

#include <gtest/gtest.h>

#include <set>

#include <atomic>
#include <regex>
#include <thread>

#include "control/cluster_ops.h"
#include "control/container_instance_ops.h"
#include "control/keys.h"
#include "control/task_definition_ops.h"
#include "control/testing/ecs_fixture.h"

namespace berth::control {
namespace {

using nlohmann::json;
using test::mustOk;

json totalResources(int cpu, int memory) { return test::instanceResources(cpu, memory, {"22"}); }

json resource(const json& resources, const std::string& name) {
  for (const auto& r : resources)
    if (r["name"] == name) return r;
  return json();
}

class TaskOpsTest : public test::EcsFixture {
 protected:
  void SetUp() override { mustOk(createCluster(ctx(), json{{"clusterName", "prod"}}), "CreateCluster"); }

  std::string registerInstance(int cpu = 2048, int memory = 4096) {
    json req = {{"cluster", "prod"},
                {"totalResources", totalResources(cpu, memory)},
                {"attributes", {{{"name", "ecs.availability-zone"}, {"value", "eu-west-3a"}},
                                {{"name", "ecs.cpu-architecture"}, {"value", "x86_64"}}}}};
    return mustOk(registerContainerInstance(ctx(), req), "RegisterContainerInstance")["containerInstance"]["containerInstanceArn"];
  }

  json registerTd(json request) { return mustOk(registerTaskDefinition(ctx(), request), "RegisterTaskDefinition")["taskDefinition"]; }
  json registerWeb(int memory = 256, int cpu = 128, int hostPort = 0) {
    json c = {{"name", "app"}, {"image", "busybox"}, {"memory", memory}, {"cpu", cpu}, {"command", {"sleep", "60"}}};
    if (hostPort) c["portMappings"] = {{{"containerPort", 80}, {"hostPort", hostPort}}};
    return registerTd(json{{"family", "web"}, {"containerDefinitions", {c, {{"name", "side"}, {"image", "busybox"}, {"memory", 64}, {"essential", false}}}}});
  }

  json run(json request) {
    request["cluster"] = "prod";
    return mustOk(runTask(ctx(), request), "RunTask");
  }
  json task(const std::string& arn) {
    auto r = mustOk(describeTasks(ctx(), json{{"cluster", "prod"}, {"tasks", {arn}}, {"include", {"TAGS"}}}));
    EXPECT_EQ(r["tasks"].size(), 1u) << r.dump();
    return r["tasks"].empty() ? json() : r["tasks"][0];
  }
  json instance(const std::string& arn) {
    return mustOk(describeContainerInstances(ctx(), json{{"cluster", "prod"}, {"containerInstances", {arn}}}))["containerInstances"][0];
  }
  std::int64_t remaining(const std::string& arn, const std::string& name) {
    return resource(instance(arn)["remainingResources"], name)["integerValue"].get<std::int64_t>();
  }
  json report(const std::string& taskArn, json change) {
    change["cluster"] = "prod";
    change["task"] = taskArn;
    return mustOk(submitTaskStateChange(ctx(), change), "SubmitTaskStateChange");
  }
  ErrorCode failCode(const Result<json>& r) {
    EXPECT_FALSE(r.ok());
    return r.ok() ? ErrorCode::kInternal : r.error().code;
  }
};

TEST_F(TaskOpsTest, RunTaskCreatesPendingTaskAndReservesResources) {
  std::string ci = registerInstance(2048, 4096);
  json td = registerWeb(256, 128, 8080);
  clock().advance(std::chrono::seconds(5));
  json r = run(json{{"taskDefinition", "web"}, {"startedBy", "me"}, {"tags", {{{"key", "k"}, {"value", "v"}}}}});
  ASSERT_EQ(r["tasks"].size(), 1u);
  EXPECT_EQ(r["failures"], json::array());
  json t = r["tasks"][0];
  const std::string arn = t["taskArn"];
  EXPECT_TRUE(std::regex_match(arn, std::regex("arn:aws:ecs:eu-west-3:123456789012:task/prod/[0-9a-f]{32}"))) << arn;
  EXPECT_EQ(t["clusterArn"], "arn:aws:ecs:eu-west-3:123456789012:cluster/prod");
  EXPECT_EQ(t["taskDefinitionArn"], td["taskDefinitionArn"]);
  EXPECT_EQ(t["containerInstanceArn"], ci);
  EXPECT_EQ(t["lastStatus"], "PENDING");
  EXPECT_EQ(t["desiredStatus"], "RUNNING");
  EXPECT_EQ(t["launchType"], "EC2");
  EXPECT_EQ(t["group"], "family:web");
  EXPECT_EQ(t["startedBy"], "me");
  EXPECT_EQ(t["availabilityZone"], "eu-west-3a");
  EXPECT_EQ(t["attributes"], (json{{{"name", "ecs.cpu-architecture"}, {"value", "x86_64"}}}));
  EXPECT_EQ(t["cpu"], "128");
  EXPECT_EQ(t["memory"], "320");
  EXPECT_EQ(t["version"], 1);
  EXPECT_EQ(t["createdAt"], 1'700'000'005.0);
  EXPECT_EQ(t["tags"], (json{{{"key", "k"}, {"value", "v"}}}));
  EXPECT_EQ(t["overrides"], (json{{"containerOverrides", {{{"name", "app"}}, {{"name", "side"}}}}, {"inferenceAcceleratorOverrides", json::array()}}));
  EXPECT_FALSE(t.contains("berth"));
  ASSERT_EQ(t["containers"].size(), 2u);
  json c = t["containers"][0];
  EXPECT_EQ(c["name"], "app");
  EXPECT_EQ(c["image"], "busybox");
  EXPECT_EQ(c["lastStatus"], "PENDING");
  EXPECT_EQ(c["taskArn"], arn);
  EXPECT_EQ(c["cpu"], "128");
  EXPECT_EQ(c["memory"], "256");
  EXPECT_EQ(std::string(c["containerArn"]).rfind("arn:aws:ecs:eu-west-3:123456789012:container/prod/" + arn.substr(arn.rfind('/') + 1) + "/", 0), 0u);

  json inst = instance(ci);
  EXPECT_EQ(resource(inst["remainingResources"], "CPU")["integerValue"], 2048 - 128);
  EXPECT_EQ(resource(inst["remainingResources"], "MEMORY")["integerValue"], 4096 - 320);
  EXPECT_EQ(resource(inst["remainingResources"], "PORTS")["stringSetValue"], (json{"22", "8080"}));
  EXPECT_EQ(inst["pendingTasksCount"], 1);
  EXPECT_EQ(inst["version"], 2);
  EXPECT_EQ(mustOk(describeClusters(ctx(), json{{"clusters", {"prod"}}}))["clusters"][0]["pendingTasksCount"], 1);
}

TEST_F(TaskOpsTest, RunTaskPlacesUntilFullThenReportsWhy) {
  std::string ci = registerInstance(1024, 700);
  registerWeb(256);  // 320 MiB per task
  json r = run(json{{"taskDefinition", "web"}, {"count", 3}});
  EXPECT_EQ(r["tasks"].size(), 2u);
  EXPECT_EQ(r["failures"], (json{{{"arn", ci}, {"reason", "RESOURCE:MEMORY"}}}));
  EXPECT_EQ(remaining(ci, "MEMORY"), 700 - 640);
  // Static port: the second copy cannot share 8080.
  std::string ci2 = registerInstance(4096, 8192);
  registerTd(json{{"family", "port"}, {"containerDefinitions", {{{"name", "a"}, {"image", "x"}, {"memory", 10},
                                                                  {"portMappings", {{{"containerPort", 80}, {"hostPort", 8080}}}}}}}});
  r = run(json{{"taskDefinition", "port"}, {"count", 3}});
  // Both have room for 10 MiB but each has one 8080: one task per instance,
  // and the third fails on ports everywhere (in any order: ECS promises none).
  ASSERT_EQ(r["tasks"].size(), 2u);
  std::set<std::string> hosts{r["tasks"][0]["containerInstanceArn"], r["tasks"][1]["containerInstanceArn"]};
  EXPECT_EQ(hosts, (std::set<std::string>{ci, ci2}));
  std::set<json> failures(r["failures"].begin(), r["failures"].end());
  EXPECT_EQ(failures, (std::set<json>{{{"arn", ci}, {"reason", "RESOURCE:PORTS"}}, {{"arn", ci2}, {"reason", "RESOURCE:PORTS"}}}));
  EXPECT_EQ(failCode(runTask(ctx(), json{{"cluster", "prod"}, {"taskDefinition", "web"}, {"count", 11}})), ErrorCode::kInvalidParameter);
  EXPECT_EQ(failCode(runTask(ctx(), json{{"cluster", "prod"}, {"taskDefinition", "web"}, {"count", 0}})), ErrorCode::kInvalidParameter);
}

TEST_F(TaskOpsTest, RunTaskValidatesItsInput) {
  registerWeb();
  auto noInstances = runTask(ctx(), json{{"cluster", "prod"}, {"taskDefinition", "web"}});
  ASSERT_FALSE(noInstances.ok());
  EXPECT_EQ(noInstances.error().code, ErrorCode::kInvalidParameter);
  EXPECT_EQ(noInstances.error().message, "No Container Instances were found in your cluster.");
  registerInstance();
  EXPECT_EQ(failCode(runTask(ctx(), json{{"cluster", "nope"}, {"taskDefinition", "web"}})), ErrorCode::kClusterNotFound);
  EXPECT_EQ(failCode(runTask(ctx(), json{{"cluster", "prod"}, {"taskDefinition", "missing"}})), ErrorCode::kClient);
  EXPECT_EQ(failCode(runTask(ctx(), json{{"cluster", "prod"}, {"taskDefinition", "web"}, {"launchType", "FARGATE"}})),
            ErrorCode::kInvalidParameter);  // not Fargate-compatible (bridge)
  EXPECT_EQ(failCode(runTask(ctx(), json{{"cluster", "prod"}, {"taskDefinition", "web"},
                                         {"overrides", {{"containerOverrides", {{{"name", "ghost"}}}}}}})),
            ErrorCode::kInvalidParameter);
  EXPECT_EQ(failCode(runTask(ctx(), json{{"cluster", "prod"}, {"taskDefinition", "web"}, {"startedBy", "bad value"}})),
            ErrorCode::kInvalidParameter);
  EXPECT_EQ(failCode(runTask(ctx(), json{{"cluster", "prod"}, {"taskDefinition", "web"},
                                         {"networkConfiguration", {{"awsvpcConfiguration", {{"subnets", {"s"}}}}}}})),
            ErrorCode::kInvalidParameter);
  EXPECT_EQ(failCode(runTask(ctx(), json{{"cluster", "prod"}, {"taskDefinition", "web"},
                                         {"placementConstraints", {{{"type", "memberOf"}}}}})),
            ErrorCode::kInvalidParameter);
  EXPECT_EQ(failCode(runTask(ctx(), json{{"cluster", "prod"}, {"taskDefinition", "web"},
                                         {"placementStrategy", {{{"type", "binpack"}, {"field", "disk"}}}}})),
            ErrorCode::kInvalidParameter);
  mustOk(deregisterTaskDefinition(ctx(), json{{"taskDefinition", "web:1"}}));
  auto inactive = runTask(ctx(), json{{"cluster", "prod"}, {"taskDefinition", "web:1"}});
  ASSERT_FALSE(inactive.ok());
  EXPECT_EQ(inactive.error().code, ErrorCode::kClient);
  EXPECT_EQ(inactive.error().message, "TaskDefinition is inactive");
}

TEST_F(TaskOpsTest, OverridesChangeTheReservationAndAreReported) {
  std::string ci = registerInstance(2048, 4096);
  registerWeb(256, 128);
  json r = run(json{{"taskDefinition", "web"}, {"group", "batch"},
                    {"overrides", {{"containerOverrides", {{{"name", "app"}, {"command", {"echo", "hi"}}, {"memory", 1000}, {"cpu", 512}}}},
                                   {"memory", "2048"}}}});
  ASSERT_EQ(r["tasks"].size(), 1u);
  json t = r["tasks"][0];
  EXPECT_EQ(t["group"], "batch");
  EXPECT_EQ(t["memory"], "2048");  // task-level override wins
  EXPECT_EQ(t["cpu"], "512");
  EXPECT_EQ(t["overrides"]["containerOverrides"][0]["command"], (json{"echo", "hi"}));
  EXPECT_EQ(t["overrides"]["memory"], "2048");
  EXPECT_EQ(t["containers"][0]["memory"], "1000");
  EXPECT_EQ(remaining(ci, "MEMORY"), 4096 - 2048);
  EXPECT_EQ(remaining(ci, "CPU"), 2048 - 512);
}

TEST_F(TaskOpsTest, AwsvpcTasksStartProvisioningAndNeedANetworkConfiguration) {
  registerInstance();
  registerTd(json{{"family", "vpc"}, {"networkMode", "awsvpc"}, {"requiresCompatibilities", {"FARGATE"}}, {"cpu", "256"}, {"memory", "512"},
                  {"containerDefinitions", {{{"name", "a"}, {"image", "x"}, {"portMappings", {{{"containerPort", 80}}}}}}}});
  EXPECT_EQ(failCode(runTask(ctx(), json{{"cluster", "prod"}, {"taskDefinition", "vpc"}})), ErrorCode::kInvalidParameter);
  json r = run(json{{"taskDefinition", "vpc"}, {"launchType", "FARGATE"},
                    {"networkConfiguration", {{"awsvpcConfiguration", {{"subnets", {"subnet-1"}}}}}}});
  ASSERT_EQ(r["tasks"].size(), 1u) << r.dump();
  EXPECT_EQ(r["tasks"][0]["lastStatus"], "PROVISIONING");
  EXPECT_EQ(r["tasks"][0]["launchType"], "FARGATE");
  EXPECT_EQ(r["tasks"][0]["platformVersion"], "1.4.0");
  // Fargate tasks run on the same agents; awsvpc holds no host ports, so a second copy fits.
  r = run(json{{"taskDefinition", "vpc"}, {"networkConfiguration", {{"awsvpcConfiguration", {{"subnets", {"subnet-1"}}}}}}});
  EXPECT_EQ(r["tasks"].size(), 1u);
  EXPECT_EQ(r["tasks"][0]["launchType"], "EC2");
}

TEST_F(TaskOpsTest, StartTaskPlacesOneTaskOnEachNamedInstance) {
  std::string a = registerInstance(1024, 1024), b = registerInstance(1024, 100);
  registerWeb(256);
  json r = mustOk(startTask(ctx(), json{{"cluster", "prod"}, {"taskDefinition", "web"},
                                        {"containerInstances", {a, b, "0123456789abcdef0123456789abcdef"}}}));
  ASSERT_EQ(r["tasks"].size(), 1u);
  EXPECT_EQ(r["tasks"][0]["containerInstanceArn"], a);
  ASSERT_EQ(r["failures"].size(), 2u);
  EXPECT_EQ(r["failures"][0]["reason"], "MISSING");
  EXPECT_EQ(r["failures"][1], (json{{"arn", b}, {"reason", "RESOURCE:MEMORY"}}));
}

TEST_F(TaskOpsTest, AgentReportsDriveTheLifecycleAndReleaseResourcesAtStopped) {
  std::string ci = registerInstance(2048, 4096);
  registerWeb(256, 128, 8080);
  const std::string arn = run(json{{"taskDefinition", "web"}})["tasks"][0]["taskArn"];
  clock().advance(std::chrono::seconds(1));
  report(arn, json{{"status", "ACTIVATING"}, {"pullStartedAt", 1'700'000'001.0}});
  clock().advance(std::chrono::seconds(1));
  json ack = report(arn, json{{"status", "RUNNING"}, {"pullStoppedAt", 1'700'000'002.0},
                              {"containers", {{{"containerName", "app"}, {"status", "RUNNING"}, {"runtimeId", "abc123"},
                                               {"networkBindings", {{{"bindIP", "0.0.0.0"}, {"containerPort", 80}, {"hostPort", 8080}, {"protocol", "tcp"}}}}},
                                              {{"containerName", "side"}, {"status", "RUNNING"}}}}});
  EXPECT_EQ(ack, (json{{"acknowledgment", "ACK"}}));
  json t = task(arn);
  EXPECT_EQ(t["lastStatus"], "RUNNING");
  EXPECT_EQ(t["startedAt"], 1'700'000'002.0);
  EXPECT_EQ(t["pullStartedAt"], 1'700'000'001.0);
  EXPECT_EQ(t["pullStoppedAt"], 1'700'000'002.0);
  EXPECT_EQ(t["containers"][0]["lastStatus"], "RUNNING");
  EXPECT_EQ(t["containers"][0]["runtimeId"], "abc123");
  EXPECT_EQ(t["containers"][0]["networkBindings"][0]["hostPort"], 8080);
  EXPECT_EQ(t["version"], 3);
  EXPECT_EQ(instance(ci)["runningTasksCount"], 1);
  EXPECT_EQ(instance(ci)["pendingTasksCount"], 0);

  // Backward and repeated reports are ignored (no new version).
  report(arn, json{{"status", "PENDING"}, {"containers", {{{"containerName", "app"}, {"status", "PENDING"}}}}});
  report(arn, json{{"status", "RUNNING"}});
  EXPECT_EQ(task(arn)["lastStatus"], "RUNNING");
  EXPECT_EQ(task(arn)["containers"][0]["lastStatus"], "RUNNING");
  EXPECT_EQ(task(arn)["version"], 3);

  // The essential container exits: the agent stops the task.
  clock().advance(std::chrono::seconds(10));
  mustOk(submitContainerStateChange(ctx(), json{{"cluster", "prod"}, {"task", arn}, {"containerName", "app"},
                                                {"status", "STOPPED"}, {"exitCode", 3}, {"reason", "exited"}}));
  EXPECT_EQ(task(arn)["containers"][0]["exitCode"], 3);
  EXPECT_EQ(task(arn)["lastStatus"], "RUNNING");  // a container change alone does not move the task
  EXPECT_EQ(remaining(ci, "MEMORY"), 4096 - 320);
  report(arn, json{{"status", "STOPPED"}, {"executionStoppedAt", 1'700'000'012.0},
                   {"containers", {{{"containerName", "side"}, {"status", "STOPPED"}, {"exitCode", 137}}}}});
  t = task(arn);
  EXPECT_EQ(t["lastStatus"], "STOPPED");
  EXPECT_EQ(t["desiredStatus"], "STOPPED");
  EXPECT_EQ(t["stopCode"], "EssentialContainerExited");
  EXPECT_EQ(t["stoppedReason"], "Essential container in task exited");
  EXPECT_EQ(t["stoppedAt"], 1'700'000'012.0);
  EXPECT_EQ(t["stoppingAt"], 1'700'000'012.0);
  EXPECT_EQ(t["executionStoppedAt"], 1'700'000'012.0);
  EXPECT_EQ(t["containers"][1]["exitCode"], 137);
  EXPECT_EQ(remaining(ci, "MEMORY"), 4096);
  EXPECT_EQ(remaining(ci, "CPU"), 2048);
  EXPECT_EQ(resource(instance(ci)["remainingResources"], "PORTS")["stringSetValue"], (json{"22"}));
  // A late duplicate STOPPED does not release twice.
  report(arn, json{{"status", "STOPPED"}});
  EXPECT_EQ(remaining(ci, "MEMORY"), 4096);
  EXPECT_EQ(instance(ci)["runningTasksCount"], 0);
}

TEST_F(TaskOpsTest, TaskThatNeverRanStopsAsTaskFailedToStart) {
  registerInstance();
  registerWeb();
  const std::string arn = run(json{{"taskDefinition", "web"}})["tasks"][0]["taskArn"];
  report(arn, json{{"status", "STOPPED"}, {"reason", "CannotPullContainerError: pull access denied"}});
  json t = task(arn);
  EXPECT_EQ(t["stopCode"], "TaskFailedToStart");
  EXPECT_EQ(t["stoppedReason"], "CannotPullContainerError: pull access denied");
  EXPECT_FALSE(t.contains("startedAt"));
}

TEST_F(TaskOpsTest, SubmitValidatesInput) {
  registerInstance();
  registerWeb();
  const std::string arn = run(json{{"taskDefinition", "web"}})["tasks"][0]["taskArn"];
  EXPECT_EQ(failCode(submitTaskStateChange(ctx(), json{{"cluster", "prod"}, {"task", arn}, {"status", "DELETED"}})), ErrorCode::kInvalidParameter);
  EXPECT_EQ(failCode(submitTaskStateChange(ctx(), json{{"cluster", "prod"}, {"task", "0123456789abcdef0123456789abcdef"}, {"status", "RUNNING"}})),
            ErrorCode::kInvalidParameter);
  EXPECT_EQ(failCode(submitContainerStateChange(ctx(), json{{"cluster", "prod"}, {"task", arn}, {"containerName", "ghost"}, {"status", "RUNNING"}})),
            ErrorCode::kInvalidParameter);
  EXPECT_EQ(failCode(submitContainerStateChange(ctx(), json{{"cluster", "prod"}, {"task", arn}, {"containerName", "app"}, {"status", "ACTIVATING"}})),
            ErrorCode::kInvalidParameter);
}

TEST_F(TaskOpsTest, StopTaskSetsDesiredStatusAndTheAgentFinishesIt) {
  std::string ci = registerInstance();
  registerWeb();
  const std::string arn = run(json{{"taskDefinition", "web"}})["tasks"][0]["taskArn"];
  report(arn, json{{"status", "RUNNING"}});
  clock().advance(std::chrono::seconds(30));
  json t = mustOk(stopTask(ctx(), json{{"cluster", "prod"}, {"task", arn}}))["task"];
  EXPECT_EQ(t["desiredStatus"], "STOPPED");
  EXPECT_EQ(t["lastStatus"], "RUNNING");
  EXPECT_EQ(t["stopCode"], "UserInitiated");
  EXPECT_EQ(t["stoppedReason"], "Task stopped by user");
  EXPECT_EQ(t["stoppingAt"], 1'700'000'030.0);
  EXPECT_EQ(remaining(ci, "MEMORY"), 4096 - 320);  // still held until the agent reports STOPPED
  // Idempotent: a second StopTask changes nothing.
  EXPECT_EQ(mustOk(stopTask(ctx(), json{{"cluster", "prod"}, {"task", arn}, {"reason", "again"}}))["task"]["stoppedReason"], "Task stopped by user");
  report(arn, json{{"status", "STOPPED"}, {"containers", {{{"containerName", "app"}, {"status", "STOPPED"}, {"exitCode", 143}}}}});
  t = task(arn);
  EXPECT_EQ(t["lastStatus"], "STOPPED");
  EXPECT_EQ(t["stopCode"], "UserInitiated");  // the user's stop, not the essential exit
  EXPECT_EQ(t["stoppedReason"], "Task stopped by user");
  EXPECT_EQ(remaining(ci, "MEMORY"), 4096);
  EXPECT_EQ(failCode(stopTask(ctx(), json{{"cluster", "prod"}, {"task", "0123456789abcdef0123456789abcdef"}})), ErrorCode::kInvalidParameter);
  EXPECT_EQ(failCode(stopTask(ctx(), json{{"cluster", "prod"}, {"task", arn}, {"reason", std::string(256, 'x')}})), ErrorCode::kInvalidParameter);
}

TEST_F(TaskOpsTest, StopTaskOfAnUndeliveredTaskStopsItAtOnce) {
  std::string ci = registerInstance();
  const std::string id = ci.substr(ci.rfind('/') + 1);
  registerWeb();
  const std::string arn = run(json{{"taskDefinition", "web"}})["tasks"][0]["taskArn"];
  ASSERT_TRUE(setAgentConnected(ctx(), "prod", id, false).ok());  // nobody will pick the stop up
  json t = mustOk(stopTask(ctx(), json{{"cluster", "prod"}, {"task", arn}, {"reason", "changed my mind"}}))["task"];
  EXPECT_EQ(t["lastStatus"], "STOPPED");
  EXPECT_EQ(t["stoppedReason"], "changed my mind");
  EXPECT_EQ(t["stopCode"], "UserInitiated");
  EXPECT_EQ(t["containers"][0]["lastStatus"], "STOPPED");
  EXPECT_EQ(remaining(ci, "MEMORY"), 4096);
  // The agent's late report cannot revive it.
  report(arn, json{{"status", "RUNNING"}});
  EXPECT_EQ(task(arn)["lastStatus"], "STOPPED");
  EXPECT_EQ(remaining(ci, "MEMORY"), 4096);
}

TEST_F(TaskOpsTest, DescribeAndListTasks) {
  std::string a = registerInstance(), b = registerInstance();
  registerWeb();
  registerTd(json{{"family", "batch"}, {"containerDefinitions", {{{"name", "j"}, {"image", "x"}, {"memory", 10}}}}});
  std::vector<std::string> web;
  for (int i = 0; i < 3; ++i)
    web.push_back(mustOk(startTask(ctx(), json{{"cluster", "prod"}, {"taskDefinition", "web"}, {"startedBy", "ci"},
                                               {"containerInstances", {a}}}))["tasks"][0]["taskArn"]);
  json svc = mustOk(startTask(ctx(), json{{"cluster", "prod"}, {"taskDefinition", "batch"}, {"group", "service:api"},
                                          {"containerInstances", {b}}}))["tasks"][0];
  mustOk(stopTask(ctx(), json{{"cluster", "prod"}, {"task", web[0]}}));
  report(web[0], json{{"status", "STOPPED"}});

  auto list = [&](json req) {
    req["cluster"] = "prod";
    auto r = mustOk(listTasks(ctx(), req));
    std::set<std::string> out;
    for (const auto& a : r["taskArns"]) out.insert(a);
    return out;
  };
  EXPECT_EQ(list(json::object()), (std::set<std::string>{web[1], web[2], svc["taskArn"]}));
  EXPECT_EQ(list(json{{"desiredStatus", "STOPPED"}}), (std::set<std::string>{web[0]}));
  EXPECT_EQ(list(json{{"family", "web"}}), (std::set<std::string>{web[1], web[2]}));
  EXPECT_EQ(list(json{{"startedBy", "ci"}}), (std::set<std::string>{web[1], web[2]}));
  EXPECT_EQ(list(json{{"serviceName", "api"}}), (std::set<std::string>{svc["taskArn"]}));
  EXPECT_EQ(list(json{{"containerInstance", b}}), (std::set<std::string>{svc["taskArn"]}));
  EXPECT_EQ(list(json{{"launchType", "FARGATE"}}), (std::set<std::string>{}));
  EXPECT_EQ(failCode(listTasks(ctx(), json{{"cluster", "prod"}, {"desiredStatus", "GONE"}})), ErrorCode::kInvalidParameter);
  auto page = mustOk(listTasks(ctx(), json{{"cluster", "prod"}, {"maxResults", 2}}));
  EXPECT_EQ(page["taskArns"].size(), 2u);
  auto rest = mustOk(listTasks(ctx(), json{{"cluster", "prod"}, {"maxResults", 2}, {"nextToken", page["nextToken"]}}));
  EXPECT_EQ(rest["taskArns"].size(), 1u);
  EXPECT_FALSE(rest.contains("nextToken"));

  const std::string id = web[1].substr(web[1].rfind('/') + 1);
  auto d = mustOk(describeTasks(ctx(), json{{"cluster", "prod"}, {"tasks", {id, "0123456789abcdef0123456789abcdef"}}}));
  ASSERT_EQ(d["tasks"].size(), 1u);
  EXPECT_EQ(d["tasks"][0]["taskArn"], web[1]);
  EXPECT_FALSE(d["tasks"][0].contains("tags"));
  EXPECT_EQ(d["failures"], (json{{{"arn", "arn:aws:ecs:eu-west-3:123456789012:task/prod/0123456789abcdef0123456789abcdef"}, {"reason", "MISSING"}}}));
  EXPECT_EQ(failCode(describeTasks(ctx(), json{{"cluster", "prod"}, {"tasks", json::array()}})), ErrorCode::kInvalidParameter);
}

TEST_F(TaskOpsTest, ReaperDeletesStoppedTasksAfterTheRetention) {
  registerInstance();
  registerWeb();
  const std::string stopped = run(json{{"taskDefinition", "web"}})["tasks"][0]["taskArn"];
  const std::string running = run(json{{"taskDefinition", "web"}})["tasks"][0]["taskArn"];
  report(stopped, json{{"status", "STOPPED"}});
  clock().advance(std::chrono::minutes(30));
  EXPECT_EQ(mustOk(reapStoppedTasks(ctx(), clock().now())), 0);
  EXPECT_EQ(mustOk(reapStoppedTasks(ctx(), clock().now(), std::chrono::minutes(10))), 1);  // configurable
  auto d = mustOk(describeTasks(ctx(), json{{"cluster", "prod"}, {"tasks", {stopped, running}}}));
  EXPECT_EQ(d["tasks"].size(), 1u);
  EXPECT_EQ(d["failures"].size(), 1u);
  clock().advance(std::chrono::hours(5));
  EXPECT_EQ(mustOk(reapStoppedTasks(ctx(), clock().now())), 0);  // running tasks are never reaped
}

// Many clients launching at once never over-commit an instance, and every
// task that was created holds exactly its reservation.
TEST_F(TaskOpsTest, ConcurrentRunTaskKeepsRemainingResourcesExact) {
  std::vector<std::string> instances = {registerInstance(1024, 1000), registerInstance(1024, 1000), registerInstance(1024, 1000)};
  registerTd(json{{"family", "small"}, {"containerDefinitions", {{{"name", "a"}, {"image", "x"}, {"memory", 70}, {"cpu", 10}}}}});
  constexpr int kThreads = 8, kPerThread = 20;
  std::atomic<int> placed{0}, unplaced{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = runTask(ctx(), json{{"cluster", "prod"}, {"taskDefinition", "small"}});
        if (!r.ok()) { ++errors; continue; }
        placed += static_cast<int>((*r)["tasks"].size());
        unplaced += (*r)["tasks"].empty() ? 1 : 0;
      }
    });
  }
  for (auto& t : threads) t.join();
  // 3 instances × floor(1000 / 70) = 42 tasks fit; 160 were asked for.
  // A request may lose every optimistic retry (kConflict) under contention;
  // that is a visible error, never a partial or double reservation.
  EXPECT_EQ(placed.load(), 42);
  EXPECT_EQ(placed.load() + unplaced.load() + errors.load(), kThreads * kPerThread);
  RecordProperty("conflictErrors", errors.load());
  std::map<std::string, int> perInstance;
  const json listed = mustOk(listTasks(ctx(), json{{"cluster", "prod"}, {"maxResults", 100}}));
  for (const auto& arn : listed["taskArns"]) ++perInstance[task(arn)["containerInstanceArn"]];
  for (const auto& ci : instances) {
    EXPECT_EQ(perInstance[ci], 14) << ci;
    EXPECT_EQ(remaining(ci, "MEMORY"), 1000 - 70 * perInstance[ci]);
    EXPECT_EQ(remaining(ci, "CPU"), 1024 - 10 * perInstance[ci]);
  }
}

// --- issue #5: what the agent reports beyond statuses ---------------------

json binding(int containerPort, int hostPort, const std::string& protocol = "tcp") {
  return {{"bindIP", "0.0.0.0"}, {"containerPort", containerPort}, {"hostPort", hostPort}, {"protocol", protocol}};
}

json ports(const json& instanceDoc, const std::string& name) {
  return resource(instanceDoc["remainingResources"], name)["stringSetValue"];
}

TEST_F(TaskOpsTest, DynamicHostPortsAreReservedWhenReportedAndReleasedAtStopped) {
  std::string ci = registerInstance();
  registerWeb();  // hostPort 0: dynamic
  json staticTd = registerTd(json{{"family", "fixed"}, {"containerDefinitions", {{{"name", "f"}, {"image", "x"}, {"memory", 32},
                                                                                   {"portMappings", {{{"containerPort", 80}, {"hostPort", 32768}}}}}}}});
  const std::string arn = run(json{{"taskDefinition", "web"}})["tasks"][0]["taskArn"];
  EXPECT_EQ(ports(instance(ci), "PORTS"), (json{"22"}));
  const json bindings = {binding(80, 32768), binding(53, 40000, "udp"), binding(22, 22)};
  report(arn, json{{"status", "RUNNING"}, {"containers", {{{"containerName", "app"}, {"status", "RUNNING"}, {"networkBindings", bindings}}}}});
  json t = task(arn);
  EXPECT_EQ(t["containers"][0]["networkBindings"], bindings);
  json inst = instance(ci);
  EXPECT_EQ(ports(inst, "PORTS"), (json{"22", "32768"}));
  EXPECT_EQ(ports(inst, "PORTS_UDP"), (json{"40000"}));
  // The same report again reserves nothing twice.
  report(arn, json{{"containers", {{{"containerName", "app"}, {"networkBindings", bindings}}}}});
  EXPECT_EQ(instance(ci)["version"], inst["version"]);

  // A static hostPort now taken by the dynamic binding fails placement.
  json r = run(json{{"taskDefinition", "fixed"}});
  EXPECT_EQ(r["tasks"], json::array());
  EXPECT_EQ(r["failures"], (json{{{"arn", ci}, {"reason", "RESOURCE:PORTS"}}}));

  report(arn, json{{"status", "STOPPED"}, {"containers", {{{"containerName", "app"}, {"status", "STOPPED"}, {"exitCode", 0}}}}});
  inst = instance(ci);
  EXPECT_EQ(ports(inst, "PORTS"), (json{"22"}));  // 22 was the instance's own: it stays
  EXPECT_EQ(ports(inst, "PORTS_UDP"), json::array());
  EXPECT_EQ(remaining(ci, "MEMORY"), 4096);
  // A late report from a stopped task reserves nothing.
  report(arn, json{{"containers", {{{"containerName", "side"}, {"networkBindings", {binding(81, 33000)}}}}}});
  EXPECT_EQ(ports(instance(ci), "PORTS"), (json{"22"}));
  EXPECT_EQ(run(json{{"taskDefinition", "fixed"}})["tasks"].size(), 1u);
}

TEST_F(TaskOpsTest, StaticPortsInBindingsAreNotCountedTwice) {
  std::string ci = registerInstance();
  registerWeb(256, 128, 8080);
  const std::string arn = run(json{{"taskDefinition", "web"}})["tasks"][0]["taskArn"];
  json before = instance(ci);
  EXPECT_EQ(ports(before, "PORTS"), (json{"22", "8080"}));
  report(arn, json{{"status", "RUNNING"}, {"containers", {{{"containerName", "app"}, {"networkBindings", {binding(80, 8080)}}}}}});
  EXPECT_EQ(instance(ci)["remainingResources"], before["remainingResources"]);
  // SubmitContainerStateChange carries bindings too.
  mustOk(submitContainerStateChange(ctx(), json{{"cluster", "prod"}, {"task", arn}, {"containerName", "side"},
                                                {"status", "RUNNING"}, {"networkBindings", {binding(9000, 32800)}}}));
  EXPECT_EQ(ports(instance(ci), "PORTS"), (json{"22", "8080", "32800"}));
  EXPECT_EQ(task(arn)["containers"][1]["networkBindings"], (json{binding(9000, 32800)}));
  report(arn, json{{"status", "STOPPED"}});
  EXPECT_EQ(ports(instance(ci), "PORTS"), (json{"22"}));
}

TEST_F(TaskOpsTest, ForcedStopByTheServerReleasesDynamicPortsAndDeletesTheEni) {
  std::string ci = registerInstance();
  registerWeb();
  const std::string arn = run(json{{"taskDefinition", "web"}})["tasks"][0]["taskArn"];
  report(arn, json{{"status", "RUNNING"}, {"containers", {{{"containerName", "app"}, {"networkBindings", {binding(80, 33333)}}}}}});
  EXPECT_EQ(ports(instance(ci), "PORTS"), (json{"22", "33333"}));
  mustOk(deregisterContainerInstance(ctx(), json{{"cluster", "prod"}, {"containerInstance", ci}, {"force", true}}));
  EXPECT_EQ(task(arn)["lastStatus"], "STOPPED");
  json inst = instance(ci);
  EXPECT_EQ(inst["remainingResources"], inst["registeredResources"]);

  // StopTask's direct stop (agent gone before it reported) also gives ports back.
  std::string ci2 = registerInstance();
  const std::string id2 = ci2.substr(ci2.rfind('/') + 1);
  registerTd(json{{"family", "vpc"}, {"networkMode", "awsvpc"}, {"containerDefinitions", {{{"name", "a"}, {"image", "x"}, {"memory", 64}}}}});
  const std::string vpcArn = run(json{{"taskDefinition", "vpc"}, {"networkConfiguration", {{"awsvpcConfiguration", {{"subnets", {"subnet-1"}}}}}}})["tasks"][0]["taskArn"];
  ASSERT_TRUE(setAgentConnected(ctx(), "prod", id2, false).ok());
  json stopped = mustOk(stopTask(ctx(), json{{"cluster", "prod"}, {"task", vpcArn}}))["task"];
  EXPECT_EQ(stopped["lastStatus"], "STOPPED");
  EXPECT_EQ(stopped["attachments"][0]["status"], "DELETED");
  EXPECT_EQ(remaining(ci2, "MEMORY"), 4096);
}

TEST_F(TaskOpsTest, AwsvpcNetworkConfigurationIsValidated) {
  registerInstance();
  registerTd(json{{"family", "vpc"}, {"networkMode", "awsvpc"}, {"containerDefinitions", {{{"name", "a"}, {"image", "x"}, {"memory", 64}}}}});
  auto message = [&](json request) {
    request["cluster"] = "prod";
    request["taskDefinition"] = "vpc";
    auto r = runTask(ctx(), request);
    EXPECT_FALSE(r.ok());
    if (r.ok()) return std::string();
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
    return r.error().message;
  };
  EXPECT_EQ(message(json::object()), "Network Configuration must be provided when networkMode 'awsvpc' is specified.");
  json subnets = json::array();
  for (int i = 0; i < 17; ++i) subnets.push_back("subnet-" + std::to_string(i));
  EXPECT_EQ(message(json{{"networkConfiguration", {{"awsvpcConfiguration", {{"subnets", subnets}}}}}}),
            "subnets can have at least 1 and at most 16 items.");
  EXPECT_EQ(message(json{{"networkConfiguration", {{"awsvpcConfiguration", {{"subnets", {"s"}}, {"securityGroups", {"1", "2", "3", "4", "5", "6"}}}}}}}),
            "securityGroups can have at most 5 items.");
  EXPECT_EQ(message(json{{"networkConfiguration", {{"awsvpcConfiguration", {{"subnets", {"s"}}, {"assignPublicIp", "ENABLED"}}}}}}),
            "Assign public IP is not supported for this launch type.");
  // Bridge tasks refuse one.
  registerWeb();
  auto r = runTask(ctx(), json{{"cluster", "prod"}, {"taskDefinition", "web"},
                               {"networkConfiguration", {{"awsvpcConfiguration", {{"subnets", {"s"}}}}}}});
  EXPECT_EQ(failCode(r), ErrorCode::kInvalidParameter);
}

TEST_F(TaskOpsTest, AwsvpcAttachmentGoesPrecreatedAttachedDeleted) {
  std::string ci = registerInstance();
  registerTd(json{{"family", "vpc"}, {"networkMode", "awsvpc"},
                  {"containerDefinitions", {{{"name", "a"}, {"image", "x"}, {"memory", 64}, {"portMappings", {{{"containerPort", 80}}}}},
                                            {{"name", "b"}, {"image", "x"}, {"memory", 64}}}}});
  json t = run(json{{"taskDefinition", "vpc"},
                    {"networkConfiguration", {{"awsvpcConfiguration", {{"subnets", {"subnet-0abc", "subnet-0def"}}, {"securityGroups", {"sg-1"}},
                                                                       {"assignPublicIp", "DISABLED"}}}}}})["tasks"][0];
  const std::string arn = t["taskArn"];
  EXPECT_EQ(t["lastStatus"], "PROVISIONING");
  ASSERT_EQ(t["attachments"].size(), 1u);
  json a = t["attachments"][0];
  const std::string id = a["id"];
  EXPECT_TRUE(std::regex_match(id, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"))) << id;
  EXPECT_EQ(a["type"], "ElasticNetworkInterface");
  EXPECT_EQ(a["status"], "PRECREATED");
  EXPECT_EQ(a["details"], (json{{{"name", "subnetId"}, {"value", "subnet-0abc"}}}));
  EXPECT_EQ(ports(instance(ci), "PORTS"), (json{"22"}));  // awsvpc holds no host ports

  report(arn, json{{"status", "RUNNING"},
                   {"networkInterface", {{"privateIPv4Address", "10.214.0.5"}, {"macAddress", "0e:1f:2a:3b:4c:5d"},
                                         {"ipv4SubnetCidrBlock", "10.214.0.0/24"}, {"gatewayIpv4Address", "10.214.0.1"}}}});
  t = task(arn);
  a = t["attachments"][0];
  EXPECT_EQ(a["status"], "ATTACHED");
  ASSERT_EQ(a["details"].size(), 5u);
  EXPECT_EQ(a["details"][0], (json{{"name", "subnetId"}, {"value", "subnet-0abc"}}));
  EXPECT_EQ(a["details"][1]["name"], "networkInterfaceId");
  EXPECT_TRUE(std::regex_match(std::string(a["details"][1]["value"]), std::regex("eni-[0-9a-f]{17}"))) << a.dump();
  EXPECT_EQ(a["details"][2], (json{{"name", "macAddress"}, {"value", "0e:1f:2a:3b:4c:5d"}}));
  EXPECT_EQ(a["details"][3], (json{{"name", "privateDnsName"}, {"value", "ip-10-214-0-5.eu-west-3.compute.internal"}}));
  EXPECT_EQ(a["details"][4], (json{{"name", "privateIPv4Address"}, {"value", "10.214.0.5"}}));
  for (const auto& c : t["containers"])
    EXPECT_EQ(c["networkInterfaces"], (json{{{"attachmentId", id}, {"privateIpv4Address", "10.214.0.5"}}}));
  EXPECT_FALSE(t.contains("berth"));

  report(arn, json{{"status", "STOPPED"}});
  t = task(arn);
  EXPECT_EQ(t["attachments"][0]["status"], "DELETED");
  EXPECT_EQ(t["attachments"][0]["details"], a["details"]);  // details stay for the record
}

TEST_F(TaskOpsTest, BridgeTasksShowNoAttachment) {
  registerInstance();
  registerWeb();
  const std::string arn = run(json{{"taskDefinition", "web"}})["tasks"][0]["taskArn"];
  report(arn, json{{"status", "RUNNING"}, {"networkInterface", {{"privateIPv4Address", "172.30.0.4"}, {"macAddress", "m"}}}});
  json t = task(arn);
  EXPECT_EQ(t["attachments"], json::array());
  EXPECT_EQ(t["containers"][0]["networkInterfaces"], json::array());
}

TEST_F(TaskOpsTest, HealthIsStoredPerContainerAndDerivedForTheTask) {
  registerInstance();
  const json check = {{"command", {"CMD-SHELL", "true"}}};
  registerTd(json{{"family", "hc"},
                  {"containerDefinitions", {{{"name", "app"}, {"image", "x"}, {"memory", 64}, {"healthCheck", check}},
                                            {{"name", "plain"}, {"image", "x"}, {"memory", 64}},
                                            {{"name", "side"}, {"image", "x"}, {"memory", 64}, {"essential", false}, {"healthCheck", check}}}}});
  const std::string arn = run(json{{"taskDefinition", "hc"}})["tasks"][0]["taskArn"];
  auto health = [&] {
    json t = task(arn);
    return std::vector<std::string>{t["healthStatus"], t["containers"][0]["healthStatus"], t["containers"][1]["healthStatus"],
                                    t["containers"][2]["healthStatus"]};
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(health(), (V{"UNKNOWN", "UNKNOWN", "UNKNOWN", "UNKNOWN"}));
  report(arn, json{{"status", "RUNNING"}, {"containers", {{{"containerName", "side"}, {"healthStatus", "UNHEALTHY"}}}}});
  EXPECT_EQ(health(), (V{"UNKNOWN", "UNKNOWN", "UNKNOWN", "UNHEALTHY"}));  // non-essential: no effect
  report(arn, json{{"containers", {{{"containerName", "app"}, {"healthStatus", "HEALTHY"}}}}});
  EXPECT_EQ(health(), (V{"HEALTHY", "HEALTHY", "UNKNOWN", "UNHEALTHY"}));
  const std::int64_t version = task(arn)["version"];
  mustOk(submitContainerStateChange(ctx(), json{{"cluster", "prod"}, {"task", arn}, {"containerName", "app"}, {"healthStatus", "UNHEALTHY"}}));
  EXPECT_EQ(health(), (V{"UNHEALTHY", "UNHEALTHY", "UNKNOWN", "UNHEALTHY"}));
  EXPECT_GT(task(arn)["version"], version);
  // Health moves both ways, unlike statuses.
  report(arn, json{{"containers", {{{"containerName", "app"}, {"healthStatus", "HEALTHY"}}}}});
  EXPECT_EQ(health()[0], "HEALTHY");
  EXPECT_EQ(failCode(submitTaskStateChange(ctx(), json{{"cluster", "prod"}, {"task", arn},
                                                        {"containers", {{{"containerName", "app"}, {"healthStatus", "GREEN"}}}}})),
            ErrorCode::kInvalidParameter);
  EXPECT_EQ(health()[0], "HEALTHY");
}

}  // namespace
}  // namespace berth::control

namespace berth::control {
namespace {

// GPUs: an instance registers GPU ids; each task takes as many as its
// containers' resourceRequirements ask for, the containers show which, a task
// that finds too few fails with RESOURCE:GPU, and stopping gives them back.
TEST_F(TaskOpsTest, GpusAreReservedByIdAndGivenBack) {
  json resources = totalResources(4096, 8192);
  resources.push_back({{"name", "GPU"}, {"type", "STRINGSET"}, {"stringSetValue", {"gpu-0", "gpu-1", "gpu-2"}}});
  json req = {{"cluster", "prod"}, {"totalResources", resources}};
  const std::string ci =
      mustOk(registerContainerInstance(ctx(), req), "RegisterContainerInstance")["containerInstance"]["containerInstanceArn"];
  registerTd(json{{"family", "cuda"},
                  {"containerDefinitions",
                   {{{"name", "train"}, {"image", "x"}, {"memory", 64}, {"resourceRequirements", {{{"type", "GPU"}, {"value", "2"}}}}}}}});
  json r = run(json{{"taskDefinition", "cuda"}, {"count", 2}});
  ASSERT_EQ(r["tasks"].size(), 1u) << r.dump();
  EXPECT_EQ(r["failures"], (json{{{"arn", ci}, {"reason", "RESOURCE:GPU"}}}));
  EXPECT_EQ(r["tasks"][0]["containers"][0]["gpuIds"], (json{"gpu-0", "gpu-1"}));
  auto gpus = [&] { return resource(instance(ci)["remainingResources"], "GPU")["stringSetValue"]; };
  EXPECT_EQ(gpus(), json{"gpu-2"});
  EXPECT_EQ(resource(instance(ci)["registeredResources"], "GPU")["stringSetValue"], (json{"gpu-0", "gpu-1", "gpu-2"}));
  report(r["tasks"][0]["taskArn"], json{{"status", "STOPPED"}});
  EXPECT_EQ(gpus(), (json{"gpu-0", "gpu-1", "gpu-2"}));
  json again = run(json{{"taskDefinition", "cuda"}});
  ASSERT_EQ(again["tasks"].size(), 1u);
  EXPECT_EQ(again["tasks"][0]["containers"][0]["gpuIds"], (json{"gpu-0", "gpu-1"}));
}

}  // namespace
}  // namespace berth::control

namespace berth::control {
namespace {

// Concurrent RunTasks on one cluster share launch batches yet never
// over-commit: with room for exactly 100 tasks, 160 requests place 100 and
// the rest fail on memory, and every instance ends with exactly 0 MiB left.
TEST_F(TaskOpsTest, ConcurrentRunTasksNeverOverCommit) {
  std::vector<std::string> instances;
  for (int i = 0; i < 4; ++i) instances.push_back(registerInstance(100'000, 25 * 64));
  registerTd(json{{"family", "small"}, {"containerDefinitions", {{{"name", "a"}, {"image", "x"}, {"memory", 64}}}}});
  std::atomic<int> placed{0}, refused{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        auto r = runTask(ctx(), json{{"cluster", "prod"}, {"taskDefinition", "small"}, {"placementStrategy", {{{"type", "binpack"}, {"field", "memory"}}}}});
        if (!r.ok()) {
          errors++;
          continue;
        }
        placed += static_cast<int>((*r)["tasks"].size());
        if (!(*r)["failures"].empty()) refused++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(placed.load(), 100);
  EXPECT_EQ(refused.load(), 60);
  for (const auto& ci : instances) EXPECT_EQ(remaining(ci, "MEMORY"), 0) << ci;
  auto listed = mustOk(listTasks(ctx(), json{{"cluster", "prod"}, {"maxResults", 100}}));
  EXPECT_EQ(listed["taskArns"].size(), 100u);
}

}  // namespace
}  // namespace berth::control
