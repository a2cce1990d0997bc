#include "control/service_task_index.h"

#include <gtest/gtest.h>

#include "control/keys.h"
#include "control/testing/ecs_fixture.h"

namespace berth::control {
namespace {

using nlohmann::json;

json taskDoc(const std::string& id, const std::string& group, const std::string& lastStatus) {
  return {{"group", group}, {"startedBy", "ecs-svc/1"}, {"lastStatus", lastStatus}, {"desiredStatus", "RUNNING"},
          {"healthStatus", "UNKNOWN"}, {"createdAt", 10}, {"startedAt", 12},
          {"berth", {{"id", id}, {"instanceId", "i1"}, {"essential", {"app"}}, {"healthChecked", {"app"}}, {"healthyAt", 13}}}};
}

class ServiceTaskIndexTest : public test::EcsFixture {
 protected:
  std::set<ServiceKey> dirty() { return index_.waitDirty(std::chrono::milliseconds(0)); }
  ServiceTaskIndex index_{cache()};
};

TEST_F(ServiceTaskIndexTest, KeepsTheCompactTasksOfEachServiceAndMarksItDirty) {
  env_->putDoc(keys::task("prod", "t1"), taskDoc("t1", "service:web", "PENDING"));
  env_->putDoc(keys::task("prod", "t2"), taskDoc("t2", "family:web", "PENDING"));  // not a service task
  EXPECT_EQ(dirty(), (std::set<ServiceKey>{{"prod", "web"}}));
  auto tasks = index_.tasksOf({"prod", "web"});
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].id, "t1");
  EXPECT_EQ(tasks[0].deploymentId, "ecs-svc/1");
  EXPECT_EQ(tasks[0].instanceId, "i1");
  EXPECT_TRUE(tasks[0].healthChecked);
  EXPECT_EQ(tasks[0].startedAt, 12);
  EXPECT_EQ(tasks[0].healthyAt, 13);

  // A change the scheduler does not read (version) does not wake the service.
  json same = taskDoc("t1", "service:web", "PENDING");
  same["version"] = 7;
  env_->putDoc(keys::task("prod", "t1"), same);
  EXPECT_TRUE(dirty().empty());
  env_->putDoc(keys::task("prod", "t1"), taskDoc("t1", "service:web", "RUNNING"));
  EXPECT_EQ(dirty().size(), 1u);
  EXPECT_EQ(index_.tasksOf({"prod", "web"})[0].lastStatus, "RUNNING");
  env_->deleteKey(keys::task("prod", "t1"));
  EXPECT_EQ(dirty().size(), 1u);
  EXPECT_TRUE(index_.tasksOf({"prod", "web"}).empty());
}

TEST_F(ServiceTaskIndexTest, InstanceFactsWakeEveryLiveServiceOfTheCluster) {
  env_->putDoc(keys::service("prod", "a"), json{{"serviceName", "a"}, {"status", "ACTIVE"}});
  env_->putDoc(keys::service("prod", "b"), json{{"serviceName", "b"}, {"status", "DRAINING"}});
  env_->putDoc(keys::service("prod", "c"), json{{"serviceName", "c"}, {"status", "INACTIVE"}});
  env_->putDoc(keys::service("other", "d"), json{{"serviceName", "d"}, {"status", "ACTIVE"}});
  EXPECT_EQ(index_.liveServices(), (std::vector<ServiceKey>{{"other", "d"}, {"prod", "a"}, {"prod", "b"}}));
  dirty();
  json instance = {{"status", "ACTIVE"}, {"agentConnected", true}, {"attributes", json::array()}, {"remainingResources", 1}};
  env_->putDoc(keys::containerInstance("prod", "i1"), instance);  // registered
  EXPECT_EQ(dirty(), (std::set<ServiceKey>{{"prod", "a"}, {"prod", "b"}}));
  instance["remainingResources"] = 2;  // a launch: not a placement fact
  env_->putDoc(keys::containerInstance("prod", "i1"), instance);
  EXPECT_TRUE(dirty().empty());
  instance["status"] = "DRAINING";
  env_->putDoc(keys::containerInstance("prod", "i1"), instance);
  EXPECT_EQ(dirty().size(), 2u);
  instance["agentConnected"] = false;
  env_->putDoc(keys::containerInstance("prod", "i1"), instance);
  EXPECT_EQ(dirty().size(), 2u);
}

}  // namespace
}  // namespace berth::control
