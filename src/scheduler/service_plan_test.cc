#include "scheduler/service_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

namespace berth::scheduler {
namespace {

const std::string kV1 = "ecs-svc/1111111111111111111";
const std::string kV2 = "ecs-svc/2222222222222222222";
const std::string kScaleV2 = "Scaling activity initiated by (deployment " + kV2 + ")";

Deployment deployment(const std::string& id, RolloutState rollout, double createdAt = 1) {
  Deployment d;
  d.id = id;
  d.rollout = rollout;
  d.createdAt = createdAt;
  d.updatedAt = createdAt;
  return d;
}

int count(const std::vector<ServicePlan::Launch>& launches) {
  int n = 0;
  for (const auto& l : launches) n += l.count + static_cast<int>(l.instanceIds.size());
  return n;
}

bool contains(const std::vector<std::string>& events, const std::string& text) {
  return std::find(events.begin(), events.end(), text) != events.end();
}

// A service and its tasks, moved forward in fake time: plan(), apply() the
// plan the way the controller would (launches become PENDING tasks, stops set
// desiredStatus STOPPED), then advance() the tasks (PENDING → RUNNING and
// healthy, stopping → STOPPED).
class Sim {
 public:
  explicit Sim(int desired, int minPercent, int maxPercent, int instanceCount = 4) {
    in.settings.name = "web";
    in.settings.desiredCount = desired;
    in.settings.minimumHealthyPercent = minPercent;
    in.settings.maximumPercent = maxPercent;
    for (int i = 0; i < instanceCount; ++i) addInstance("i-" + std::to_string(i));
    in.now = 1000;
  }

  ServiceInstance& addInstance(const std::string& id) {
    ServiceInstance inst;
    inst.id = id;
    inst.daemonEligible = true;
    in.instances.push_back(inst);
    return in.instances.back();
  }
  ServiceInstance& instance(const std::string& id) {
    for (auto& i : in.instances)
      if (i.id == id) return i;
    throw std::runtime_error("no instance " + id);
  }

  ServiceTask& addTask(const std::string& deploymentId, const std::string& lastStatus = "RUNNING",
                       std::string instanceId = "") {
    ServiceTask t;
    t.id = "t" + std::to_string(nextTask_++);
    t.deploymentId = deploymentId;
    t.lastStatus = lastStatus;
    t.desiredStatus = lastStatus == "STOPPED" ? "STOPPED" : "RUNNING";
    t.healthStatus = "UNKNOWN";
    t.instanceId = instanceId.empty() ? leastLoadedInstance() : instanceId;
    t.createdAt = in.now - 100 + nextTask_;
    if (lastStatus == "RUNNING") t.startedAt = t.healthyAt = t.createdAt + 1;
    in.tasks.push_back(t);
    return in.tasks.back();
  }
  ServiceTask& task(const std::string& id) {
    for (auto& t : in.tasks)
      if (t.id == id) return t;
    throw std::runtime_error("no task " + id);
  }

  // A service whose deployment v1 COMPLETED with `running` healthy tasks, and a
  // new PRIMARY v2 (UpdateService) with none yet.
  void rolloutFrom(int running) {
    Deployment v1 = deployment(kV1, RolloutState::kCompleted);
    in.lastCompleted = v1;
    in.deployments = {deployment(kV2, RolloutState::kInProgress, 500), v1};
    for (int i = 0; i < running; ++i) addTask(kV1);
    in.updatedAt = 500;
  }

  ServicePlan plan() {
    last = planService(in);
    return last;
  }

  void apply(const ServicePlan& p) {
    in.deployments = p.deployments;
    in.lastCompleted = p.lastCompleted;
    in.lastSteadyStateEventAt = p.lastSteadyStateEventAt;
    in.launchesThrottledUntil = p.launchesThrottledUntil;
    in.lastStuckEventAt = p.lastStuckEventAt;
    for (const auto& s : p.stops) {
      ServiceTask& t = task(s.taskId);
      t.desiredStatus = "STOPPED";
      t.stopCode = "ServiceSchedulerInitiated";
      t.stoppedReason = s.reason;
    }
    for (const auto& l : p.launches) {
      for (int i = 0; i < l.count; ++i) addTask(l.deploymentId, "PENDING");
      for (const auto& instanceId : l.instanceIds) addTask(l.deploymentId, "PENDING", instanceId);
    }
    events.insert(events.end(), p.events.begin(), p.events.end());
  }

  // Every task moves one step; `startOnly` limits how many PENDING tasks start.
  void advance(int startOnly = 1 << 30) {
    in.now += 10;
    for (auto& t : in.tasks) {
      if (t.lastStatus == "STOPPED") continue;
      if (t.desiredStatus == "STOPPED") {
        t.lastStatus = "STOPPED";
        t.stoppedAt = in.now;
      } else if (t.lastStatus != "RUNNING" && startOnly-- > 0) {
        t.lastStatus = "RUNNING";
        t.startedAt = t.healthyAt = in.now;
        if (t.healthChecked) t.healthStatus = "HEALTHY";
      }
    }
  }

  int live() const { return countIf([](const ServiceTask& t) { return t.lastStatus != "STOPPED"; }); }
  int healthy() const {
    return countIf([](const ServiceTask& t) {
      return t.lastStatus == "RUNNING" && t.desiredStatus == "RUNNING" &&
             (!t.healthChecked || t.healthStatus == "HEALTHY");
    });
  }
  int liveOf(const std::string& dep) const {
    return countIf([&](const ServiceTask& t) { return t.deploymentId == dep && t.lastStatus != "STOPPED"; });
  }
  int minHealthy() const { return (in.settings.desiredCount * in.settings.minimumHealthyPercent + 99) / 100; }
  int maxTotal() const { return in.settings.desiredCount * in.settings.maximumPercent / 100; }

  // One round: plan, check the bounds after applying it, advance.
  // Returns {launched, stopped}.
  std::pair<int, int> step() {
    ServicePlan p = plan();
    apply(p);
    EXPECT_LE(live(), maxTotal()) << "round " << rounds_;
    EXPECT_GE(healthy(), minHealthy()) << "round " << rounds_;
    ++rounds_;
    advance();
    return {count(p.launches), static_cast<int>(p.stops.size())};
  }

  // Steps until steady; returns the {launched, stopped} of every round.
  std::vector<std::pair<int, int>> converge(int maxRounds = 20) {
    std::vector<std::pair<int, int>> history;
    while (maxRounds-- > 0) {
      history.push_back(step());
      if (last.steadyState) return history;
    }
    ADD_FAILURE() << "did not converge";
    return history;
  }

  ServiceInput in;
  ServicePlan last;
  std::vector<std::string> events;

 private:
  std::string leastLoadedInstance() const {
    std::map<std::string, int> load;
    for (const auto& i : in.instances)
      if (i.usable && !i.draining) load[i.id] = 0;  // where placement would put it
    for (const auto& t : in.tasks)
      if (t.lastStatus != "STOPPED" && load.contains(t.instanceId)) ++load[t.instanceId];
    std::string best;
    for (const auto& [id, n] : load)
      if (best.empty() || n < load[best]) best = id;
    return best;
  }
  template <class F>
  int countIf(F f) const {
    return static_cast<int>(std::count_if(in.tasks.begin(), in.tasks.end(), f));
  }
  int nextTask_ = 0;
  int rounds_ = 0;
};

using Rounds = std::vector<std::pair<int, int>>;

void expectConvergedOnV2(Sim& sim, int desired) {
  EXPECT_EQ(sim.liveOf(kV1), 0);
  EXPECT_EQ(sim.liveOf(kV2), desired);
  EXPECT_EQ(sim.healthy(), desired);
  ASSERT_EQ(sim.last.deployments.size(), 1u);
  EXPECT_EQ(sim.last.deployments[0].id, kV2);
  EXPECT_EQ(sim.last.deployments[0].rollout, RolloutState::kCompleted);
  EXPECT_EQ(sim.last.deployments[0].runningCount, desired);
  EXPECT_TRUE(sim.last.steadyState);
}

// ---- arithmetic and texts ----

TEST(CircuitBreakerThreshold, HalfOfDesiredClampedTo3And200) {
  EXPECT_EQ(circuitBreakerThreshold(1), 3);
  EXPECT_EQ(circuitBreakerThreshold(3), 3);
  EXPECT_EQ(circuitBreakerThreshold(25), 13);
  EXPECT_EQ(circuitBreakerThreshold(400), 200);
  EXPECT_EQ(circuitBreakerThreshold(0), 3);
}

TEST(ServiceMessages, StartedAndStoppedListAtMostTenIds) {
  EXPECT_EQ(startedTasksMessage("web", {"a", "b"}), "(service web) has started 2 tasks: (task a) (task b).");
  EXPECT_EQ(startedTasksMessage("web", {"a"}), "(service web) has started 1 tasks: (task a).");
  EXPECT_EQ(stoppedTasksMessage("web", {"a", "b"}),
            "(service web) has stopped 2 running tasks: (task a) (task b).");
  std::vector<std::string> twelve;
  for (int i = 0; i < 12; ++i) twelve.push_back("x" + std::to_string(i));
  std::string m = startedTasksMessage("web", twelve);
  EXPECT_TRUE(m.starts_with("(service web) has started 12 tasks: (task x0)"));
  EXPECT_TRUE(m.ends_with("(task x9).")) << m;
}

TEST(ServiceMessages, UnableToPlaceNamesTheClosestInstance) {
  const std::string head =
      "(service web) was unable to place a task because no container instance met all of its requirements. ";
  const std::string tail = " For more information, see the Troubleshooting section.";
  EXPECT_EQ(unableToPlaceMessage("web", "i-1", "RESOURCE:CPU"),
            head + "The closest matching (container-instance i-1) has insufficient CPU units available." + tail);
  EXPECT_EQ(unableToPlaceMessage("web", "i-1", "RESOURCE:MEMORY"),
            head + "The closest matching (container-instance i-1) has insufficient memory available." + tail);
  EXPECT_EQ(unableToPlaceMessage("web", "i-1", "RESOURCE:PORTS_UDP"),
            head + "The closest matching (container-instance i-1) is already using a port required by your task." + tail);
  EXPECT_EQ(unableToPlaceMessage("web", "i-1", "RESOURCE:GPU"),
            head + "The closest matching (container-instance i-1) has insufficient GPU available." + tail);
  EXPECT_EQ(unableToPlaceMessage("web", "i-1", "AGENT"),
            head + "The closest matching (container-instance i-1) encountered error \"AGENT\"." + tail);
  EXPECT_EQ(unableToPlaceMessage("web", "i-1", "ATTRIBUTE"),
            head + "The closest matching (container-instance i-1) is missing an attribute required by your task." + tail);
  EXPECT_EQ(unableToPlaceMessage("web", "", ""),
            head + "Reason: No Container Instances were found in your cluster." + tail);
}

TEST(ServiceMessages, StatusNames) {
  EXPECT_EQ(deploymentStatusName(DeploymentStatus::kPrimary), "PRIMARY");
  EXPECT_EQ(deploymentStatusName(DeploymentStatus::kActive), "ACTIVE");
  EXPECT_EQ(deploymentStatusName(DeploymentStatus::kInactive), "INACTIVE");
  EXPECT_EQ(rolloutStateName(RolloutState::kInProgress), "IN_PROGRESS");
  EXPECT_EQ(rolloutStateName(RolloutState::kCompleted), "COMPLETED");
  EXPECT_EQ(rolloutStateName(RolloutState::kFailed), "FAILED");
}

// ---- rolling updates (reference/ecs-services.md §2 worked examples) ----

TEST(RollingUpdate, Desired4Min100Max200StartsAllThenStopsOldAsNewBecomeHealthy) {
  Sim sim(4, 100, 200);
  sim.rolloutFrom(4);
  ServicePlan p = sim.plan();
  ASSERT_EQ(p.launches.size(), 1u);
  EXPECT_EQ(p.launches[0].deploymentId, kV2);
  EXPECT_EQ(p.launches[0].count, 4);
  EXPECT_TRUE(p.stops.empty());
  sim.apply(p);
  // One new task healthy → exactly one old task stops.
  sim.advance(1);
  p = sim.plan();
  EXPECT_TRUE(p.launches.empty());
  ASSERT_EQ(p.stops.size(), 1u);
  EXPECT_EQ(sim.task(p.stops[0].taskId).deploymentId, kV1);
  EXPECT_EQ(p.stops[0].reason, kScaleV2);
  sim.apply(p);
  sim.advance(2);  // two more healthy → two more old stop
  p = sim.plan();
  EXPECT_EQ(p.stops.size(), 2u);
  sim.apply(p);
  sim.advance();
  EXPECT_EQ(sim.converge(), (Rounds{{0, 1}, {0, 0}}));
  expectConvergedOnV2(sim, 4);
}

TEST(RollingUpdate, Desired4Min50Max200StartsAndStopsAtOnce) {
  Sim sim(4, 50, 200);
  sim.rolloutFrom(4);
  EXPECT_EQ(sim.converge(), (Rounds{{4, 2}, {0, 2}, {0, 0}}));
  expectConvergedOnV2(sim, 4);
}

TEST(RollingUpdate, Desired4Min0Max100StopsAllThenStarts) {
  Sim sim(4, 0, 100);
  sim.rolloutFrom(4);
  EXPECT_EQ(sim.converge(), (Rounds{{0, 4}, {4, 0}, {0, 0}}));
  expectConvergedOnV2(sim, 4);
}

TEST(RollingUpdate, Desired4Min50Max100GoesTwoAtATime) {
  Sim sim(4, 50, 100);
  sim.rolloutFrom(4);
  EXPECT_EQ(sim.converge(), (Rounds{{0, 2}, {2, 0}, {0, 2}, {2, 0}, {0, 0}}));
  expectConvergedOnV2(sim, 4);
}

TEST(RollingUpdate, Desired1Min100Max200) {
  Sim sim(1, 100, 200);
  sim.rolloutFrom(1);
  EXPECT_EQ(sim.converge(), (Rounds{{1, 0}, {0, 1}, {0, 0}}));
  expectConvergedOnV2(sim, 1);
}

TEST(RollingUpdate, Desired1Min0Max100LeavesAGap) {
  Sim sim(1, 0, 100);
  sim.rolloutFrom(1);
  EXPECT_EQ(sim.converge(), (Rounds{{0, 1}, {1, 0}, {0, 0}}));
  expectConvergedOnV2(sim, 1);
}

TEST(RollingUpdate, CompletionWritesEventNotificationAndLastCompleted) {
  Sim sim(2, 100, 200);
  sim.rolloutFrom(2);
  sim.converge();
  const std::string done = "(service web) (deployment " + kV2 + ") deployment completed.";
  EXPECT_TRUE(contains(sim.events, done));
  EXPECT_TRUE(contains(sim.events, "(service web) has reached a steady state."));
  ASSERT_TRUE(sim.last.lastCompleted.has_value());
  EXPECT_EQ(sim.last.lastCompleted->id, kV2);
  EXPECT_EQ(sim.last.deployments[0].rolloutStateReason, "ECS deployment " + kV2 + " completed.");
  // The round that completed also wrote the notification; replay it.
  Sim again(2, 100, 200);
  again.rolloutFrom(2);
  bool seen = false;
  for (int i = 0; i < 10 && !seen; ++i) {
    ServicePlan p = again.plan();
    for (const auto& n : p.notifications)
      if (n.eventName == "SERVICE_DEPLOYMENT_COMPLETED") {
        seen = true;
        EXPECT_EQ(n.kind, ServiceNotification::Kind::kDeploymentStateChange);
        EXPECT_EQ(n.eventType, "INFO");
        EXPECT_EQ(n.deploymentId, kV2);
        EXPECT_EQ(n.reason, "ECS deployment " + kV2 + " completed.");
      }
    again.apply(p);
    again.advance();
  }
  EXPECT_TRUE(seen);
}

TEST(RollingUpdate, OldDeploymentBecomesInactiveAndIsDropped) {
  Sim sim(2, 0, 100);
  sim.rolloutFrom(2);
  ServicePlan p = sim.plan();
  ASSERT_EQ(p.deployments.size(), 2u);  // v1 tasks still stopping
  EXPECT_EQ(p.deployments[1].status, DeploymentStatus::kActive);
  EXPECT_EQ(p.deployments[1].runningCount, 0);
  EXPECT_EQ(p.deployments[1].desiredCount, 0);
  sim.apply(p);
  sim.advance();
  p = sim.plan();
  ASSERT_EQ(p.deployments.size(), 1u);
  EXPECT_EQ(p.deployments[0].id, kV2);
  EXPECT_EQ(p.deployments[0].desiredCount, 2);
}

// Every combination either converges within the bounds or has no room at
// all (minHealthy == D and maxTotal == D) and says so.
TEST(RollingUpdate, EveryConfigurationConvergesOrReportsStuck) {
  for (int desired = 1; desired <= 6; ++desired) {
    for (int minPercent : {0, 25, 50, 67, 75, 100}) {
      for (int maxPercent : {100, 125, 150, 200}) {
        SCOPED_TRACE(testing::Message() << desired << " at " << minPercent << "/" << maxPercent);
        Sim sim(desired, minPercent, maxPercent);
        sim.rolloutFrom(desired);
        bool noRoom = sim.minHealthy() >= desired && sim.maxTotal() <= desired;
        if (noRoom) {
          ServicePlan p = sim.plan();
          EXPECT_TRUE(p.launches.empty() && p.stops.empty());
          EXPECT_EQ(p.lastStuckEventAt, sim.in.now);
          continue;
        }
        sim.converge();
        expectConvergedOnV2(sim, desired);
        EXPECT_EQ(sim.last.lastStuckEventAt, 0);
        for (const auto& e : sim.events) EXPECT_EQ(e.find("unable to stop or start"), std::string::npos) << e;
      }
    }
  }
}

// Random services in random states (seeded, so failures replay): a plan never
// stops a task twice or one that is not live, never launches past maxTotal,
// and its own stops never take the healthy count below minHealthy (or below
// where it already was).
TEST(PlanProperties, BoundsHoldInRandomStates) {
  std::mt19937 rng(20261122);
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const char* statuses[] = {"PENDING", "RUNNING", "RUNNING", "RUNNING", "STOPPED", "DEACTIVATING"};
  for (int iteration = 0; iteration < 2000; ++iteration) {
    SCOPED_TRACE(iteration);
    int desired = pick(8);
    Sim sim(desired, pick(5) * 25, 100 + pick(5) * 25, 1 + pick(4));
    sim.rolloutFrom(0);
    if (pick(2)) sim.in.deployments.resize(1);
    for (auto& i : sim.in.instances) {
      if (pick(6) == 0) i.usable = false, i.draining = pick(2);
    }
    int tasks = pick(12);
    for (int n = 0; n < tasks; ++n) {
      ServiceTask& t = sim.addTask(pick(2) ? kV1 : kV2, statuses[pick(6)]);
      if (t.lastStatus != "STOPPED" && pick(5) == 0) t.desiredStatus = "STOPPED";
      if (t.lastStatus == "STOPPED") t.stoppedAt = sim.in.now - pick(100);
      t.healthChecked = pick(3) == 0;
      t.healthStatus = std::vector<std::string>{"HEALTHY", "UNHEALTHY", "UNKNOWN"}[pick(3)];
    }
    bool daemon = pick(3) == 0;
    if (daemon) {
      sim.in.settings.scheduling = SchedulingStrategy::kDaemon;
      sim.in.settings.maximumPercent = 100;
      int eligible = 0;
      for (auto& i : sim.in.instances) {
        i.daemonEligible = pick(5) != 0;
        eligible += i.daemonEligible && i.usable && !i.draining;
      }
      sim.in.settings.desiredCount = eligible;  // only for Sim's bounds helpers
    }
    sim.in.settings.deleting = pick(10) == 0;
    int minHealthy = sim.in.settings.deleting ? 0 : sim.minHealthy();
    int maxTotal = sim.in.settings.deleting ? 0 : sim.maxTotal();
    // DAEMON tasks on instances they no longer belong on stop regardless of
    // the floor: the floor is about the tasks on eligible instances.
    auto healthy = [&] {
      int n = 0;
      for (const auto& t : sim.in.tasks) {
        bool counted = true;
        if (daemon) {
          auto i = std::find_if(sim.in.instances.begin(), sim.in.instances.end(),
                                [&](const ServiceInstance& x) { return x.id == t.instanceId; });
          counted = i != sim.in.instances.end() && i->daemonEligible && i->usable && !i->draining;
        }
        n += counted && t.lastStatus == "RUNNING" && t.desiredStatus == "RUNNING" &&
             (!t.healthChecked || t.healthStatus == "HEALTHY");
      }
      return n;
    };
    int liveBefore = sim.live(), healthyBefore = healthy();

    ServicePlan p = sim.plan();
    ServicePlan again = planService(sim.in);
    ASSERT_EQ(p.stops.size(), again.stops.size()) << "deterministic";
    std::set<std::string> stopped;
    for (const auto& st : p.stops) {
      EXPECT_TRUE(stopped.insert(st.taskId).second) << "stopped twice";
      const ServiceTask& t = sim.task(st.taskId);
      EXPECT_NE(t.lastStatus, "STOPPED");
      EXPECT_EQ(t.desiredStatus, "RUNNING");
    }
    if (!daemon && count(p.launches) > 0) {
      EXPECT_LE(liveBefore + count(p.launches), maxTotal);
    }
    for (const auto& l : p.launches) {
      for (const auto& instanceId : l.instanceIds) {  // DAEMON: only on a free, eligible instance
        const ServiceInstance& i = sim.instance(instanceId);
        EXPECT_TRUE(i.daemonEligible && i.usable && !i.draining);
        for (const auto& t : sim.in.tasks) EXPECT_FALSE(t.instanceId == instanceId && t.lastStatus != "STOPPED");
      }
    }
    sim.apply(p);
    EXPECT_GE(healthy(), std::min(healthyBefore, minHealthy));
  }
}

// ---- stuck configurations ----

void expectStuck(int desired, int minPercent, int maxPercent) {
  Sim sim(desired, minPercent, maxPercent);
  sim.rolloutFrom(desired);
  ServicePlan p = sim.plan();
  EXPECT_TRUE(p.launches.empty());
  EXPECT_TRUE(p.stops.empty());
  const std::string stuck =
      "(service web) was unable to stop or start tasks during a deployment because of the service "
      "deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again.";
  EXPECT_EQ(p.events, std::vector<std::string>{stuck});
  EXPECT_EQ(p.lastStuckEventAt, sim.in.now);
  sim.apply(p);
  sim.in.now += 60;
  EXPECT_TRUE(sim.plan().events.empty()) << "written once per stuck period";
  sim.in.now += kStuckReminderSeconds;
  EXPECT_EQ(sim.plan().events, std::vector<std::string>{stuck});
}

TEST(StuckDeployment, Desired2Min75Max100) { expectStuck(2, 75, 100); }
TEST(StuckDeployment, Desired3Min100Max125) { expectStuck(3, 100, 125); }

TEST(StuckDeployment, NotWhileSomethingIsInFlight) {
  Sim sim(2, 75, 100);
  sim.rolloutFrom(2);
  sim.task("t0").lastStatus = "PENDING";  // an old task still starting
  ServicePlan p = sim.plan();
  EXPECT_TRUE(p.events.empty());
  EXPECT_EQ(p.lastStuckEventAt, 0);
}

// ---- scaling without a new deployment ----

struct Steady : Sim {
  Steady(int desired, int running, int minPercent = 100, int maxPercent = 200) : Sim(desired, minPercent, maxPercent) {
    Deployment v1 = deployment(kV1, RolloutState::kCompleted);
    in.deployments = {v1};
    in.lastCompleted = v1;
    for (int i = 0; i < running; ++i) addTask(kV1);
  }
};

TEST(Scaling, ScaleOutOnlyLaunches) {
  Steady sim(4, 2);
  ServicePlan p = sim.plan();
  ASSERT_EQ(p.launches.size(), 1u);
  EXPECT_EQ(p.launches[0].count, 2);
  EXPECT_TRUE(p.stops.empty());
  EXPECT_EQ(p.deployments[0].rollout, RolloutState::kCompleted);
  EXPECT_FALSE(p.steadyState);
  sim.apply(p);
  sim.advance();
  EXPECT_TRUE(sim.plan().steadyState);
}

TEST(Scaling, ScaleInStopsNewestOnBusiestInstanceFirst) {
  Steady sim(2, 0);
  sim.addTask(kV1, "RUNNING", "i-0");  // t0, oldest
  sim.addTask(kV1, "RUNNING", "i-0");  // t1
  sim.addTask(kV1, "RUNNING", "i-1");  // t2
  sim.addTask(kV1, "RUNNING", "i-2");  // t3, newest
  ServicePlan p = sim.plan();
  EXPECT_TRUE(p.launches.empty());
  ASSERT_EQ(p.stops.size(), 2u);
  EXPECT_EQ(p.stops[0].taskId, "t1");  // busiest instance, newer of its two
  EXPECT_EQ(p.stops[1].taskId, "t3");  // then the newest
  EXPECT_EQ(p.stops[0].reason, "Scaling activity initiated by (deployment " + kV1 + ")");
  EXPECT_EQ(p.runningCount, 2);
  EXPECT_EQ(p.deployments[0].runningCount, 2);
}

TEST(Scaling, PendingExcessStopsBeforeRunning) {
  Steady sim(2, 2);
  sim.addTask(kV1, "PENDING");
  ServicePlan p = sim.plan();
  ASSERT_EQ(p.stops.size(), 1u);
  EXPECT_EQ(p.stops[0].taskId, "t2");
}

// ---- deleting ----

TEST(Deleting, StopsEverythingAndIsDrainedOnceStopped) {
  Steady sim(3, 3);
  sim.in.settings.deleting = true;
  ServicePlan p = sim.plan();
  EXPECT_TRUE(p.launches.empty());
  EXPECT_EQ(p.stops.size(), 3u);
  for (const auto& s : p.stops) EXPECT_EQ(s.reason, "Scaling activity initiated by (deployment " + kV1 + ")");
  EXPECT_EQ(p.desiredCount, 0);
  EXPECT_FALSE(p.drained);
  EXPECT_FALSE(p.steadyState);
  sim.apply(p);
  sim.advance();
  p = sim.plan();
  EXPECT_TRUE(p.drained);
  EXPECT_TRUE(p.stops.empty());
  EXPECT_TRUE(p.launches.empty());
}

// ---- replacement ----

TEST(Replacement, UnhealthyTaskStopsOnlyAfterGracePeriod) {
  Steady sim(2, 2);
  sim.in.settings.healthCheckGracePeriodSeconds = 60;
  ServiceTask& t = sim.task("t0");
  t.healthChecked = true;
  t.healthStatus = "UNHEALTHY";
  t.startedAt = sim.in.now - 30;
  ServicePlan p = sim.plan();
  EXPECT_TRUE(p.stops.empty());
  EXPECT_TRUE(p.launches.empty()) << "still counted as wanted within the grace period";
  sim.in.now += 30;
  p = sim.plan();
  ASSERT_EQ(p.stops.size(), 1u);
  EXPECT_EQ(p.stops[0].taskId, "t0");
  EXPECT_EQ(p.stops[0].reason, "Task failed container health checks");
  ASSERT_EQ(p.launches.size(), 1u);
  EXPECT_EQ(p.launches[0].count, 1);
}

TEST(Replacement, DrainingInstanceReplacedWithinMinimumHealthy) {
  Steady sim(4, 0);
  for (int i = 0; i < 4; ++i) sim.addTask(kV1, "RUNNING", "i-" + std::to_string(i));
  ServiceInstance& i0 = sim.instance("i-0");
  i0.usable = false;
  i0.draining = true;
  ServicePlan p = sim.plan();
  EXPECT_TRUE(p.stops.empty()) << "min 100%: the replacement must be healthy first";
  ASSERT_EQ(p.launches.size(), 1u);
  EXPECT_EQ(p.launches[0].count, 1);
  sim.apply(p);
  sim.advance();
  p = sim.plan();
  ASSERT_EQ(p.stops.size(), 1u);
  EXPECT_EQ(p.stops[0].taskId, "t0");
  EXPECT_EQ(p.stops[0].reason, "Task stopped because container instance i-0 is draining.");
  EXPECT_TRUE(p.launches.empty());
  sim.apply(p);
  sim.advance();
  EXPECT_TRUE(sim.plan().steadyState);
}

TEST(Replacement, PendingTaskOnLostInstanceStopsAtOnce) {
  Steady sim(2, 1);
  sim.addTask(kV1, "PENDING", "i-3");
  sim.instance("i-3").usable = false;
  ServicePlan p = sim.plan();
  ASSERT_EQ(p.stops.size(), 1u);
  EXPECT_EQ(p.stops[0].reason, "Task stopped because container instance i-3 is no longer available.");
  ASSERT_EQ(p.launches.size(), 1u);
  EXPECT_EQ(p.launches[0].count, 1);
}

// ---- circuit breaker ----

struct Breaker : Sim {
  explicit Breaker(int desired, bool rollback = false) : Sim(desired, 100, 200) {
    in.settings.circuitBreakerEnable = true;
    in.settings.circuitBreakerRollback = rollback;
    rolloutFrom(desired);
  }
  // A v2 task that stopped before ever running.
  void failToStart(double at) {
    ServiceTask& t = addTask(kV2, "STOPPED");
    t.stoppedAt = at;
    t.stopCode = "TaskFailedToStart";
    t.stoppedReason = "CannotPullContainerError: pull access denied";
  }
  void failHealthChecks(double at) {
    ServiceTask& t = addTask(kV2, "STOPPED");
    t.startedAt = at - 50;
    t.stoppedAt = at;
    t.stopCode = "ServiceSchedulerInitiated";
    t.stoppedReason = "Task failed container health checks";
  }
};

TEST(CircuitBreaker, StageOneCountsTasksThatNeverStarted) {
  Breaker sim(1);
  sim.failToStart(900);
  sim.failToStart(910);
  ServicePlan p = sim.plan();
  EXPECT_EQ(p.deployments[0].failedTasks, 2);
  EXPECT_EQ(p.deployments[0].rollout, RolloutState::kInProgress);
  sim.failToStart(920);
  p = sim.plan();
  EXPECT_EQ(p.deployments[0].failedTasks, 3);
  EXPECT_EQ(p.deployments[0].rollout, RolloutState::kFailed);
  EXPECT_EQ(p.deployments[0].rolloutStateReason, "ECS deployment circuit breaker: task failed to start.");
  EXPECT_TRUE(contains(p.events, "(service web) (deployment " + kV2 + ") deployment failed: tasks failed to start."));
  ASSERT_FALSE(p.notifications.empty());
  EXPECT_EQ(p.notifications[0].eventName, "SERVICE_DEPLOYMENT_FAILED");
  EXPECT_EQ(p.notifications[0].eventType, "ERROR");
  EXPECT_EQ(p.notifications[0].deploymentId, kV2);
  EXPECT_TRUE(p.launches.empty());
}

TEST(CircuitBreaker, StageOneStopsCountingOnceATaskRan) {
  Breaker sim(1);
  ServiceTask& ran = sim.addTask(kV2, "STOPPED");  // ran, exited, never healthy
  ran.startedAt = 800;
  ran.healthyAt = 0;
  ran.stoppedAt = 850;
  ran.stopCode = "EssentialContainerExited";
  for (double at : {900, 910, 920}) sim.failToStart(at);
  EXPECT_EQ(sim.plan().deployments[0].failedTasks, 0);
}

TEST(CircuitBreaker, HealthyTaskResetsTheCount) {
  Breaker sim(1);
  sim.failToStart(900);
  sim.failToStart(910);
  ServiceTask& ok = sim.addTask(kV2, "RUNNING");
  ok.startedAt = ok.healthyAt = 915;
  sim.failHealthChecks(930);
  ServicePlan p = sim.plan();
  EXPECT_EQ(p.deployments[0].failedTasks, 1);
  EXPECT_EQ(p.deployments[0].rollout, RolloutState::kInProgress);
}

TEST(CircuitBreaker, StageTwoCountsHealthCheckFailures) {
  Breaker sim(3);
  for (double at : {900, 910, 920}) sim.failHealthChecks(at);
  ServicePlan p = sim.plan();
  EXPECT_EQ(p.deployments[0].rollout, RolloutState::kFailed);
  EXPECT_EQ(p.deployments[0].rolloutStateReason, "ECS deployment circuit breaker: task failed health checks.");
  EXPECT_TRUE(contains(p.events, "(service web) (deployment " + kV2 + ") deployment failed: tasks failed health checks."));
}

TEST(CircuitBreaker, DisabledNeverFails) {
  Breaker sim(1);
  sim.in.settings.circuitBreakerEnable = false;
  for (double at : {900, 910, 920, 930}) sim.failToStart(at);
  ServicePlan p = sim.plan();
  EXPECT_EQ(p.deployments[0].rollout, RolloutState::kInProgress);
  EXPECT_EQ(p.deployments[0].failedTasks, 4);
}

TEST(CircuitBreaker, FailedWithoutRollbackStalls) {
  Breaker sim(2);
  sim.addTask(kV2, "PENDING");
  for (double at : {900, 910, 920}) sim.failToStart(at);
  ServicePlan p = sim.plan();
  ASSERT_EQ(p.deployments.size(), 2u);
  EXPECT_EQ(p.deployments[0].id, kV2);
  EXPECT_EQ(p.deployments[0].status, DeploymentStatus::kPrimary);
  EXPECT_EQ(p.deployments[0].rollout, RolloutState::kFailed);
  EXPECT_TRUE(p.launches.empty());
  EXPECT_TRUE(p.stops.empty()) << "old tasks keep serving";
  sim.apply(p);
  sim.in.now += 3600;
  p = sim.plan();
  EXPECT_TRUE(p.launches.empty());
  EXPECT_TRUE(p.stops.empty());
  EXPECT_TRUE(p.events.empty()) << "no second failure event, no stuck event";
  EXPECT_EQ(sim.liveOf(kV1), 2);
}

TEST(CircuitBreaker, RollbackRestoresLastCompletedStillInTheList) {
  Breaker sim(2, /*rollback=*/true);
  sim.addTask(kV2, "PENDING");
  for (double at : {900, 910, 920}) sim.failToStart(at);
  ServicePlan p = sim.plan();
  ASSERT_EQ(p.deployments.size(), 2u);
  EXPECT_EQ(p.deployments[0].id, kV1);
  EXPECT_EQ(p.deployments[0].status, DeploymentStatus::kPrimary);
  EXPECT_EQ(p.deployments[0].rollout, RolloutState::kInProgress);
  EXPECT_EQ(p.deployments[0].rolloutStateReason,
            "ECS deployment circuit breaker: rolling back to deploymentId " + kV1 + ".");
  EXPECT_EQ(p.deployments[0].createdAt, 1);
  EXPECT_EQ(p.deployments[0].updatedAt, sim.in.now);
  EXPECT_EQ(p.deployments[1].id, kV2);
  EXPECT_EQ(p.deployments[1].status, DeploymentStatus::kActive);
  EXPECT_EQ(p.deployments[1].rollout, RolloutState::kFailed);
  EXPECT_EQ(p.events, (std::vector<std::string>{
                          "(service web) (deployment " + kV2 + ") deployment failed: tasks failed to start.",
                          "(service web) rolling back to deployment " + kV1 + "."}));
  ASSERT_EQ(p.notifications.size(), 2u);
  EXPECT_EQ(p.notifications[1].eventName, "SERVICE_DEPLOYMENT_IN_PROGRESS");
  EXPECT_EQ(p.notifications[1].deploymentId, kV1);
  // v1 still serves both tasks: only the failed deployment's task stops.
  EXPECT_TRUE(p.launches.empty());
  ASSERT_EQ(p.stops.size(), 1u);
  EXPECT_EQ(sim.task(p.stops[0].taskId).deploymentId, kV2);
  EXPECT_EQ(p.stops[0].reason, "Scaling activity initiated by (deployment " + kV1 + ")");
  sim.apply(p);
  sim.advance();
  sim.converge();
  ASSERT_EQ(sim.last.deployments.size(), 1u);
  EXPECT_EQ(sim.last.deployments[0].id, kV1);
  EXPECT_EQ(sim.last.deployments[0].rollout, RolloutState::kCompleted);
  EXPECT_TRUE(sim.last.steadyState);
  EXPECT_EQ(sim.liveOf(kV1), 2);
}

TEST(CircuitBreaker, RollbackRestoresAnInactiveLastCompleted) {
  Breaker sim(2, /*rollback=*/true);
  sim.in.settings.minimumHealthyPercent = 0;
  sim.in.settings.maximumPercent = 100;
  for (auto& t : sim.in.tasks) {  // 0/100 already replaced v1 entirely
    t.lastStatus = t.desiredStatus = "STOPPED";
    t.stoppedAt = 880;
    t.stopCode = "ServiceSchedulerInitiated";
  }
  sim.in.deployments.resize(1);  // v1 INACTIVE, only remembered as lastCompleted
  for (double at : {900, 910, 920}) sim.failToStart(at);
  ServicePlan p = sim.plan();
  ASSERT_EQ(p.deployments.size(), 1u) << "v2 has no live task: INACTIVE at once";
  EXPECT_EQ(p.deployments[0].id, kV1);
  EXPECT_EQ(p.deployments[0].rollout, RolloutState::kInProgress);
  ASSERT_EQ(p.launches.size(), 1u);
  EXPECT_EQ(p.launches[0].deploymentId, kV1);
  EXPECT_EQ(p.launches[0].count, 2);
  sim.apply(p);
  sim.advance();
  sim.converge();
  EXPECT_EQ(sim.last.deployments[0].id, kV1);
  EXPECT_EQ(sim.last.deployments[0].rollout, RolloutState::kCompleted);
  EXPECT_TRUE(sim.last.steadyState);
}

// ---- steady state ----

TEST(SteadyState, EventOnceThenEverySixHours) {
  Steady sim(2, 2);
  ServicePlan p = sim.plan();
  EXPECT_TRUE(p.steadyState);
  EXPECT_EQ(p.events, std::vector<std::string>{"(service web) has reached a steady state."});
  ASSERT_EQ(p.notifications.size(), 1u);
  EXPECT_EQ(p.notifications[0].eventName, "SERVICE_STEADY_STATE");
  EXPECT_EQ(p.notifications[0].kind, ServiceNotification::Kind::kServiceAction);
  EXPECT_EQ(p.lastSteadyStateEventAt, sim.in.now);
  sim.apply(p);
  sim.in.now += 3600;
  p = sim.plan();
  EXPECT_TRUE(p.events.empty());
  EXPECT_EQ(p.lastSteadyStateEventAt, sim.in.now - 3600);
  sim.apply(p);
  sim.in.now += kSteadyStateReminderSeconds;
  p = sim.plan();
  EXPECT_EQ(p.events.size(), 1u);
  EXPECT_EQ(p.lastSteadyStateEventAt, sim.in.now);
}

TEST(SteadyState, LeavingResetsSoReenteringWritesAgain) {
  Steady sim(2, 2);
  sim.apply(sim.plan());
  sim.in.settings.desiredCount = 3;
  ServicePlan p = sim.plan();
  EXPECT_FALSE(p.steadyState);
  EXPECT_EQ(p.lastSteadyStateEventAt, 0);
  sim.apply(p);
  sim.advance();
  p = sim.plan();
  EXPECT_TRUE(p.steadyState);
  EXPECT_EQ(p.events.size(), 1u);
}

TEST(SteadyState, NotWhileATaskIsUnhealthyOrUnknown) {
  Steady sim(2, 2);
  sim.task("t0").healthChecked = true;  // UNKNOWN health
  EXPECT_FALSE(sim.plan().steadyState);
}

// ---- launch throttle ----

TEST(LaunchThrottle, BacksOffAfterThreeStartFailures) {
  Steady sim(2, 0);
  auto fail = [&](double at) {
    ServiceTask& t = sim.addTask(kV1, "STOPPED");
    t.stoppedAt = at;
    t.stopCode = "TaskFailedToStart";
  };
  fail(990);
  fail(995);
  ServicePlan p = sim.plan();
  EXPECT_EQ(p.launchesThrottledUntil, 0);
  ASSERT_EQ(p.launches.size(), 1u);
  fail(998);
  p = sim.plan();
  EXPECT_EQ(p.launchesThrottledUntil, 998 + 5);
  EXPECT_TRUE(p.launches.empty());
  EXPECT_EQ(p.events, std::vector<std::string>{"(service web) is unable to consistently start tasks successfully."});
  ASSERT_EQ(p.notifications.size(), 1u);
  EXPECT_EQ(p.notifications[0].eventType, "WARN");
  EXPECT_EQ(p.notifications[0].eventName, "SERVICE_TASK_START_IMPAIRED");
  sim.apply(p);
  sim.in.now = 1002;
  p = sim.plan();
  EXPECT_TRUE(p.events.empty()) << "once per engagement";
  EXPECT_TRUE(p.launches.empty());
  sim.apply(p);
  sim.in.now = 1003;
  p = sim.plan();
  EXPECT_EQ(p.launchesThrottledUntil, 0);
  ASSERT_EQ(p.launches.size(), 1u);
  sim.apply(p);
  // The retry fails too: the back-off doubles and the event is written again.
  fail(1010);
  p = sim.plan();
  EXPECT_EQ(p.launchesThrottledUntil, 1010 + 10);
  EXPECT_EQ(p.events, std::vector<std::string>{"(service web) is unable to consistently start tasks successfully."});
}

TEST(LaunchThrottle, CappedAtFifteenMinutes) {
  Steady sim(1, 0);
  for (int i = 0; i < 20; ++i) {
    ServiceTask& t = sim.addTask(kV1, "STOPPED");
    t.stoppedAt = 990 + i * 0.1;
    t.stopCode = "TaskFailedToStart";
  }
  EXPECT_DOUBLE_EQ(sim.plan().launchesThrottledUntil, 990 + 1.9 + kMaxLaunchBackoffSeconds);
}

TEST(LaunchThrottle, ResetByUpdateServiceOrARunningTask) {
  Steady sim(2, 0);
  for (double at : {990, 995, 998}) {
    ServiceTask& t = sim.addTask(kV1, "STOPPED");
    t.stoppedAt = at;
    t.stopCode = "TaskFailedToStart";
  }
  sim.in.updatedAt = 999;
  EXPECT_EQ(sim.plan().launchesThrottledUntil, 0);
  sim.in.updatedAt = 0;
  ServiceTask& ran = sim.addTask(kV1, "RUNNING");
  ran.startedAt = 999;
  EXPECT_EQ(sim.plan().launchesThrottledUntil, 0);
}

// ---- DAEMON (ecs-scheduling.md §7) ----

struct Daemon : Sim {
  explicit Daemon(int minPercent) : Sim(0, minPercent, 100) {
    in.settings.scheduling = SchedulingStrategy::kDaemon;
    Deployment v1 = deployment(kV1, RolloutState::kCompleted);
    in.lastCompleted = v1;
    in.deployments = {v1};
    for (const auto& i : in.instances) addTask(kV1, "RUNNING", i.id);
  }
  void newDeployment() {
    in.deployments.insert(in.deployments.begin(), deployment(kV2, RolloutState::kInProgress, 500));
  }
  int daemonMinHealthy() const {
    int eligible = 0;
    for (const auto& i : in.instances) eligible += i.daemonEligible && i.usable && !i.draining;
    return (eligible * in.settings.minimumHealthyPercent + 99) / 100;
  }
  // Like Sim::converge, with the DAEMON bounds: one task per instance.
  Rounds converge() {
    Rounds history;
    for (int round = 0; round < 20; ++round) {
      ServicePlan p = plan();
      apply(p);
      std::map<std::string, int> perInstance;
      for (const auto& t : in.tasks)
        if (t.lastStatus != "STOPPED") ++perInstance[t.instanceId];
      for (const auto& [instanceId, n] : perInstance) EXPECT_LE(n, 1) << instanceId;
      EXPECT_GE(healthy(), daemonMinHealthy());
      advance();
      history.push_back({count(p.launches), static_cast<int>(p.stops.size())});
      if (p.steadyState) return history;
    }
    ADD_FAILURE() << "did not converge";
    return history;
  }
};

TEST(DaemonService, SteadyWithOneTaskPerInstance) {
  Daemon sim(0);
  ServicePlan p = sim.plan();
  EXPECT_EQ(p.desiredCount, 4);
  EXPECT_TRUE(p.steadyState);
  EXPECT_TRUE(p.launches.empty());
}

TEST(DaemonService, Min0ReplacesAllAtOnce) {
  Daemon sim(0);
  sim.newDeployment();
  EXPECT_EQ(sim.converge(), (Rounds{{0, 4}, {4, 0}, {0, 0}}));
  EXPECT_EQ(sim.liveOf(kV2), 4);
  EXPECT_EQ(sim.last.deployments.size(), 1u);
  EXPECT_EQ(sim.last.deployments[0].rollout, RolloutState::kCompleted);
}

TEST(DaemonService, Min50ReplacesTwoAtATime) {
  Daemon sim(50);
  sim.newDeployment();
  EXPECT_EQ(sim.converge(), (Rounds{{0, 2}, {2, 0}, {0, 2}, {2, 0}, {0, 0}}));
  EXPECT_EQ(sim.liveOf(kV2), 4);
}

TEST(DaemonService, LaunchesOnAJoiningInstance) {
  Daemon sim(0);
  sim.apply(sim.plan());
  sim.addInstance("i-new");
  ServicePlan p = sim.plan();
  EXPECT_EQ(p.desiredCount, 5);
  ASSERT_EQ(p.launches.size(), 1u);
  EXPECT_EQ(p.launches[0].deploymentId, kV1);
  EXPECT_EQ(p.launches[0].instanceIds, std::vector<std::string>{"i-new"});
  EXPECT_FALSE(p.steadyState);
}

TEST(DaemonService, DrainingInstanceStopsItsTaskAndShrinksDesired) {
  Daemon sim(100);
  ServiceInstance& i2 = sim.instance("i-2");
  i2.usable = false;
  i2.draining = true;
  ServicePlan p = sim.plan();
  EXPECT_EQ(p.desiredCount, 3);
  ASSERT_EQ(p.stops.size(), 1u);
  EXPECT_EQ(sim.task(p.stops[0].taskId).instanceId, "i-2");
  EXPECT_EQ(p.stops[0].reason, "Task stopped because container instance i-2 is draining.");
  EXPECT_TRUE(p.launches.empty());
}

TEST(DaemonService, InstanceNoLongerEligibleStopsItsTask) {
  Daemon sim(100);
  sim.instance("i-1").daemonEligible = false;
  ServicePlan p = sim.plan();
  ASSERT_EQ(p.stops.size(), 1u);
  EXPECT_EQ(p.stops[0].reason,
            "Task stopped because container instance i-1 no longer meets the service's placement constraints.");
}

}  // namespace
}  // namespace berth::scheduler
