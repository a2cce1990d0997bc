#include "control/instance_tasks.h"

#include <gtest/gtest.h>

#include <mutex>
#include <tuple>
#include <utility>

#include "control/keys.h"
#include "control/testing/ecs_fixture.h"

namespace berth::control {
namespace {

using nlohmann::json;

json taskOn(const std::string& cluster, const std::string& instanceId, const std::string& lastStatus = "PENDING") {
  return json{{"lastStatus", lastStatus}, {"berth", {{"cluster", cluster}, {"instanceId", instanceId}}}};
}
json instance(const std::string& arn, const std::string& status, bool connected = true) {
  return json{{"containerInstanceArn", arn}, {"status", status}, {"agentConnected", connected}};
}

class InstanceTasksTest : public test::EcsFixture {
 protected:
  using Call = std::tuple<std::string, std::string, std::int64_t>;
  void listen(InstanceTasks& index) {
    index.setListener([this](const std::string& c, const std::string& i, std::int64_t rev) {
      std::lock_guard lock(mu_);
      calls_.emplace_back(c, i, rev);
    });
  }
  std::vector<Call> takeCalls() {
    std::lock_guard lock(mu_);
    return std::exchange(calls_, {});
  }
  std::mutex mu_;
  std::vector<Call> calls_;
};

TEST_F(InstanceTasksTest, ReplaysExistingTasksAndFollowsNewOnes) {
  const std::int64_t r1 = env_->putDoc(keys::task("prod", "t2"), taskOn("prod", "i1"));
  env_->putDoc(keys::task("prod", "t9"), taskOn("prod", "i2"));
  env_->putDoc(keys::task("prod", "t0"), json{{"lastStatus", "PENDING"}});  // not placed: not indexed
  InstanceTasks index(cache());
  EXPECT_EQ(index.tasksOf("prod", "i1").taskKeys, std::vector<std::string>{keys::task("prod", "t2")});
  EXPECT_EQ(index.latestRevision("prod", "i1"), r1);
  listen(index);
  const std::int64_t r2 = env_->putDoc(keys::task("prod", "t1"), taskOn("prod", "i1"));
  auto set = index.tasksOf("prod", "i1");
  EXPECT_EQ(set.taskKeys, (std::vector<std::string>{keys::task("prod", "t1"), keys::task("prod", "t2")}));  // key order
  EXPECT_EQ(set.latestRevision, r2);
  EXPECT_EQ(takeCalls(), (std::vector<Call>{{"prod", "i1", r2}}));
  // Another cluster with the same instance id is another instance.
  EXPECT_TRUE(index.tasksOf("other", "i1").taskKeys.empty());
  EXPECT_EQ(index.latestRevision("nope", "nope"), 0);
}

TEST_F(InstanceTasksTest, UpdatesAndMovesAreChangesButDeletionsAreNot) {
  InstanceTasks index(cache());
  listen(index);
  env_->putDoc(keys::task("prod", "t1"), taskOn("prod", "i1"));
  const std::int64_t stopped = env_->putDoc(keys::task("prod", "t1"), taskOn("prod", "i1", "STOPPED"));
  EXPECT_EQ(index.latestRevision("prod", "i1"), stopped);
  takeCalls();
  // Moved (not something Berth does, but the index must not keep a stale key).
  const std::int64_t moved = env_->putDoc(keys::task("prod", "t1"), taskOn("prod", "i2"));
  EXPECT_TRUE(index.tasksOf("prod", "i1").taskKeys.empty());
  EXPECT_EQ(index.latestRevision("prod", "i1"), moved);
  EXPECT_EQ(index.tasksOf("prod", "i2").taskKeys.size(), 1u);
  EXPECT_EQ(takeCalls(), (std::vector<Call>{{"prod", "i1", moved}, {"prod", "i2", moved}}));
  env_->deleteKey(keys::task("prod", "t1"));  // reaped
  EXPECT_TRUE(index.tasksOf("prod", "i2").taskKeys.empty());
  EXPECT_EQ(index.latestRevision("prod", "i2"), moved);
  EXPECT_TRUE(takeCalls().empty());
}

TEST_F(InstanceTasksTest, MirrorsTheInstanceAndReportsOnlyStatusChanges) {
  InstanceTasks index(cache());
  listen(index);
  const std::string key = keys::containerInstance("prod", "i1");
  const std::int64_t registered = env_->putDoc(key, instance("arn:i1", "ACTIVE"));
  auto v = index.views("prod", {"i1", "i2"});
  ASSERT_EQ(v.size(), 2u);
  EXPECT_TRUE(v[0].registered);
  EXPECT_EQ(v[0].arn, "arn:i1");
  EXPECT_EQ(v[0].status, "ACTIVE");
  EXPECT_TRUE(v[0].agentConnected);
  EXPECT_FALSE(v[1].registered);
  EXPECT_EQ(takeCalls(), (std::vector<Call>{{"prod", "i1", registered}}));
  env_->putDoc(key, instance("arn:i1", "ACTIVE", false));  // liveness only: no wake-up
  EXPECT_FALSE(index.views("prod", {"i1"})[0].agentConnected);
  EXPECT_TRUE(takeCalls().empty());
  const std::int64_t gone = env_->putDoc(key, instance("arn:i1", "INACTIVE", false));
  EXPECT_EQ(index.views("prod", {"i1"})[0].status, "INACTIVE");
  EXPECT_EQ(takeCalls(), (std::vector<Call>{{"prod", "i1", gone}}));
  env_->deleteKey(key);
  EXPECT_FALSE(index.views("prod", {"i1"})[0].registered);
}

TEST_F(InstanceTasksTest, OutlivedByTheCacheWithoutHarm) {
  {
    InstanceTasks index(cache());
    listen(index);
  }
  env_->putDoc(keys::task("prod", "t1"), taskOn("prod", "i1"));  // observer still registered, listener gone
  EXPECT_TRUE(takeCalls().empty());
}

}  // namespace
}  // namespace berth::control
