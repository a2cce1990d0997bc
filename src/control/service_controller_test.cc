#include "control/service_controller.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "control/cluster_ops.h"
#include "control/container_instance_ops.h"
#include "control/ecs_events.h"
#include "control/keys.h"
#include "control/service_ops.h"
#include "control/task_definition_ops.h"
#include "control/task_ops.h"
#include "control/testing/ecs_fixture.h"

namespace berth::control {
namespace {

using nlohmann::json;
using test::mustOk;

class CapturingSink : public EventSink {
 public:
  void publish(json event) override { events.push_back(std::move(event)); }
  std::vector<json> events;
};

std::string lastSegment(const std::string& arn) { return arn.substr(arn.rfind('/') + 1); }

// Counts of one service's tasks as the rollout bounds see them.
struct Counts {
  int notStopped = 0;
  int healthy = 0;  // RUNNING, desiredStatus RUNNING
  int pending = 0;  // PENDING and desired RUNNING
};

class ServiceControllerTest : public test::EcsFixture {
 protected:
  void SetUp() override {
    ctx().events = &sink_;
    mustOk(createCluster(ctx(), json{{"clusterName", "prod"}}), "CreateCluster");
  }

  std::string registerInstance(const std::string& az, int cpu = 4096, int memory = 8192, json extra = json::array()) {
    json attributes = {{{"name", "ecs.availability-zone"}, {"value", az}}, {{"name", "ecs.cpu-architecture"}, {"value", "x86_64"}}};
    for (const auto& a : extra) attributes.push_back(a);
    json req = {{"cluster", "prod"}, {"totalResources", test::instanceResources(cpu, memory, {"22"})}, {"attributes", attributes}};
    return lastSegment(mustOk(registerContainerInstance(ctx(), req), "RegisterContainerInstance")["containerInstance"]["containerInstanceArn"]);
  }

  // web:<n> with one essential container (memory 256, cpu 128).
  std::string registerWeb(bool healthCheck = false) {
    json c = {{"name", "app"}, {"image", "busybox"}, {"memory", 256}, {"cpu", 128}};
    if (healthCheck) c["healthCheck"] = {{"command", {"CMD-SHELL", "true"}}};
    return mustOk(registerTaskDefinition(ctx(), json{{"family", "web"}, {"containerDefinitions", {c}}}), "RegisterTaskDefinition")
        ["taskDefinition"]["taskDefinitionArn"];
  }

  json deployment(const std::string& id, const std::string& status, const std::string& td, int desired,
                  const std::string& service = "web", json constraints = json::array()) {
    const double now = clock().epochSeconds();
    return {{"id", id}, {"status", status}, {"taskDefinition", td}, {"desiredCount", desired}, {"pendingCount", 0},
            {"runningCount", 0}, {"failedTasks", 0}, {"createdAt", now}, {"updatedAt", now}, {"launchType", "EC2"},
            {"rolloutState", "IN_PROGRESS"}, {"rolloutStateReason", "ECS deployment " + id + " in progress."},
            {"berth", {{"launchRequest", {{"cluster", "prod"}, {"taskDefinition", td}, {"launchType", "EC2"},
                                          {"group", "service:" + service}, {"startedBy", id},
                                          {"placementConstraints", constraints}}}}}};
  }

  // A service document in service_ops.h's stored layout.
  json serviceDoc(const std::string& name, int desired, int minPct, int maxPct, json deployments, bool breaker = false,
                  const std::string& scheduling = "REPLICA") {
    const double now = clock().epochSeconds();
    return {{"serviceArn", "arn:aws:ecs:eu-west-3:123456789012:service/prod/" + name},
            {"serviceName", name},
            {"clusterArn", "arn:aws:ecs:eu-west-3:123456789012:cluster/prod"},
            {"status", "ACTIVE"},
            {"desiredCount", desired},
            {"runningCount", 0},
            {"pendingCount", 0},
            {"launchType", "EC2"},
            {"taskDefinition", deployments[0]["taskDefinition"]},
            {"schedulingStrategy", scheduling},
            {"deploymentConfiguration", {{"minimumHealthyPercent", minPct}, {"maximumPercent", maxPct},
                                         {"deploymentCircuitBreaker", {{"enable", breaker}, {"rollback", breaker}}}}},
            {"deployments", deployments},
            {"events", json::array()},
            {"createdAt", now},
            {"berth", {{"cluster", "prod"}, {"name", name}, {"updatedAt", now}, {"revision", 1}}}};
  }

  void putService(const json& doc) { env_->putDoc(keys::service("prod", doc["serviceName"].get<std::string>()), doc); }
  json service(const std::string& name = "web") {
    auto o = cache().get(keys::service("prod", name));
    return o ? o->doc : json();
  }
  // An UpdateService-like change: `mutate` edits the stored document, the revision moves.
  template <typename F>
  void updateService(const std::string& name, F mutate) {
    json doc = service(name);
    mutate(doc);
    doc["berth"]["revision"] = doc["berth"].value("revision", 0) + 1;
    doc["berth"]["updatedAt"] = clock().epochSeconds();
    putService(doc);
  }

  std::vector<json> tasks(const std::string& name = "web") {
    std::vector<json> out;
    cache().scan(keys::clusterScoped(keys::kTasks, "prod"), "", [&](const std::string&, const CachedObject& o) {
      if (o.doc.value("group", "") == "service:" + name) out.push_back(o.doc);
      return true;
    });
    return out;
  }
  Counts counts(const std::string& name = "web") {
    Counts c;
    for (const auto& t : tasks(name)) {
      const std::string last = t["lastStatus"], desired = t["desiredStatus"];
      if (last != "STOPPED") ++c.notStopped;
      if (last == "RUNNING" && desired == "RUNNING") ++c.healthy;
      if (last == "PENDING" && desired == "RUNNING") ++c.pending;
    }
    return c;
  }

  void report(const json& task, json change) {
    change["cluster"] = "prod";
    change["task"] = task["taskArn"];
    mustOk(submitTaskStateChange(ctx(), change), "SubmitTaskStateChange");
  }
  void reportRunning(const json& task) {
    report(task, {{"status", "RUNNING"}, {"startedAt", clock().epochSeconds()},
                  {"containers", {{{"containerName", "app"}, {"status", "RUNNING"}}}}});
  }
  void reportStopped(const json& task, int exitCode = 0) {
    report(task, {{"status", "STOPPED"}, {"containers", {{{"containerName", "app"}, {"status", "STOPPED"}, {"exitCode", exitCode}}}}});
  }
  void reportPullFailure(const json& task) {
    report(task, {{"status", "STOPPED"}, {"stopCode", "TaskFailedToStart"}, {"reason", "CannotPullContainerError: not found"}});
  }

  // The agent takes one step on one task: a stop it was asked for, else a
  // start. Returns false when there is nothing to do.
  bool agentStep(const std::string& name = "web") {
    for (const auto& t : tasks(name))
      if (t["desiredStatus"] == "STOPPED" && t["lastStatus"] != "STOPPED") {
        reportStopped(t);
        return true;
      }
    for (const auto& t : tasks(name))
      if (t["desiredStatus"] == "RUNNING" && t["lastStatus"] == "PENDING") {
        reportRunning(t);
        return true;
      }
    return false;
  }

  std::vector<std::string> messages(const std::string& name = "web") {
    std::vector<std::string> out;
    for (const auto& e : service(name).value("events", json::array())) out.push_back(e["message"]);
    return out;
  }
  bool hasMessage(const std::string& needle, const std::string& name = "web") {
    for (const auto& m : messages(name))
      if (m.find(needle) != std::string::npos) return true;
    return false;
  }

  CapturingSink sink_;
};

// --- task_ops entry points ----------------------------------------------

TEST_F(ServiceControllerTest, LaunchServiceTasksPlacesManyInOneCallSpreadAcrossZones) {
  std::string a = registerInstance("eu-west-3a"), b = registerInstance("eu-west-3b");
  std::string td = registerWeb();
  json request = deployment("ecs-svc/1234567890123456789", "PRIMARY", td, 25)["berth"]["launchRequest"];
  json r = mustOk(launchServiceTasks(ctx(), request, 25));
  ASSERT_EQ(r["tasks"].size(), 25u) << r["failures"].dump();
  std::map<std::string, int> perZone;
  for (const auto& t : r["tasks"]) {
    EXPECT_EQ(t["group"], "service:web");
    EXPECT_EQ(t["startedBy"], "ecs-svc/1234567890123456789");
    perZone[t["availabilityZone"]]++;
  }
  // The service default strategy (no placementStrategy given): spread by zone.
  EXPECT_LE(std::abs(perZone["eu-west-3a"] - perZone["eu-west-3b"]), 1);

  // DAEMON form: one task on each named instance.
  r = mustOk(launchServiceTasks(ctx(), request, 0, {a, b}));
  ASSERT_EQ(r["tasks"].size(), 2u);
  std::set<std::string> hosts;
  for (const auto& t : r["tasks"]) hosts.insert(lastSegment(t["containerInstanceArn"]));
  EXPECT_EQ(hosts, (std::set<std::string>{a, b}));
}

TEST_F(ServiceControllerTest, StopTasksForSchedulerStopsManyAndReleasesWhenNoAgentCanStopThem) {
  std::string a = registerInstance("eu-west-3a");
  std::string td = registerWeb();
  json request = deployment("ecs-svc/1", "PRIMARY", td, 30)["berth"]["launchRequest"];
  json r = mustOk(launchServiceTasks(ctx(), request, 30));
  ASSERT_EQ(r["tasks"].size(), 30u);
  std::vector<std::pair<std::string, std::string>> stops;
  for (const auto& t : r["tasks"]) stops.emplace_back(lastSegment(t["taskArn"]), "Scaling activity initiated by (deployment ecs-svc/1)");

  // Agent connected: the tasks wait for it (desiredStatus STOPPED only).
  const std::int64_t before = cache().revision();
  EXPECT_EQ(mustOk(stopTasksForScheduler(ctx(), "prod", {stops.begin(), stops.begin() + 10})), 10);
  EXPECT_EQ(cache().revision(), before + 1) << "one transaction";
  for (const auto& t : tasks()) {
    if (t["desiredStatus"] != "STOPPED") continue;
    EXPECT_EQ(t["lastStatus"], "PENDING");
    EXPECT_EQ(t["stopCode"], "ServiceSchedulerInitiated");
    EXPECT_EQ(t["stoppedReason"], "Scaling activity initiated by (deployment ecs-svc/1)");
    EXPECT_TRUE(t.contains("stoppingAt"));
  }
  // Again: already stopping, skipped.
  EXPECT_EQ(mustOk(stopTasksForScheduler(ctx(), "prod", {stops.begin(), stops.begin() + 10})), 0);

  // Agent gone and never reported: straight to STOPPED, resources back in the same commit.
  auto inst = cache().get(keys::containerInstance("prod", a));
  json doc = inst->doc;
  doc["agentConnected"] = false;
  env_->putDoc(keys::containerInstance("prod", a), doc);
  EXPECT_EQ(mustOk(stopTasksForScheduler(ctx(), "prod", {stops.begin() + 10, stops.end()})), 20);
  int stopped = 0;
  for (const auto& t : tasks()) stopped += t["lastStatus"] == "STOPPED";
  EXPECT_EQ(stopped, 20);
  json described = mustOk(describeContainerInstances(ctx(), json{{"cluster", "prod"}, {"containerInstances", {a}}}))["containerInstances"][0];
  for (const auto& res : described["remainingResources"])
    if (res["name"] == "MEMORY") EXPECT_EQ(res["integerValue"], 8192 - 10 * 256);
}

TEST_F(ServiceControllerTest, HealthyAtIsSetWhenRunningOrWhenHealthChecksPass) {
  registerInstance("eu-west-3a");
  std::string plain = registerWeb(false);
  json t = mustOk(launchServiceTasks(ctx(), deployment("ecs-svc/1", "PRIMARY", plain, 1)["berth"]["launchRequest"], 1))["tasks"][0];
  clock().advance(std::chrono::seconds(7));
  reportRunning(t);
  auto stored = cache().get(keys::task("prod", lastSegment(t["taskArn"])))->doc;
  EXPECT_EQ(stored["berth"]["healthyAt"], clock().epochSeconds());

  std::string checked = registerWeb(true);
  t = mustOk(launchServiceTasks(ctx(), deployment("ecs-svc/2", "PRIMARY", checked, 1)["berth"]["launchRequest"], 1))["tasks"][0];
  reportRunning(t);
  stored = cache().get(keys::task("prod", lastSegment(t["taskArn"])))->doc;
  EXPECT_FALSE(stored["berth"].contains("healthyAt")) << "RUNNING is not healthy while the health check has not passed";
  clock().advance(std::chrono::seconds(3));
  const double healthyTime = clock().epochSeconds();
  mustOk(submitContainerStateChange(ctx(), json{{"cluster", "prod"}, {"task", t["taskArn"]}, {"containerName", "app"},
                                                {"status", "RUNNING"}, {"healthStatus", "HEALTHY"}}));
  stored = cache().get(keys::task("prod", lastSegment(t["taskArn"])))->doc;
  EXPECT_EQ(stored["healthStatus"], "HEALTHY");
  EXPECT_EQ(stored["berth"]["healthyAt"], healthyTime);
  // First time only.
  clock().advance(std::chrono::seconds(3));
  mustOk(submitContainerStateChange(ctx(), json{{"cluster", "prod"}, {"task", t["taskArn"]}, {"containerName", "app"}, {"healthStatus", "UNHEALTHY"}}));
  mustOk(submitContainerStateChange(ctx(), json{{"cluster", "prod"}, {"task", t["taskArn"]}, {"containerName", "app"}, {"healthStatus", "HEALTHY"}}));
  EXPECT_EQ(cache().get(keys::task("prod", lastSegment(t["taskArn"])))->doc["berth"]["healthyAt"], healthyTime);
}

// --- the controller -----------------------------------------------------

class ServiceControllerRun : public ServiceControllerTest {
 protected:
  void SetUp() override {
    ServiceControllerTest::SetUp();
    controller_ = std::make_unique<ServiceController>(ctx());
  }
  void TearDown() override { controller_.reset(); }

  // Reconcile / agent step until neither changes anything (bounded), calling
  // `check` after every step.
  template <typename F>
  void convergeChecked(F check, const std::string& name = "web", int maxSteps = 200) {
    for (int i = 0; i < maxSteps; ++i) {
      clock().advance(std::chrono::seconds(1));
      const std::int64_t before = cache().revision();
      ASSERT_TRUE(controller_->reconcile("prod", name));
      check();
      const bool agentDid = agentStep(name);
      check();
      if (!agentDid && cache().revision() == before) return;
    }
    FAIL() << "did not converge";
  }
  void converge(const std::string& name = "web") {
    convergeChecked([] {}, name);
  }

  std::unique_ptr<ServiceController> controller_;
};

struct RolloutCase {
  int minPct, maxPct;
};

class ServiceRollout : public ServiceControllerRun, public ::testing::WithParamInterface<RolloutCase> {};

TEST_P(ServiceRollout, ReplacesEveryTaskWithinTheBoundsAndEndsCompleted) {
  const auto [minPct, maxPct] = GetParam();
  constexpr int kDesired = 4;
  registerInstance("eu-west-3a");
  registerInstance("eu-west-3b");
  std::string v1 = registerWeb(), v2 = registerWeb();
  putService(serviceDoc("web", kDesired, minPct, maxPct, json::array({deployment("ecs-svc/1000000000000000001", "PRIMARY", v1, kDesired)})));
  converge();
  ASSERT_EQ(counts().healthy, kDesired);
  json doc = service();
  ASSERT_EQ(doc["deployments"].size(), 1u);
  EXPECT_EQ(doc["deployments"][0]["rolloutState"], "COMPLETED");
  EXPECT_EQ(doc["runningCount"], kDesired);
  EXPECT_TRUE(hasMessage("has reached a steady state."));
  EXPECT_TRUE(hasMessage("has started"));

  // UpdateService: a new task definition → new PRIMARY, the old one ACTIVE.
  updateService("web", [&](json& d) {
    d["deployments"][0]["status"] = "ACTIVE";
    d["deployments"].insert(d["deployments"].begin(), deployment("ecs-svc/1000000000000000002", "PRIMARY", v2, kDesired));
    d["taskDefinition"] = v2;
  });
  const int minHealthy = static_cast<int>(std::ceil(kDesired * minPct / 100.0));
  const int maxTotal = kDesired * maxPct / 100;
  convergeChecked([&] {
    Counts c = counts();
    EXPECT_GE(c.healthy, minHealthy) << "lower bound broken";
    EXPECT_LE(c.notStopped, maxTotal) << "upper bound broken";
  });
  doc = service();
  ASSERT_EQ(doc["deployments"].size(), 1u) << doc["deployments"].dump();
  EXPECT_EQ(doc["deployments"][0]["id"], "ecs-svc/1000000000000000002");
  EXPECT_EQ(doc["deployments"][0]["rolloutState"], "COMPLETED");
  EXPECT_TRUE(doc["deployments"][0]["berth"].contains("launchRequest")) << "ops' fields kept";
  EXPECT_EQ(doc["berth"]["lastCompletedDeployment"]["id"], "ecs-svc/1000000000000000002");
  EXPECT_TRUE(doc["berth"]["lastCompletedDeployment"]["berth"].contains("launchRequest"));
  int v2Running = 0;
  for (const auto& t : tasks())
    if (t["lastStatus"] == "RUNNING") {
      EXPECT_EQ(t["taskDefinitionArn"], v2);
      ++v2Running;
    }
  EXPECT_EQ(v2Running, kDesired);
  EXPECT_TRUE(hasMessage("has stopped"));
  EXPECT_LE(doc["events"].size(), scheduler::kMaxServiceEvents);

  // Converged: another pass writes nothing.
  const std::int64_t rev = cache().revision();
  controller_->reconcile("prod", "web");
  EXPECT_EQ(cache().revision(), rev);
}

INSTANTIATE_TEST_SUITE_P(Bounds, ServiceRollout,
                         ::testing::Values(RolloutCase{100, 200}, RolloutCase{50, 200}, RolloutCase{0, 100}),
                         [](const auto& info) {
                           return "min" + std::to_string(info.param.minPct) + "max" + std::to_string(info.param.maxPct);
                         });

TEST_F(ServiceControllerRun, CircuitBreakerFailsTheDeploymentAndRollsBack) {
  registerInstance("eu-west-3a");
  std::string v1 = registerWeb(), v2 = registerWeb();
  putService(serviceDoc("web", 2, 100, 200, json::array({deployment("ecs-svc/1000000000000000001", "PRIMARY", v1, 2)}), true));
  converge();
  ASSERT_EQ(counts().healthy, 2);
  std::set<std::string> oldTasks;
  for (const auto& t : tasks())
    if (t["lastStatus"] == "RUNNING") oldTasks.insert(t["taskArn"]);

  updateService("web", [&](json& d) {
    d["deployments"][0]["status"] = "ACTIVE";
    d["deployments"].insert(d["deployments"].begin(), deployment("ecs-svc/1000000000000000002", "PRIMARY", v2, 2));
    d["taskDefinition"] = v2;
  });
  // Every new task fails to pull its image.
  for (int i = 0; i < 100 && service()["deployments"][0]["rolloutState"] != "FAILED" &&
                  service()["deployments"][0]["id"] == "ecs-svc/1000000000000000002";
       ++i) {
    clock().advance(std::chrono::seconds(30));
    controller_->reconcile("prod", "web");
    for (const auto& t : tasks())
      if (t["startedBy"] == "ecs-svc/1000000000000000002" && t["lastStatus"] == "PENDING") reportPullFailure(t);
  }
  clock().advance(std::chrono::seconds(30));
  controller_->reconcile("prod", "web");
  json doc = service();
  EXPECT_TRUE(hasMessage("(service web) rolling back to deployment ecs-svc/1000000000000000001.")) << doc["events"].dump(1);
  // Rolled back: the COMPLETED deployment is PRIMARY again, with its launch request.
  ASSERT_FALSE(doc["deployments"].empty());
  EXPECT_EQ(doc["deployments"][0]["id"], "ecs-svc/1000000000000000001") << doc["deployments"].dump(1);
  EXPECT_TRUE(doc["deployments"][0]["berth"].contains("launchRequest"));
  EXPECT_EQ(doc["taskDefinition"], v1);
  bool sawFailed = false;
  for (const auto& e : sink_.events)
    if (e["detail-type"] == "ECS Deployment State Change" && e["detail"]["eventName"] == "SERVICE_DEPLOYMENT_FAILED") {
      sawFailed = true;
      EXPECT_EQ(e["detail"]["deploymentId"], "ecs-svc/1000000000000000002");
      EXPECT_EQ(e["detail"]["reason"], "ECS deployment circuit breaker: task failed to start.");
    }
  EXPECT_TRUE(sawFailed);
  int failedNew = 0;
  for (const auto& t : tasks()) failedNew += t["startedBy"] == "ecs-svc/1000000000000000002" && t["stopCode"] == "TaskFailedToStart";
  EXPECT_GE(failedNew, scheduler::circuitBreakerThreshold(2));
  // The old tasks kept running throughout; the rollback completes.
  converge();
  EXPECT_EQ(service()["deployments"].size(), 1u);
  EXPECT_EQ(service()["deployments"][0]["rolloutState"], "COMPLETED");
  for (const auto& arn : oldTasks)
    EXPECT_EQ(cache().get(keys::task("prod", lastSegment(arn)))->doc["lastStatus"], "RUNNING");
  EXPECT_EQ(counts().healthy, 2);
}

TEST_F(ServiceControllerRun, ReplacesATaskThatExits) {
  registerInstance("eu-west-3a");
  std::string v1 = registerWeb();
  putService(serviceDoc("web", 3, 100, 200, json::array({deployment("ecs-svc/1", "PRIMARY", v1, 3)})));
  converge();
  ASSERT_EQ(counts().healthy, 3);
  json victim = tasks()[0];
  reportStopped(victim, 1);
  EXPECT_EQ(counts().healthy, 2);
  converge();
  EXPECT_EQ(counts().healthy, 3);
  EXPECT_EQ(static_cast<int>(tasks().size()), 4);
  EXPECT_EQ(service()["runningCount"], 3);
}

TEST_F(ServiceControllerRun, DrainingAnInstanceMovesItsTasksWithinMinimumHealthy) {
  std::string a = registerInstance("eu-west-3a");
  putService(serviceDoc("web", 4, 50, 100, json::array({deployment("ecs-svc/1", "PRIMARY", registerWeb(), 4)})));
  converge();
  ASSERT_EQ(counts().healthy, 4);
  std::string b = registerInstance("eu-west-3b");
  mustOk(updateContainerInstancesState(ctx(), json{{"cluster", "prod"}, {"containerInstances", {a}}, {"status", "DRAINING"}}));
  convergeChecked([&] {
    EXPECT_GE(counts().healthy, 2);
    EXPECT_LE(counts().notStopped, 4);
  });
  EXPECT_EQ(counts().healthy, 4);
  for (const auto& t : tasks())
    if (t["lastStatus"] == "RUNNING") EXPECT_EQ(lastSegment(t["containerInstanceArn"]), b);
}

TEST_F(ServiceControllerRun, DaemonRunsOneTaskPerActiveInstance) {
  std::string a = registerInstance("eu-west-3a"), b = registerInstance("eu-west-3b");
  // Not for instances marked role=batch.
  registerInstance("eu-west-3a", 4096, 8192, json::array({{{"name", "role"}, {"value", "batch"}}}));
  json dep = deployment("ecs-svc/1", "PRIMARY", registerWeb(), 0, "agent",
                        json::array({{{"type", "memberOf"}, {"expression", "attribute:role != batch"}}}));
  putService(serviceDoc("agent", 0, 0, 100, json::array({dep}), false, "DAEMON"));
  converge("agent");
  auto hosts = [&] {
    std::multiset<std::string> out;
    for (const auto& t : tasks("agent"))
      if (t["lastStatus"] != "STOPPED" && t["desiredStatus"] == "RUNNING") out.insert(lastSegment(t["containerInstanceArn"]));
    return out;
  };
  EXPECT_EQ(hosts(), (std::multiset<std::string>{a, b}));
  EXPECT_EQ(service("agent")["desiredCount"], 2);

  std::string c = registerInstance("eu-west-3c");
  converge("agent");
  EXPECT_EQ(hosts(), (std::multiset<std::string>{a, b, c}));

  mustOk(updateContainerInstancesState(ctx(), json{{"cluster", "prod"}, {"containerInstances", {b}}, {"status", "DRAINING"}}));
  converge("agent");
  EXPECT_EQ(hosts(), (std::multiset<std::string>{a, c}));
  EXPECT_EQ(service("agent")["desiredCount"], 2);
}

TEST_F(ServiceControllerRun, DeletedServiceStopsEverythingThenBecomesInactive) {
  registerInstance("eu-west-3a");
  putService(serviceDoc("web", 3, 100, 200, json::array({deployment("ecs-svc/1", "PRIMARY", registerWeb(), 3)})));
  converge();
  ASSERT_EQ(counts().healthy, 3);
  updateService("web", [](json& d) {
    d["status"] = "DRAINING";
    d["desiredCount"] = 0;
  });
  converge();
  EXPECT_EQ(counts().notStopped, 0);
  EXPECT_EQ(service()["status"], "INACTIVE");
  // INACTIVE: left alone.
  const std::int64_t rev = cache().revision();
  EXPECT_TRUE(controller_->reconcile("prod", "web"));
  EXPECT_EQ(cache().revision(), rev);
  EXPECT_FALSE(controller_->reconcile("prod", "nope"));
}

TEST_F(ServiceControllerRun, FullClusterGivesUnableToPlaceOncePerMinute) {
  std::string a = registerInstance("eu-west-3a", 4096, 600);  // room for two 256 MiB tasks
  putService(serviceDoc("web", 4, 100, 200, json::array({deployment("ecs-svc/1", "PRIMARY", registerWeb(), 4)})));
  controller_->reconcile("prod", "web");
  EXPECT_EQ(counts().notStopped, 2);
  auto unable = [&] {
    int n = 0;
    for (const auto& m : messages()) n += m.find("was unable to place a task") != std::string::npos;
    return n;
  };
  EXPECT_EQ(unable(), 1);
  EXPECT_TRUE(hasMessage("(container-instance " + a + ")"));
  clock().advance(std::chrono::seconds(10));
  controller_->reconcile("prod", "web");
  EXPECT_EQ(unable(), 1) << "at most one a minute";
  clock().advance(std::chrono::seconds(61));
  controller_->reconcile("prod", "web");
  EXPECT_EQ(unable(), 2);
  bool notified = false;
  for (const auto& e : sink_.events)
    if (e["detail"].value("eventName", "") == "SERVICE_TASK_PLACEMENT_FAILURE") {
      notified = true;
      EXPECT_EQ(e["detail"]["eventType"], "ERROR");
      EXPECT_EQ(e["detail"]["reason"], "RESOURCE:MEMORY");
    }
  EXPECT_TRUE(notified);
}

// The same path through the API the user calls (service_ops), not hand-written documents.
TEST_F(ServiceControllerRun, ServicesCreatedUpdatedAndDeletedThroughTheApi) {
  registerInstance("eu-west-3a");
  registerInstance("eu-west-3b");
  std::string v1 = registerWeb(), v2 = registerWeb();
  mustOk(createService(ctx(), json{{"cluster", "prod"}, {"serviceName", "web"}, {"taskDefinition", v1}, {"desiredCount", 3}}),
         "CreateService");
  converge();
  json described = mustOk(describeServices(ctx(), json{{"cluster", "prod"}, {"services", {"web"}}}))["services"][0];
  EXPECT_EQ(described["runningCount"], 3);
  ASSERT_EQ(described["deployments"].size(), 1u);
  EXPECT_EQ(described["deployments"][0]["rolloutState"], "COMPLETED");
  std::map<std::string, int> perZone;
  for (const auto& t : tasks()) perZone[t["availabilityZone"]]++;
  EXPECT_EQ(perZone.size(), 2u) << "spread across zones";

  mustOk(control::updateService(ctx(), json{{"cluster", "prod"}, {"service", "web"}, {"taskDefinition", v2}}), "UpdateService");
  convergeChecked([&] {
    EXPECT_GE(counts().healthy, 3);
    EXPECT_LE(counts().notStopped, 6);
  });
  described = mustOk(describeServices(ctx(), json{{"cluster", "prod"}, {"services", {"web"}}}))["services"][0];
  ASSERT_EQ(described["deployments"].size(), 1u);
  EXPECT_EQ(described["deployments"][0]["taskDefinition"], v2);
  EXPECT_EQ(described["deployments"][0]["rolloutState"], "COMPLETED");
  EXPECT_FALSE(described["deployments"][0].contains("berth"));

  mustOk(deleteService(ctx(), json{{"cluster", "prod"}, {"service", "web"}, {"force", true}}), "DeleteService");
  converge();
  EXPECT_EQ(counts().notStopped, 0);
  EXPECT_EQ(mustOk(describeServices(ctx(), json{{"cluster", "prod"}, {"services", {"web"}}}))["services"][0]["status"], "INACTIVE");
}

TEST_F(ServiceControllerRun, BackgroundThreadDeploysAThousandTasksQuickly) {
  for (int i = 0; i < 20; ++i) registerInstance(i % 2 ? "eu-west-3a" : "eu-west-3b", 16384, 65536);
  putService(serviceDoc("big", 1000, 100, 200, json::array({deployment("ecs-svc/1", "PRIMARY", registerWeb(), 1000, "big")})));
  ServiceControllerOptions options;
  options.resyncInterval = std::chrono::milliseconds(50);
  controller_ = std::make_unique<ServiceController>(ctx(), options);
  const auto start = std::chrono::steady_clock::now();
  controller_->start();
  while (counts("big").notStopped < 1000 && std::chrono::steady_clock::now() - start < std::chrono::seconds(20))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  EXPECT_EQ(counts("big").notStopped, 1000);
  EXPECT_LT(elapsed.count(), 10000);
  std::cout << "[ measured ] 1,000 service tasks launched in " << elapsed.count() << " ms" << std::endl;
  // Settled: resyncs (every 50 ms) find nothing to do and write nothing, so
  // the controller's own writes do not keep waking it.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::int64_t settled = cache().revision();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(cache().revision(), settled);
  // The agent starts everything: the thread notices and reaches a steady state.
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& t : tasks("big")) reportRunning(t);
  while (service("big")["deployments"][0]["rolloutState"] != "COMPLETED" &&
         std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  controller_->stop();
  EXPECT_EQ(service("big")["deployments"][0]["rolloutState"], "COMPLETED");
  EXPECT_EQ(service("big")["runningCount"], 1000);
}

}  // namespace
}  // namespace berth::control
