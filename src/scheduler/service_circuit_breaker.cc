// Deployment circuit breaker (reference/ecs-services.md §3): consecutive
// failures of one deployment's tasks, reset by any task becoming healthy.
#include <algorithm>
#include <string_view>

#include "scheduler/service_plan.h"
#include "scheduler/service_plan_internal.h"

namespace berth::scheduler {

int circuitBreakerThreshold(int desiredCount) {
  int half = (std::max(desiredCount, 0) + 1) / 2;  // ceil(0.5 × desiredCount)
  return std::clamp(half, 3, 200);
}

namespace detail {
namespace {

bool stoppedByHealthChecks(const ServiceTask& t) {
  std::string_view r = t.stoppedReason;
  return r.starts_with("Task failed container health checks") ||
         r.starts_with("Task failed ELB health checks");
}

struct Failure {
  double at = 0;
  bool healthCheck = false;
};

}  // namespace

BreakerCount countBreakerFailures(const std::string& deploymentId,
                                  const std::vector<ServiceTask>& tasks) {
  double firstRunningAt = 0;  // when the deployment first had a RUNNING task
  double lastResetAt = 0;     // newest healthyAt
  for (const auto& t : tasks) {
    if (t.deploymentId != deploymentId) continue;
    if (t.startedAt > 0 && (firstRunningAt == 0 || t.startedAt < firstRunningAt))
      firstRunningAt = t.startedAt;
    lastResetAt = std::max(lastResetAt, t.healthyAt);
  }
  std::vector<Failure> failures;
  for (const auto& t : tasks) {
    if (t.deploymentId != deploymentId || isLive(t)) continue;
    // Stage 1: failed to start, counted only until the deployment first ran.
    bool neverStarted = t.startedAt == 0 && !isDeliberateStop(t) &&
                        (firstRunningAt == 0 || t.stoppedAt < firstRunningAt);
    if (neverStarted) failures.push_back({t.stoppedAt, false});
    else if (stoppedByHealthChecks(t)) failures.push_back({t.stoppedAt, true});  // stage 2
  }
  BreakerCount out;
  double newest = -1;
  for (const auto& f : failures) {
    if (f.at <= lastResetAt) continue;
    ++out.failedTasks;
    if (f.at >= newest) {
      newest = f.at;
      out.lastWasHealthCheck = f.healthCheck;
    }
  }
  return out;
}

}  // namespace detail
}  // namespace berth::scheduler
