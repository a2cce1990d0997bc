// Launch throttle (reference/ecs-services.md §6): tasks that stop without
// ever reaching RUNNING make the scheduler wait longer and longer (5 s,
// doubling, at most kMaxLaunchBackoffSeconds) before it starts more. A task
// that reaches RUNNING ends the burst, and so does an UpdateService.
#include <algorithm>
#include <cmath>

#include "scheduler/service_plan.h"
#include "scheduler/service_plan_internal.h"

namespace berth::scheduler::detail {
namespace {

constexpr int kFailuresBeforeThrottle = 3;
constexpr double kFirstBackoffSeconds = 5;

double backoffSeconds(int failures) {
  int doublings = std::min(failures - kFailuresBeforeThrottle, 20);  // 5 × 2^20 s is far past the cap
  return std::min(kMaxLaunchBackoffSeconds, kFirstBackoffSeconds * std::ldexp(1.0, doublings));
}

}  // namespace

LaunchThrottle launchThrottle(const ServiceInput& input) {
  double lastStartedAt = 0;
  for (const auto& t : input.tasks) lastStartedAt = std::max(lastStartedAt, t.startedAt);
  LaunchThrottle out;
  for (const auto& t : input.tasks) {
    bool startFailure = !isLive(t) && t.startedAt == 0 && !isDeliberateStop(t) &&
                        t.stoppedAt > input.updatedAt && t.stoppedAt > lastStartedAt;
    if (!startFailure) continue;
    ++out.startFailures;
    out.lastFailureAt = std::max(out.lastFailureAt, t.stoppedAt);
  }
  if (out.startFailures < kFailuresBeforeThrottle) return out;
  double until = out.lastFailureAt + backoffSeconds(out.startFailures);
  if (input.now >= until) return out;
  out.throttledUntil = until;
  // A throttle the previous round computed before this failure (or none at
  // all) means this failure engaged it anew.
  out.newlyEngaged = input.launchesThrottledUntil < out.lastFailureAt;
  return out;
}

}  // namespace berth::scheduler::detail
