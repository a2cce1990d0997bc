// Service event texts in ECS wording (reference/ecs-services.md §1, §5, §6).
#include <algorithm>

#include "scheduler/service_plan.h"
#include "scheduler/service_plan_internal.h"

namespace berth::scheduler {
namespace {

constexpr std::size_t kMaxListedTasks = 10;

std::string service(const std::string& name) { return "(service " + name + ")"; }

std::string listedTasks(const std::vector<std::string>& taskIds) {
  std::string out;
  std::size_t n = std::min(taskIds.size(), kMaxListedTasks);
  for (std::size_t i = 0; i < n; ++i) out += (i ? " (task " : "(task ") + taskIds[i] + ")";
  return out;
}

// The tail after "The closest matching (container-instance <id>) " for a
// placement rejection reason.
std::string closestMatchProblem(const std::string& reason) {
  if (reason == "RESOURCE:CPU") return "has insufficient CPU units available";
  if (reason == "RESOURCE:MEMORY") return "has insufficient memory available";
  if (reason == "RESOURCE:PORTS" || reason == "RESOURCE:PORTS_UDP")
    return "is already using a port required by your task";
  if (reason == "RESOURCE:GPU") return "has insufficient GPU available";
  if (reason == "AGENT") return "encountered error \"AGENT\"";
  if (reason == "ATTRIBUTE") return "is missing an attribute required by your task";
  return "encountered error \"" + reason + "\"";
}

}  // namespace

std::string_view deploymentStatusName(DeploymentStatus s) {
  switch (s) {
    case DeploymentStatus::kPrimary: return "PRIMARY";
    case DeploymentStatus::kActive: return "ACTIVE";
    case DeploymentStatus::kInactive: return "INACTIVE";
  }
  return "INACTIVE";
}

std::string_view rolloutStateName(RolloutState s) {
  switch (s) {
    case RolloutState::kInProgress: return "IN_PROGRESS";
    case RolloutState::kCompleted: return "COMPLETED";
    case RolloutState::kFailed: return "FAILED";
  }
  return "FAILED";
}

// ECS writes "has started 1 tasks" (no singular form); keep it.
std::string startedTasksMessage(const std::string& name, const std::vector<std::string>& taskIds) {
  return service(name) + " has started " + std::to_string(taskIds.size()) +
         " tasks: " + listedTasks(taskIds) + ".";
}

std::string stoppedTasksMessage(const std::string& name, const std::vector<std::string>& taskIds) {
  return service(name) + " has stopped " + std::to_string(taskIds.size()) +
         " running tasks: " + listedTasks(taskIds) + ".";
}

std::string unableToPlaceMessage(const std::string& name, const std::string& closestInstanceId,
                                 const std::string& reason) {
  std::string out = service(name) +
                    " was unable to place a task because no container instance met all of its "
                    "requirements.";
  if (closestInstanceId.empty()) {
    out += " Reason: No Container Instances were found in your cluster.";
  } else {
    out += " The closest matching (container-instance " + closestInstanceId + ") " +
           closestMatchProblem(reason) + ".";
  }
  return out + " For more information, see the Troubleshooting section.";
}

namespace detail {

std::string scalingStopReason(const std::string& deploymentId) {
  return "Scaling activity initiated by (deployment " + deploymentId + ")";
}

std::string instanceStopReason(const ServiceInstance* instance, const std::string& instanceId) {
  if (instance && instance->draining)
    return "Task stopped because container instance " + instanceId + " is draining.";
  return "Task stopped because container instance " + instanceId + " is no longer available.";
}

std::string placementConstraintStopReason(const std::string& instanceId) {
  return "Task stopped because container instance " + instanceId +
         " no longer meets the service's placement constraints.";
}

std::string steadyStateMessage(const std::string& name) {
  return service(name) + " has reached a steady state.";
}

std::string deploymentCompletedMessage(const std::string& name, const std::string& id) {
  return service(name) + " (deployment " + id + ") deployment completed.";
}

std::string deploymentFailedMessage(const std::string& name, const std::string& id,
                                    bool healthChecks) {
  return service(name) + " (deployment " + id + ") deployment failed: " +
         (healthChecks ? "tasks failed health checks." : "tasks failed to start.");
}

std::string rollingBackMessage(const std::string& name, const std::string& id) {
  return service(name) + " rolling back to deployment " + id + ".";
}

std::string stuckMessage(const std::string& name) {
  return service(name) +
         " was unable to stop or start tasks during a deployment because of the service "
         "deployment configuration. Update the minimumHealthyPercent or maximumPercent value "
         "and try again.";
}

std::string startImpairedMessage(const std::string& name) {
  return service(name) + " is unable to consistently start tasks successfully.";
}

std::string inProgressReason(const std::string& id) {
  return "ECS deployment " + id + " in progress.";
}

std::string completedReason(const std::string& id) { return "ECS deployment " + id + " completed."; }

std::string breakerFailedReason(bool healthChecks) {
  return healthChecks ? "ECS deployment circuit breaker: task failed health checks."
                      : "ECS deployment circuit breaker: task failed to start.";
}

std::string rollbackReason(const std::string& id) {
  return "ECS deployment circuit breaker: rolling back to deploymentId " + id + ".";
}

}  // namespace detail
}  // namespace berth::scheduler
