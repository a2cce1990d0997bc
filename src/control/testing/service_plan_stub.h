#pragma once
// THROWAWAY: a crude planService() so the controller tests link before the
// real planner (branch wt-plan) lands on main. Included by one test file only;
// delete once scheduler/service_plan.cc exists.
#include <cmath>
#include <map>
#include <set>

#include "scheduler/service_plan.h"

namespace berth::scheduler {

std::string_view deploymentStatusName(DeploymentStatus s) {
  return s == DeploymentStatus::kPrimary ? "PRIMARY" : s == DeploymentStatus::kActive ? "ACTIVE" : "INACTIVE";
}
std::string_view rolloutStateName(RolloutState s) {
  return s == RolloutState::kInProgress ? "IN_PROGRESS" : s == RolloutState::kCompleted ? "COMPLETED" : "FAILED";
}
int circuitBreakerThreshold(int d) { return std::clamp((d + 1) / 2, 3, 200); }
static std::string ids(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& i : v) s += (s.empty() ? "" : " ") + std::string("(task ") + i + ")";
  return s;
}
std::string startedTasksMessage(const std::string& svc, const std::vector<std::string>& v) {
  return "(service " + svc + ") has started " + std::to_string(v.size()) + " tasks: " + ids(v) + ".";
}
std::string stoppedTasksMessage(const std::string& svc, const std::vector<std::string>& v) {
  return "(service " + svc + ") has stopped " + std::to_string(v.size()) + " running tasks: " + ids(v) + ".";
}
std::string unableToPlaceMessage(const std::string& svc, const std::string& inst, const std::string& reason) {
  if (inst.empty()) return "(service " + svc + ") was unable to place a task. Reason: No Container Instances were found in your cluster.";
  return "(service " + svc + ") was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance " + inst + ") " + reason;
}

ServicePlan planService(const ServiceInput& in) {
  ServicePlan p;
  std::map<std::string, const ServiceInstance*> inst;
  for (const auto& i : in.instances) inst[i.id] = &i;
  auto live = [](const ServiceTask& t) { return t.lastStatus != "STOPPED" && t.desiredStatus != "STOPPED"; };
  auto usable = [&](const ServiceTask& t) { auto it = inst.find(t.instanceId); return it != inst.end() && it->second->usable; };
  const bool daemon = in.settings.scheduling == SchedulingStrategy::kDaemon;
  std::string primary = in.deployments.empty() ? "" : in.deployments[0].id;
  int primaryLive = 0, primaryHealthy = 0, notStopped = 0;
  std::set<std::string> withTask;
  for (const auto& t : in.tasks) {
    if (t.lastStatus != "STOPPED") ++notStopped;
    if (!live(t)) continue;
    if (in.settings.deleting || !usable(t) || (daemon && !inst.at(t.instanceId)->daemonEligible)) {
      p.stops.push_back({t.id, "stub"});
      continue;
    }
    if (t.deploymentId == primary) {
      ++primaryLive, withTask.insert(t.instanceId);
      if (t.lastStatus == "RUNNING") ++primaryHealthy;
    }
  }
  int desired = in.settings.desiredCount;
  if (daemon) {
    desired = 0;
    ServicePlan::Launch l{primary, 0, {}};
    for (const auto& i : in.instances)
      if (i.daemonEligible) {
        ++desired;
        if (!withTask.count(i.id)) l.instanceIds.push_back(i.id);
      }
    if (!l.instanceIds.empty() && !in.settings.deleting) p.launches.push_back(l);
  } else if (!in.settings.deleting && primaryLive < desired) {
    p.launches.push_back({primary, desired - primaryLive, {}});
  }
  if (!in.settings.deleting && primaryHealthy >= desired)
    for (const auto& t : in.tasks)
      if (live(t) && t.deploymentId != primary) p.stops.push_back({t.id, "stub old"});
  p.drained = in.settings.deleting && notStopped == 0;
  for (const auto& d : in.deployments) {
    Deployment o = d;
    o.runningCount = o.pendingCount = 0;
    for (const auto& t : in.tasks)
      if (t.deploymentId == d.id && t.lastStatus != "STOPPED") (t.lastStatus == "RUNNING" ? o.runningCount : o.pendingCount)++;
    if (d.id != primary && o.runningCount + o.pendingCount == 0) continue;
    o.desiredCount = d.id == primary ? desired : 0;
    p.deployments.push_back(o);
  }
  if (p.deployments.size() == 1 && primaryHealthy == desired && p.deployments[0].rollout != RolloutState::kCompleted) {
    p.deployments[0].rollout = RolloutState::kCompleted;
    p.lastCompleted = p.deployments[0];
    p.events.push_back("(service " + in.settings.name + ") has reached a steady state.");
  }
  for (const auto& d : p.deployments) p.runningCount += d.runningCount, p.pendingCount += d.pendingCount;
  p.desiredCount = desired;
  return p;
}

}  // namespace berth::scheduler
