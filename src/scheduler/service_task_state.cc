// What a service task counts as for the bounds (reference/ecs-services.md §2).
#include "scheduler/service_plan_internal.h"

namespace berth::scheduler::detail {

bool isLive(const ServiceTask& t) { return t.lastStatus != "STOPPED"; }

bool isStopping(const ServiceTask& t) { return isLive(t) && t.desiredStatus == "STOPPED"; }

bool isRunning(const ServiceTask& t) {
  return t.lastStatus == "RUNNING" && t.desiredStatus == "RUNNING";
}

bool isPending(const ServiceTask& t) {
  return isLive(t) && t.lastStatus != "RUNNING" && t.desiredStatus == "RUNNING";
}

bool isHealthy(const ServiceTask& t) {
  return isRunning(t) && (!t.healthChecked || t.healthStatus == "HEALTHY");
}

bool isUnhealthy(const ServiceTask& t) {
  return isRunning(t) && t.healthChecked && t.healthStatus == "UNHEALTHY";
}

bool isDeliberateStop(const ServiceTask& t) {
  return t.stopCode == "ServiceSchedulerInitiated" || t.stopCode == "UserInitiated";
}

}  // namespace berth::scheduler::detail
