#pragma once
// Pieces of planService() (service_plan.h), one concept per file, declared
// here so each can be tested and read alone:
//   service_task_state.cc       what a task counts as (live, healthy, ...)
//   service_circuit_breaker.cc  consecutive failures of a deployment
//   service_launch_throttle.cc  back-off after tasks fail to start
//   service_rollout.cc          which tasks to start and stop this round
//   service_messages.cc         event texts
//   service_plan.cc             deployments, rollback, completion, steady state
#include <map>
#include <string>
#include <vector>

#include "scheduler/service_plan.h"

namespace berth::scheduler::detail {

// ---- task state (service_task_state.cc) ----
bool isLive(const ServiceTask& t);      // lastStatus != STOPPED
bool isStopping(const ServiceTask& t);  // live, desiredStatus STOPPED
bool isRunning(const ServiceTask& t);   // lastStatus RUNNING, desiredStatus RUNNING
bool isPending(const ServiceTask& t);   // live, not RUNNING, desiredStatus RUNNING
// RUNNING + desired RUNNING + (no essential health check, or HEALTHY).
bool isHealthy(const ServiceTask& t);
// RUNNING, desired RUNNING, health-checked and UNHEALTHY.
bool isUnhealthy(const ServiceTask& t);
// Stopped by someone on purpose (not a failure of the task itself).
bool isDeliberateStop(const ServiceTask& t);

// ---- circuit breaker (service_circuit_breaker.cc) ----
struct BreakerCount {
  int failedTasks = 0;  // consecutive failures since the latest healthy task
  // The kind of the most recent counted failure: a task that never reached
  // RUNNING (stage 1) or one stopped by failing health checks (stage 2).
  bool lastWasHealthCheck = false;
};
BreakerCount countBreakerFailures(const std::string& deploymentId,
                                  const std::vector<ServiceTask>& tasks);

// ---- launch throttle (service_launch_throttle.cc) ----
struct LaunchThrottle {
  int startFailures = 0;         // in the current burst
  double lastFailureAt = 0;      // stoppedAt of the newest of them
  double throttledUntil = 0;     // 0: launches allowed now
  bool newlyEngaged = false;     // write the "unable to consistently start" event
};
LaunchThrottle launchThrottle(const ServiceInput& input);

// ---- one round of starts and stops (service_rollout.cc) ----
struct RoundInput {
  const ServiceInput* input = nullptr;
  const Deployment* primary = nullptr;  // after any rollback
  int desired = 0;                      // D
  int minHealthy = 0;
  int maxTotal = 0;
  bool launchesAllowed = true;  // not FAILED, not deleting, not throttled
  bool drainOld = true;         // false: a FAILED primary leaves old tasks alone
};
struct RoundResult {
  std::vector<ServicePlan::Launch> launches;
  std::vector<ServicePlan::Stop> stops;
  // Nothing started or stopped although the rollout is not done and nothing
  // is under way that could change it: the bounds leave no room.
  bool stuck = false;
};
RoundResult planReplicaRound(const RoundInput& in);
RoundResult planDaemonRound(const RoundInput& in);

// ---- event texts (service_messages.cc) ----
std::string scalingStopReason(const std::string& deploymentId);
std::string instanceStopReason(const ServiceInstance* instance, const std::string& instanceId);
std::string placementConstraintStopReason(const std::string& instanceId);
inline constexpr const char* kHealthCheckStopReason = "Task failed container health checks";
std::string steadyStateMessage(const std::string& service);
std::string deploymentCompletedMessage(const std::string& service, const std::string& id);
std::string deploymentFailedMessage(const std::string& service, const std::string& id,
                                    bool healthChecks);
std::string rollingBackMessage(const std::string& service, const std::string& id);
std::string stuckMessage(const std::string& service);
std::string startImpairedMessage(const std::string& service);
std::string inProgressReason(const std::string& id);
std::string completedReason(const std::string& id);
std::string breakerFailedReason(bool healthChecks);
std::string rollbackReason(const std::string& id);

}  // namespace berth::scheduler::detail
