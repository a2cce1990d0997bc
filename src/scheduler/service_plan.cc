// planService(): the service scheduler's decisions for one round (see
// service_plan.h). The pieces live in service_*.cc (service_plan_internal.h);
// this file moves the deployments: circuit breaker and rollback, counts,
// INACTIVE, rollout completion, steady state.
#include "scheduler/service_plan.h"

#include <algorithm>
#include <cstdint>
#include <set>

#include "scheduler/service_plan_internal.h"

namespace berth::scheduler {
namespace {

using namespace detail;

int desiredTasks(const ServiceInput& input) {
  if (input.settings.deleting) return 0;
  if (input.settings.scheduling == SchedulingStrategy::kReplica)
    return std::max(0, input.settings.desiredCount);
  int eligible = 0;
  for (const auto& i : input.instances)
    if (i.daemonEligible && i.usable && !i.draining) ++eligible;
  return eligible;
}

ServiceNotification deploymentEvent(const char* type, const char* name, const Deployment& d) {
  return {ServiceNotification::Kind::kDeploymentStateChange, type, name, d.id, d.rolloutStateReason};
}

// Trips the PRIMARY's circuit breaker when its consecutive failures reach the
// threshold and, with rollback, makes the newest COMPLETED deployment PRIMARY
// again (reference/ecs-services.md §3).
void applyCircuitBreaker(const ServiceInput& input, int desired, std::vector<Deployment>& deployments,
                         ServicePlan& plan) {
  const ServiceSettings& s = input.settings;
  Deployment& primary = deployments.front();
  if (!s.circuitBreakerEnable || s.deleting || primary.rollout != RolloutState::kInProgress) return;
  BreakerCount count = countBreakerFailures(primary.id, input.tasks);
  if (count.failedTasks < circuitBreakerThreshold(desired)) return;

  primary.rollout = RolloutState::kFailed;
  primary.rolloutStateReason = breakerFailedReason(count.lastWasHealthCheck);
  primary.updatedAt = input.now;
  plan.events.push_back(deploymentFailedMessage(s.name, primary.id, count.lastWasHealthCheck));
  plan.notifications.push_back(deploymentEvent("ERROR", "SERVICE_DEPLOYMENT_FAILED", primary));

  const std::optional<Deployment>& target = input.lastCompleted;
  if (!s.circuitBreakerRollback || !target || target->id == primary.id) return;
  Deployment restored = *target;
  auto still = std::find_if(deployments.begin() + 1, deployments.end(),
                            [&](const Deployment& d) { return d.id == target->id; });
  if (still != deployments.end()) {
    restored = *still;
    deployments.erase(still);
  }
  restored.status = DeploymentStatus::kPrimary;
  restored.rollout = RolloutState::kInProgress;
  restored.rolloutStateReason = rollbackReason(restored.id);
  restored.updatedAt = input.now;
  deployments.front().status = DeploymentStatus::kActive;
  deployments.insert(deployments.begin(), restored);
  plan.events.push_back(rollingBackMessage(s.name, restored.id));
  plan.notifications.push_back(deploymentEvent("INFO", "SERVICE_DEPLOYMENT_IN_PROGRESS", restored));
}

struct DeploymentTally {
  int running = 0;
  int pending = 0;
  int healthy = 0;
  int live = 0;  // stopping ones included, until STOPPED
};

// Counts as they will be once this round's stops are applied.
DeploymentTally tally(const ServiceInput& input, const std::string& deploymentId,
                      const std::set<std::string>& stopped) {
  DeploymentTally t;
  for (const auto& task : input.tasks) {
    if (task.deploymentId != deploymentId || !isLive(task)) continue;
    ++t.live;
    if (stopped.contains(task.id)) continue;
    if (isRunning(task)) ++t.running;
    if (isPending(task)) ++t.pending;
    if (isHealthy(task)) ++t.healthy;
  }
  return t;
}

// Writes the recomputed counts into `d`, touching updatedAt only on change.
void updateCounts(Deployment& d, int desired, int failed, const DeploymentTally& t, double now) {
  Deployment before = d;
  d.desiredCount = desired;
  d.failedTasks = failed;
  d.runningCount = t.running;
  d.pendingCount = t.pending;
  bool changed = before.desiredCount != d.desiredCount || before.failedTasks != d.failedTasks ||
                 before.runningCount != d.runningCount || before.pendingCount != d.pendingCount;
  if (changed) d.updatedAt = now;
}

// Writes a reminder-style event: on entering the condition (last == 0) and
// then every `every` seconds. Returns the new "last written" time.
double remind(bool condition, double last, double now, double every, const std::string& message,
              ServicePlan& plan) {
  if (!condition) return 0;
  if (last != 0 && now - last < every) return last;
  plan.events.push_back(message);
  return now;
}

}  // namespace

ServicePlan planService(const ServiceInput& input) {
  ServicePlan plan;
  const ServiceSettings& s = input.settings;
  const int desired = desiredTasks(input);
  plan.desiredCount = desired;
  plan.lastCompleted = input.lastCompleted;

  std::vector<Deployment> deployments = input.deployments;
  for (std::size_t i = 0; i < deployments.size(); ++i)
    deployments[i].status = i == 0 ? DeploymentStatus::kPrimary : DeploymentStatus::kActive;

  bool anyLive = std::any_of(input.tasks.begin(), input.tasks.end(), isLive);
  plan.drained = s.deleting && !anyLive;
  if (deployments.empty()) return plan;  // nothing to run the tasks for

  applyCircuitBreaker(input, desired, deployments, plan);
  Deployment& primary = deployments.front();
  const bool failed = primary.rollout == RolloutState::kFailed;

  LaunchThrottle throttle = launchThrottle(input);
  if (!failed && !s.deleting && throttle.throttledUntil > 0) {
    plan.launchesThrottledUntil = throttle.throttledUntil;
    if (throttle.newlyEngaged) {
      plan.events.push_back(startImpairedMessage(s.name));
      plan.notifications.push_back(
          {ServiceNotification::Kind::kServiceAction, "WARN", "SERVICE_TASK_START_IMPAIRED", "", ""});
    }
  }

  // ECS rounding (service_plan.h): exact integer floor and ceil.
  int minPercent = std::max(0, s.minimumHealthyPercent);
  int maxPercent = std::max(0, s.maximumPercent);
  RoundInput round{
      .input = &input,
      .primary = &primary,
      .desired = desired,
      // 64-bit products: maximumPercent has no upper limit in the API.
      .minHealthy = s.deleting ? 0 : static_cast<int>((std::int64_t{desired} * minPercent + 99) / 100),
      .maxTotal = static_cast<int>(std::min<std::int64_t>(std::int64_t{desired} * maxPercent / 100, 1'000'000'000)),
      .launchesAllowed = !failed && !s.deleting && plan.launchesThrottledUntil == 0,
      .drainOld = !failed || s.deleting,
  };
  RoundResult result = s.scheduling == SchedulingStrategy::kDaemon ? planDaemonRound(round)
                                                                    : planReplicaRound(round);
  plan.launches = std::move(result.launches);
  plan.stops = std::move(result.stops);
  plan.lastStuckEventAt = remind(result.stuck, input.lastStuckEventAt, input.now,
                                 kStuckReminderSeconds, stuckMessage(s.name), plan);

  std::set<std::string> stopped;
  for (const auto& st : plan.stops) stopped.insert(st.taskId);
  for (const auto& t : input.tasks) {  // service totals, as after this round's stops
    if (stopped.contains(t.id)) continue;
    if (isRunning(t)) ++plan.runningCount;
    if (isPending(t)) ++plan.pendingCount;
  }
  bool othersLive = false;
  for (std::size_t i = 0; i < deployments.size(); ++i) {
    Deployment& d = deployments[i];
    DeploymentTally t = tally(input, d.id, stopped);
    updateCounts(d, i == 0 ? desired : 0, countBreakerFailures(d.id, input.tasks).failedTasks, t, input.now);
    if (i > 0 && t.live > 0) othersLive = true;
  }

  DeploymentTally primaryTally = tally(input, primary.id, stopped);
  if (primary.rollout == RolloutState::kInProgress && !s.deleting && !othersLive &&
      primaryTally.healthy >= desired && primaryTally.pending == 0) {
    primary.rollout = RolloutState::kCompleted;
    primary.rolloutStateReason = completedReason(primary.id);
    primary.updatedAt = input.now;
    plan.events.push_back(deploymentCompletedMessage(s.name, primary.id));
    plan.notifications.push_back(deploymentEvent("INFO", "SERVICE_DEPLOYMENT_COMPLETED", primary));
    plan.lastCompleted = primary;
  }

  // Older deployments with nothing left running become INACTIVE: dropped.
  plan.deployments.push_back(primary);
  for (std::size_t i = 1; i < deployments.size(); ++i)
    if (tally(input, deployments[i].id, stopped).live > 0) plan.deployments.push_back(deployments[i]);

  bool allHealthy = std::all_of(input.tasks.begin(), input.tasks.end(),
                                [](const ServiceTask& t) { return !isLive(t) || isHealthy(t); });
  plan.steadyState = !s.deleting && plan.deployments.size() == 1 &&
                     primary.rollout == RolloutState::kCompleted && primary.runningCount == desired &&
                     allHealthy && plan.launches.empty() && plan.stops.empty();
  std::size_t eventsBefore = plan.events.size();
  plan.lastSteadyStateEventAt = remind(plan.steadyState, input.lastSteadyStateEventAt, input.now,
                                       kSteadyStateReminderSeconds, steadyStateMessage(s.name), plan);
  if (plan.events.size() > eventsBefore)
    plan.notifications.push_back(
        {ServiceNotification::Kind::kServiceAction, "INFO", "SERVICE_STEADY_STATE", "", ""});
  return plan;
}

}  // namespace berth::scheduler
