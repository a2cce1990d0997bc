#include "control/cluster_ops.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "control/keys.h"
#include "control/testing/ecs_fixture.h"

namespace berth::control {
namespace {

using nlohmann::json;
using test::mustOk;

const std::string kArnPrefix = "arn:aws:ecs:eu-west-3:123456789012:cluster/";

json zeroStatistics() {
  json out = json::array();
  for (const char* n : {"runningEC2TasksCount", "runningFargateTasksCount", "pendingEC2TasksCount",
                        "pendingFargateTasksCount", "activeEC2ServiceCount", "activeFargateServiceCount",
                        "drainingEC2ServiceCount", "drainingFargateServiceCount"})
    out.push_back({{"name", n}, {"value", "0"}});
  return out;
}

std::string statistic(const json& cluster, const std::string& name) {
  for (const auto& s : cluster.at("statistics"))
    if (s["name"] == name) return s["value"].get<std::string>();
  ADD_FAILURE() << "no statistic " << name;
  return "";
}

class ClusterOpsTest : public test::EcsFixture {
 protected:
  json create(const json& request) { return mustOk(createCluster(ctx(), request), "CreateCluster"); }
  json createNamed(const std::string& name) { return create(json{{"clusterName", name}}); }

  json describeOne(const std::string& ref, const json& include = json::array()) {
    auto r = mustOk(describeClusters(ctx(), json{{"clusters", {ref}}, {"include", include}}), "DescribeClusters");
    EXPECT_EQ(r["clusters"].size(), 1u) << r.dump();
    return r["clusters"].empty() ? json() : r["clusters"][0];
  }

  ErrorCode failCode(const Result<json>& r) {
    EXPECT_FALSE(r.ok());
    return r.ok() ? ErrorCode::kInternal : r.error().code;
  }

  // Objects other components own, written the way they will store them.
  void putService(const std::string& cluster, const std::string& id, const std::string& status,
                  const std::string& launchType = "EC2") {
    env_->putDoc(keys::clusterScoped(keys::kServices, cluster) + id,
                 {{"serviceName", id}, {"status", status}, {"launchType", launchType}});
  }
  void putTask(const std::string& cluster, const std::string& id, const std::string& lastStatus,
               const std::string& launchType = "EC2") {
    env_->putDoc(keys::clusterScoped(keys::kTasks, cluster) + id,
                 {{"taskArn", id}, {"lastStatus", lastStatus}, {"desiredStatus", "RUNNING"}, {"launchType", launchType}});
  }
  void putInstance(const std::string& cluster, const std::string& id) {
    env_->putDoc(keys::clusterScoped(keys::kContainerInstances, cluster) + id, {{"status", "ACTIVE"}});
  }
};

TEST_F(ClusterOpsTest, CreateReturnsEveryFieldWithDefaults) {
  json r = createNamed("prod");
  json expected = {{"cluster",
                    {{"clusterArn", kArnPrefix + "prod"},
                     {"clusterName", "prod"},
                     {"status", "ACTIVE"},
                     {"registeredContainerInstancesCount", 0},
                     {"runningTasksCount", 0},
                     {"pendingTasksCount", 0},
                     {"activeServicesCount", 0},
                     {"capacityProviders", json::array()},
                     {"defaultCapacityProviderStrategy", json::array()},
                     {"statistics", zeroStatistics()},
                     {"tags", json::array()},
                     {"settings", json::array({{{"name", "containerInsights"}, {"value", "disabled"}}})},
                     {"attachments", json::array()}}}};
  EXPECT_EQ(r, expected) << r.dump(2);
  // Durable, and visible to describe.
  auto stored = store().get(keys::cluster("prod"));
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ(json::parse((*stored)->value)["clusterArn"], kArnPrefix + "prod");
  EXPECT_EQ(describeOne("prod")["status"], "ACTIVE");
}

TEST_F(ClusterOpsTest, CreateWithoutNameCreatesDefault) {
  json r = create(json::object());
  EXPECT_EQ(r["cluster"]["clusterName"], "default");
  EXPECT_EQ(r["cluster"]["clusterArn"], kArnPrefix + "default");
  // DescribeClusters with no clusters describes "default".
  auto d = mustOk(describeClusters(ctx(), json::object()));
  ASSERT_EQ(d["clusters"].size(), 1u);
  EXPECT_EQ(d["clusters"][0]["clusterName"], "default");
  EXPECT_TRUE(d["failures"].empty());
}

TEST_F(ClusterOpsTest, CreateIsIdempotent) {
  json first = create(json{{"clusterName", "prod"}, {"tags", {{{"key", "team"}, {"value", "a"}}}}});
  std::int64_t rev = store().currentRevision();
  // Same name again with other arguments: the existing cluster comes back unchanged, nothing is written.
  json second = create(json{{"clusterName", "prod"},
                            {"tags", {{{"key", "team"}, {"value", "b"}}}},
                            {"settings", {{{"name", "containerInsights"}, {"value", "enabled"}}}}});
  EXPECT_EQ(second, first);
  EXPECT_EQ(second["cluster"]["tags"], json::array({{{"key", "team"}, {"value", "a"}}}));
  EXPECT_EQ(store().currentRevision(), rev);
}

TEST_F(ClusterOpsTest, CreateAfterDeleteMakesANewActiveCluster) {
  create(json{{"clusterName", "prod"}, {"tags", {{{"key", "old"}, {"value", "1"}}}}});
  mustOk(deleteCluster(ctx(), json{{"cluster", "prod"}}));
  json again = createNamed("prod");
  EXPECT_EQ(again["cluster"]["status"], "ACTIVE");
  EXPECT_EQ(again["cluster"]["tags"], json::array());
  EXPECT_EQ(describeOne("prod")["status"], "ACTIVE");
}

TEST_F(ClusterOpsTest, CreateRejectsInvalidNames) {
  for (const std::string& bad : {std::string(""), std::string("a b"), std::string("a/b"), std::string("a.b"),
                                 std::string("a:b"), std::string("ünï"), std::string(256, 'c')}) {
    auto r = createCluster(ctx(), json{{"clusterName", bad}});
    EXPECT_EQ(failCode(r), ErrorCode::kInvalidParameter) << bad;
  }
  EXPECT_EQ(cache().countPrefix(std::string(keys::kClusters)), 0u);
  for (const std::string& good : {std::string(255, 'c'), std::string("A-z_09"), std::string("-"), std::string("_")})
    EXPECT_TRUE(createCluster(ctx(), json{{"clusterName", good}}).ok()) << good;
}

TEST_F(ClusterOpsTest, CreateSettings) {
  json r = create(json{{"clusterName", "ins"}, {"settings", {{{"name", "containerInsights"}, {"value", "enabled"}}}}});
  EXPECT_EQ(r["cluster"]["settings"], json::array({{{"name", "containerInsights"}, {"value", "enabled"}}}));
  // The same name twice: the last value wins, still one entry.
  json twice = create(json{{"clusterName", "twice"},
                           {"settings",
                            {{{"name", "containerInsights"}, {"value", "enabled"}},
                             {{"name", "containerInsights"}, {"value", "enhanced"}}}}});
  EXPECT_EQ(twice["cluster"]["settings"], json::array({{{"name", "containerInsights"}, {"value", "enhanced"}}}));

  EXPECT_EQ(failCode(createCluster(ctx(), json{{"clusterName", "x"},
                                              {"settings", {{{"name", "insights"}, {"value", "enabled"}}}}})),
            ErrorCode::kInvalidParameter);
  EXPECT_EQ(failCode(createCluster(ctx(), json{{"clusterName", "x"},
                                              {"settings", {{{"name", "containerInsights"}, {"value", "on"}}}}})),
            ErrorCode::kInvalidParameter);
  EXPECT_FALSE(cache().get(keys::cluster("x")).has_value());
}

TEST_F(ClusterOpsTest, CreateCapacityProvidersAndStrategy) {
  json r = create(json{{"clusterName", "cp"},
                       {"capacityProviders", {"FARGATE", "FARGATE_SPOT", "FARGATE"}},
                       {"defaultCapacityProviderStrategy",
                        {{{"capacityProvider", "FARGATE"}, {"weight", 1}, {"base", 2}},
                         {{"capacityProvider", "FARGATE_SPOT"}, {"weight", 4}}}}});
  const json& c = r["cluster"];
  EXPECT_EQ(c["capacityProviders"], json::array({"FARGATE", "FARGATE_SPOT"}));  // duplicates collapse
  EXPECT_EQ(c["defaultCapacityProviderStrategy"],
            json::parse(R"([{"capacityProvider":"FARGATE","weight":1,"base":2},
                            {"capacityProvider":"FARGATE_SPOT","weight":4,"base":0}])"));
  EXPECT_EQ(c["attachmentsStatus"], "UPDATE_COMPLETE");

  auto bad = [&](const json& extra) {
    json req = {{"clusterName", "bad"}};
    req.update(extra);
    return failCode(createCluster(ctx(), req));
  };
  EXPECT_EQ(bad({{"capacityProviders", {"MY_ASG_PROVIDER"}}}), ErrorCode::kInvalidParameter);
  // A strategy may only name the cluster's providers.
  EXPECT_EQ(bad({{"defaultCapacityProviderStrategy", {{{"capacityProvider", "FARGATE"}, {"weight", 1}}}}}),
            ErrorCode::kInvalidParameter);
  EXPECT_EQ(bad({{"capacityProviders", {"FARGATE"}},
                 {"defaultCapacityProviderStrategy", {{{"capacityProvider", "FARGATE"}, {"weight", 1001}}}}}),
            ErrorCode::kInvalidParameter);
  EXPECT_EQ(bad({{"capacityProviders", {"FARGATE"}},
                 {"defaultCapacityProviderStrategy", {{{"capacityProvider", "FARGATE"}, {"weight", -1}}}}}),
            ErrorCode::kInvalidParameter);
  EXPECT_EQ(bad({{"capacityProviders", {"FARGATE"}},
                 {"defaultCapacityProviderStrategy", {{{"capacityProvider", "FARGATE"}, {"base", 100001}}}}}),
            ErrorCode::kInvalidParameter);
  EXPECT_EQ(bad({{"capacityProviders", {"FARGATE", "FARGATE_SPOT"}},
                 {"defaultCapacityProviderStrategy",
                  {{{"capacityProvider", "FARGATE"}, {"base", 1}}, {{"capacityProvider", "FARGATE_SPOT"}, {"base", 1}}}}}),
            ErrorCode::kInvalidParameter);
  EXPECT_FALSE(cache().get(keys::cluster("bad")).has_value());
  // Bounds are inclusive.
  EXPECT_TRUE(createCluster(ctx(), json{{"clusterName", "edge"},
                                        {"capacityProviders", {"FARGATE"}},
                                        {"defaultCapacityProviderStrategy",
                                         {{{"capacityProvider", "FARGATE"}, {"weight", 1000}, {"base", 100000}}}}})
                  .ok());
}

TEST_F(ClusterOpsTest, CreateStoresTagsConfigurationAndServiceConnectDefaults) {
  json config = {{"executeCommandConfiguration", {{"logging", "DEFAULT"}}}};
  json r = create(json{{"clusterName", "full"},
                       {"tags", {{{"key", "env"}, {"value", "prod"}}, {{"key", "team"}}}},
                       {"configuration", config},
                       {"serviceConnectDefaults", {{"namespace", "ns"}}}});
  EXPECT_EQ(r["cluster"]["tags"], json::parse(R"([{"key":"env","value":"prod"},{"key":"team","value":""}])"));
  EXPECT_EQ(r["cluster"]["configuration"], config);
  EXPECT_EQ(r["cluster"]["serviceConnectDefaults"], (json{{"namespace", "ns"}}));
  EXPECT_EQ(describeOne("full", {"TAGS"})["tags"], r["cluster"]["tags"]);
  EXPECT_EQ(describeOne("full", {"CONFIGURATIONS"})["configuration"], config);

  EXPECT_EQ(failCode(createCluster(ctx(), json{{"clusterName", "t"}, {"tags", {{{"key", "aws:x"}, {"value", "1"}}}}})),
            ErrorCode::kInvalidParameter);
}

TEST_F(ClusterOpsTest, DescribeIncludeVariants) {
  create(json{{"clusterName", "prod"}, {"tags", {{{"key", "k"}, {"value", "v"}}}}});
  json plain = describeOne("prod");
  std::set<std::string> plainKeys;
  for (auto& [k, v] : plain.items()) plainKeys.insert(k);
  EXPECT_EQ(plainKeys, (std::set<std::string>{"clusterArn", "clusterName", "status",
                                              "registeredContainerInstancesCount", "runningTasksCount",
                                              "pendingTasksCount", "activeServicesCount", "capacityProviders",
                                              "defaultCapacityProviderStrategy"}));

  EXPECT_EQ(describeOne("prod", {"TAGS"})["tags"], json::parse(R"([{"key":"k","value":"v"}])"));
  EXPECT_FALSE(describeOne("prod", {"TAGS"}).contains("settings"));
  EXPECT_EQ(describeOne("prod", {"SETTINGS"})["settings"],
            json::parse(R"([{"name":"containerInsights","value":"disabled"}])"));
  EXPECT_EQ(describeOne("prod", {"STATISTICS"})["statistics"], zeroStatistics());
  EXPECT_EQ(describeOne("prod", {"ATTACHMENTS"})["attachments"], json::array());
  EXPECT_FALSE(describeOne("prod", {"CONFIGURATIONS"}).contains("configuration"));  // none was set
  json all = describeOne("prod", {"ATTACHMENTS", "CONFIGURATIONS", "SETTINGS", "STATISTICS", "TAGS"});
  for (const char* k : {"attachments", "settings", "statistics", "tags"}) EXPECT_TRUE(all.contains(k)) << k;

  auto bad = describeClusters(ctx(), json{{"clusters", {"prod"}}, {"include", {"EVERYTHING"}}});
  EXPECT_EQ(failCode(bad), ErrorCode::kInvalidParameter);
}

TEST_F(ClusterOpsTest, DescribeReportsMissingByNameAndArn) {
  createNamed("a");
  createNamed("b");
  json r = mustOk(describeClusters(
      ctx(), json{{"clusters",
                   {"a", "nope", kArnPrefix + "b", kArnPrefix + "gone",
                    "arn:aws:ecs:eu-west-3:123456789012:task-definition/web:1"}}}));
  ASSERT_EQ(r["clusters"].size(), 2u);
  EXPECT_EQ(r["clusters"][0]["clusterName"], "a");
  EXPECT_EQ(r["clusters"][1]["clusterName"], "b");
  EXPECT_EQ(r["failures"],
            json::parse(R"([{"arn":"arn:aws:ecs:eu-west-3:123456789012:cluster/nope","reason":"MISSING"},
                            {"arn":"arn:aws:ecs:eu-west-3:123456789012:cluster/gone","reason":"MISSING"},
                            {"arn":"arn:aws:ecs:eu-west-3:123456789012:task-definition/web:1","reason":"MISSING"}])"));
  // No default cluster yet: describing with no names reports it missing.
  json d = mustOk(describeClusters(ctx(), json::object()));
  EXPECT_TRUE(d["clusters"].empty());
  EXPECT_EQ(d["failures"], json::parse(R"([{"arn":"arn:aws:ecs:eu-west-3:123456789012:cluster/default","reason":"MISSING"}])"));
}

TEST_F(ClusterOpsTest, DescribeAcceptsAtMost100Refs) {
  createNamed("a");
  json hundred = json::array();
  for (int i = 0; i < 100; ++i) hundred.push_back(i == 0 ? "a" : "c" + std::to_string(i));
  json r = mustOk(describeClusters(ctx(), json{{"clusters", hundred}}));
  EXPECT_EQ(r["clusters"].size(), 1u);
  EXPECT_EQ(r["failures"].size(), 99u);
  hundred.push_back("a");
  EXPECT_EQ(failCode(describeClusters(ctx(), json{{"clusters", hundred}})), ErrorCode::kInvalidParameter);
}

TEST_F(ClusterOpsTest, DescribeShowsInactiveClusters) {
  createNamed("old");
  mustOk(deleteCluster(ctx(), json{{"cluster", "old"}}));
  json d = describeOne("old");
  EXPECT_EQ(d["status"], "INACTIVE");
  EXPECT_EQ(d["clusterArn"], kArnPrefix + "old");
}

TEST_F(ClusterOpsTest, ListPaginatesActiveClustersInNameOrder) {
  for (const char* n : {"delta", "alpha", "echo", "charlie", "bravo", "foxtrot", "golf"}) createNamed(n);
  mustOk(deleteCluster(ctx(), json{{"cluster", "charlie"}}));
  mustOk(deleteCluster(ctx(), json{{"cluster", "golf"}}));
  std::vector<json> expected;
  for (const char* n : {"alpha", "bravo", "delta", "echo", "foxtrot"}) expected.push_back(kArnPrefix + n);

  json all = mustOk(listClusters(ctx(), json::object()));
  EXPECT_EQ(all["clusterArns"], json(expected));
  EXPECT_FALSE(all.contains("nextToken"));

  for (int size = 1; size <= 6; ++size) {
    std::vector<json> seen;
    json req = {{"maxResults", size}};
    int pages = 0;
    while (true) {
      json page = mustOk(listClusters(ctx(), req));
      ++pages;
      EXPECT_LE(page["clusterArns"].size(), static_cast<std::size_t>(size));
      for (auto& a : page["clusterArns"]) seen.push_back(a);
      if (!page.contains("nextToken") || pages > 10) break;
      req["nextToken"] = page["nextToken"];
    }
    EXPECT_EQ(seen, expected) << "maxResults " << size;
    EXPECT_EQ(pages, (5 + size - 1) / size) << "maxResults " << size;
  }
  EXPECT_EQ(failCode(listClusters(ctx(), json{{"maxResults", 0}})), ErrorCode::kInvalidParameter);
  EXPECT_EQ(failCode(listClusters(ctx(), json{{"maxResults", 101}})), ErrorCode::kInvalidParameter);
  EXPECT_EQ(failCode(listClusters(ctx(), json{{"nextToken", "garbage!"}})), ErrorCode::kInvalidParameter);
}

TEST_F(ClusterOpsTest, UpdateClusterMergesSettingsAndConfiguration) {
  create(json{{"clusterName", "prod"}, {"tags", {{{"key", "k"}, {"value", "v"}}}}});
  json config = {{"executeCommandConfiguration", {{"logging", "OVERRIDE"}}}};
  json r = mustOk(updateCluster(ctx(), json{{"cluster", kArnPrefix + "prod"},
                                            {"settings", {{{"name", "containerInsights"}, {"value", "enabled"}}}},
                                            {"configuration", config}}));
  const json& c = r["cluster"];
  EXPECT_EQ(c["settings"], json::parse(R"([{"name":"containerInsights","value":"enabled"}])"));
  EXPECT_EQ(c["configuration"], config);
  EXPECT_EQ(c["tags"], json::parse(R"([{"key":"k","value":"v"}])"));  // untouched
  EXPECT_EQ(c["statistics"], zeroStatistics());                        // a mutation returns every field
  EXPECT_EQ(describeOne("prod", {"SETTINGS", "CONFIGURATIONS"})["configuration"], config);

  // Without settings: settings stay as they are.
  json r2 = mustOk(updateCluster(ctx(), json{{"cluster", "prod"}, {"serviceConnectDefaults", {{"namespace", "n"}}}}));
  EXPECT_EQ(r2["cluster"]["settings"], c["settings"]);
  EXPECT_EQ(r2["cluster"]["serviceConnectDefaults"], (json{{"namespace", "n"}}));
  EXPECT_EQ(r2["cluster"]["configuration"], config);

  EXPECT_EQ(failCode(updateCluster(ctx(), json{{"cluster", "prod"}, {"settings", {{{"name", "x"}, {"value", "enabled"}}}}})),
            ErrorCode::kInvalidParameter);
  EXPECT_EQ(failCode(updateCluster(ctx(), json{{"cluster", "nope"}})), ErrorCode::kClusterNotFound);
}

TEST_F(ClusterOpsTest, UpdateClusterSettings) {
  createNamed("prod");
  json r = mustOk(updateClusterSettings(
      ctx(), json{{"cluster", "prod"}, {"settings", {{{"name", "containerInsights"}, {"value", "enhanced"}}}}}));
  EXPECT_EQ(r["cluster"]["settings"], json::parse(R"([{"name":"containerInsights","value":"enhanced"}])"));
  EXPECT_EQ(describeOne("prod", {"SETTINGS"})["settings"], r["cluster"]["settings"]);
  EXPECT_EQ(failCode(updateClusterSettings(ctx(), json{{"cluster", "prod"}})), ErrorCode::kInvalidParameter);
  EXPECT_EQ(failCode(updateClusterSettings(ctx(), json{{"cluster", "prod"},
                                                      {"settings", {{{"name", "containerInsights"}, {"value", "x"}}}}})),
            ErrorCode::kInvalidParameter);
  EXPECT_EQ(failCode(updateClusterSettings(ctx(), json{{"cluster", "nope"},
                                                      {"settings", {{{"name", "containerInsights"}, {"value", "enabled"}}}}})),
            ErrorCode::kClusterNotFound);
}

TEST_F(ClusterOpsTest, DeleteMakesClusterInactive) {
  createNamed("prod");
  json r = mustOk(deleteCluster(ctx(), json{{"cluster", kArnPrefix + "prod"}}));
  EXPECT_EQ(r["cluster"]["status"], "INACTIVE");
  EXPECT_EQ(r["cluster"]["clusterName"], "prod");
  EXPECT_EQ(describeOne("prod")["status"], "INACTIVE");
  EXPECT_EQ(failCode(deleteCluster(ctx(), json{{"cluster", "prod"}})), ErrorCode::kClusterNotFound);
  EXPECT_EQ(failCode(deleteCluster(ctx(), json{{"cluster", "never"}})), ErrorCode::kClusterNotFound);
  EXPECT_EQ(failCode(deleteCluster(ctx(), json::object())), ErrorCode::kInvalidParameter);
  EXPECT_EQ(failCode(updateCluster(ctx(), json{{"cluster", "prod"}})), ErrorCode::kClusterNotFound);
  EXPECT_EQ(mustOk(listClusters(ctx(), json::object()))["clusterArns"], json::array());
}

TEST_F(ClusterOpsTest, DeleteRefusedWhileServicesAreActiveOrDraining) {
  createNamed("prod");
  putService("prod", "api", "ACTIVE");
  auto r = deleteCluster(ctx(), json{{"cluster", "prod"}});
  EXPECT_EQ(failCode(r), ErrorCode::kClusterContainsServices);
  EXPECT_EQ(describeOne("prod")["status"], "ACTIVE");
  putService("prod", "api", "DRAINING");
  EXPECT_EQ(failCode(deleteCluster(ctx(), json{{"cluster", "prod"}})), ErrorCode::kClusterContainsServices);
  putService("prod", "api", "INACTIVE");
  EXPECT_TRUE(deleteCluster(ctx(), json{{"cluster", "prod"}}).ok());
}

TEST_F(ClusterOpsTest, DeleteRefusedWhileTasksAreNotStopped) {
  createNamed("prod");
  for (const char* status : {"RUNNING", "PROVISIONING", "PENDING", "ACTIVATING", "DEACTIVATING", "STOPPING"}) {
    putTask("prod", "t1", status);
    EXPECT_EQ(failCode(deleteCluster(ctx(), json{{"cluster", "prod"}})), ErrorCode::kClusterContainsTasks) << status;
  }
  EXPECT_EQ(describeOne("prod")["status"], "ACTIVE");
  putTask("prod", "t1", "STOPPED");
  json r = mustOk(deleteCluster(ctx(), json{{"cluster", "prod"}}));
  EXPECT_EQ(r["cluster"]["status"], "INACTIVE");
}

TEST_F(ClusterOpsTest, DeleteRefusedWhileContainerInstancesAreRegistered) {
  createNamed("prod");
  putInstance("prod", "i-1");
  EXPECT_EQ(failCode(deleteCluster(ctx(), json{{"cluster", "prod"}})), ErrorCode::kClusterContainsContainerInstances);
  env_->deleteKey(keys::clusterScoped(keys::kContainerInstances, "prod") + "i-1");
  EXPECT_TRUE(deleteCluster(ctx(), json{{"cluster", "prod"}}).ok());
}

TEST_F(ClusterOpsTest, ObjectsOfAnotherClusterDoNotCount) {
  createNamed("prod");
  createNamed("prod2");
  putService("prod2", "s", "ACTIVE");
  putTask("prod2", "t", "RUNNING");
  putInstance("prod2", "i");
  json p = describeOne("prod");
  EXPECT_EQ(p["activeServicesCount"], 0);
  EXPECT_EQ(p["runningTasksCount"], 0);
  EXPECT_EQ(p["registeredContainerInstancesCount"], 0);
  EXPECT_TRUE(deleteCluster(ctx(), json{{"cluster", "prod"}}).ok());
}

TEST_F(ClusterOpsTest, CountsReflectTasksServicesAndInstances) {
  createNamed("prod");
  putTask("prod", "t1", "RUNNING");
  putTask("prod", "t2", "RUNNING");
  putTask("prod", "t3", "RUNNING", "FARGATE");
  putTask("prod", "t4", "PENDING", "FARGATE");
  putTask("prod", "t5", "PROVISIONING");
  putTask("prod", "t6", "STOPPED");
  putTask("prod", "t7", "STOPPED", "FARGATE");
  putService("prod", "s1", "ACTIVE");
  putService("prod", "s2", "ACTIVE");
  putService("prod", "s3", "ACTIVE", "FARGATE");
  putService("prod", "s4", "DRAINING", "FARGATE");
  putService("prod", "s5", "INACTIVE");
  putInstance("prod", "i1");
  putInstance("prod", "i2");
  putInstance("prod", "i3");

  json c = describeOne("prod", {"STATISTICS"});
  EXPECT_EQ(c["runningTasksCount"], 3);
  EXPECT_EQ(c["pendingTasksCount"], 2);
  EXPECT_EQ(c["activeServicesCount"], 3);
  EXPECT_EQ(c["registeredContainerInstancesCount"], 3);
  EXPECT_EQ(statistic(c, "runningEC2TasksCount"), "2");
  EXPECT_EQ(statistic(c, "runningFargateTasksCount"), "1");
  EXPECT_EQ(statistic(c, "pendingEC2TasksCount"), "1");
  EXPECT_EQ(statistic(c, "pendingFargateTasksCount"), "1");
  EXPECT_EQ(statistic(c, "activeEC2ServiceCount"), "2");
  EXPECT_EQ(statistic(c, "activeFargateServiceCount"), "1");
  EXPECT_EQ(statistic(c, "drainingEC2ServiceCount"), "0");
  EXPECT_EQ(statistic(c, "drainingFargateServiceCount"), "1");

  // Counts follow later changes.
  putTask("prod", "t1", "STOPPED");
  env_->deleteKey(keys::clusterScoped(keys::kContainerInstances, "prod") + "i3");
  json later = describeOne("prod");
  EXPECT_EQ(later["runningTasksCount"], 2);
  EXPECT_EQ(later["registeredContainerInstancesCount"], 2);
  // And the mutation responses carry them too.
  json updated = mustOk(updateCluster(ctx(), json{{"cluster", "prod"}}));
  EXPECT_EQ(updated["cluster"]["runningTasksCount"], 2);
  EXPECT_EQ(updated["cluster"]["activeServicesCount"], 3);
}

TEST_F(ClusterOpsTest, ResolveActiveCluster) {
  createNamed("prod");
  createNamed("default");
  EXPECT_EQ(mustOk(resolveActiveCluster(ctx(), json{{"cluster", "prod"}})), "prod");
  EXPECT_EQ(mustOk(resolveActiveCluster(ctx(), json{{"cluster", kArnPrefix + "prod"}})), "prod");
  EXPECT_EQ(mustOk(resolveActiveCluster(ctx(), json::object())), "default");
  EXPECT_EQ(mustOk(resolveActiveCluster(ctx(), json{{"target", "prod"}}, "target")), "prod");
  auto missing = resolveActiveCluster(ctx(), json{{"cluster", "nope"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kClusterNotFound);
  auto notCluster = resolveActiveCluster(ctx(), json{{"cluster", "arn:aws:ecs:eu-west-3:123456789012:service/prod/x"}});
  ASSERT_FALSE(notCluster.ok());
  EXPECT_EQ(notCluster.error().code, ErrorCode::kClusterNotFound);
  mustOk(deleteCluster(ctx(), json{{"cluster", "prod"}}));
  auto inactive = resolveActiveCluster(ctx(), json{{"cluster", "prod"}});
  ASSERT_FALSE(inactive.ok());
  EXPECT_EQ(inactive.error().code, ErrorCode::kClusterNotFound);
}

TEST_F(ClusterOpsTest, ConcurrentCreatesOfOneNameAgree) {
  std::vector<std::thread> threads;
  std::vector<json> results(8);
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      results[i] = mustOk(createCluster(ctx(), json{{"clusterName", "race"}, {"tags", {{{"key", "t"}, {"value", std::to_string(i)}}}}}));
    });
  for (auto& t : threads) t.join();
  // Exactly one create won; every caller got that same cluster back.
  for (const auto& r : results) EXPECT_EQ(r["cluster"]["tags"], results[0]["cluster"]["tags"]);
  EXPECT_EQ(describeOne("race", {"TAGS"})["tags"], results[0]["cluster"]["tags"]);
}

}  // namespace
}  // namespace berth::control

namespace berth::control {
namespace {

TEST_F(ClusterOpsTest, ConfigurationKeepsOnlyModelMembers) {
  // Unknown members and nulls must not be stored and echoed back (found by the request fuzzer).
  auto c = create(json{{"clusterName", "cfg"},
                       {"configuration", {{"executeCommandConfiguration", {{"logging", "OVERRIDE"}, {"bogus", 1},
                                                                            {"kmsKeyId", nullptr},
                                                                            {"logConfiguration", {{"s3BucketName", "b"}, {"x", true}}}}},
                                          {"other", "y"}}},
                       {"serviceConnectDefaults", {{"namespace", "ns"}, {"extra", 2}}}})["cluster"];
  EXPECT_EQ(c["configuration"], (json{{"executeCommandConfiguration",
                                       {{"logging", "OVERRIDE"}, {"logConfiguration", {{"s3BucketName", "b"}}}}}}));
  EXPECT_EQ(c["serviceConnectDefaults"], (json{{"namespace", "ns"}}));
  auto bad = createCluster(ctx(), json{{"clusterName", "cfg2"},
                                       {"configuration", {{"executeCommandConfiguration", {{"logging", "LOUD"}}}}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidParameter);
}

}  // namespace
}  // namespace berth::control
