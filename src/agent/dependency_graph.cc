#include "agent/dependency_graph.h"

#include <algorithm>
#include <functional>
#include <set>

namespace berth::agent {
namespace {

const ContainerPlan* findPlan(const TaskPlan& plan, const std::string& name) {
  for (const auto& c : plan.containers)
    if (c.name == name) return &c;
  return nullptr;
}

enum class Verdict { kMet, kWait, kNever };

// Whether one dependency's condition holds; `why` is filled for kNever.
Verdict evaluate(const ContainerDependency& dep, const ContainerProgress& p, std::string& why) {
  const std::string& cond = dep.condition;
  if (cond == "START") return p.started ? Verdict::kMet : Verdict::kWait;
  if (cond == "COMPLETE") return p.exited ? Verdict::kMet : Verdict::kWait;
  if (cond == "SUCCESS") {
    if (!p.exited) return Verdict::kWait;
    if (p.exitCode && *p.exitCode == 0) return Verdict::kMet;
    why = "dependency " + dep.containerName + " exited with code " +
          (p.exitCode ? std::to_string(*p.exitCode) : std::string("unknown")) + " (condition SUCCESS)";
    return Verdict::kNever;
  }
  if (cond == "HEALTHY") {
    if (p.health == "HEALTHY") return Verdict::kMet;
    if (p.health == "UNHEALTHY") {
      why = "dependency " + dep.containerName + " is UNHEALTHY (condition HEALTHY)";
      return Verdict::kNever;
    }
    if (p.exited) {
      why = "dependency " + dep.containerName + " exited before it became HEALTHY";
      return Verdict::kNever;
    }
    return Verdict::kWait;
  }
  why = "unknown dependsOn condition " + cond;
  return Verdict::kNever;
}

}  // namespace

Status validateDependencies(const TaskPlan& plan, const std::map<std::string, bool>& hasHealthCheck) {
  static const std::set<std::string> kConditions = {"START", "COMPLETE", "SUCCESS", "HEALTHY"};
  for (const auto& c : plan.containers) {
    for (const auto& dep : c.dependsOn) {
      if (dep.containerName == c.name)
        return Error::make(ErrorCode::kInvalidParameter, "container " + c.name + " depends on itself");
      if (!findPlan(plan, dep.containerName))
        return Error::make(ErrorCode::kInvalidParameter,
                           "container " + c.name + " depends on unknown container " + dep.containerName);
      if (!kConditions.count(dep.condition))
        return Error::make(ErrorCode::kInvalidParameter, "container " + c.name + ": dependsOn condition '" +
                                                             dep.condition + "' is not START, COMPLETE, SUCCESS or HEALTHY");
      if (dep.condition == "HEALTHY") {
        auto it = hasHealthCheck.find(dep.containerName);
        if (it == hasHealthCheck.end() || !it->second)
          return Error::make(ErrorCode::kInvalidParameter, "container " + c.name + " depends on " + dep.containerName +
                                                               " being HEALTHY, but " + dep.containerName +
                                                               " has no healthCheck");
      }
    }
  }
  // Cycle check: depth-first with colours.
  std::map<std::string, int> colour;  // 0 new, 1 on the stack, 2 done
  std::function<std::optional<std::string>(const ContainerPlan&)> visit =
      [&](const ContainerPlan& c) -> std::optional<std::string> {
    colour[c.name] = 1;
    for (const auto& dep : c.dependsOn) {
      int col = colour[dep.containerName];
      if (col == 1) return c.name + " -> " + dep.containerName;
      if (col == 0)
        if (auto cyc = visit(*findPlan(plan, dep.containerName))) return c.name + " -> " + *cyc;
    }
    colour[c.name] = 2;
    return std::nullopt;
  };
  for (const auto& c : plan.containers)
    if (colour[c.name] == 0)
      if (auto cyc = visit(c))
        return Error::make(ErrorCode::kInvalidParameter, "dependsOn cycle: " + *cyc);
  return okStatus();
}

StartDecision decideStarts(const TaskPlan& plan, const std::map<std::string, ContainerProgress>& progress,
                           std::chrono::steady_clock::time_point now) {
  StartDecision d;
  auto progressOf = [&](const std::string& name) {
    auto it = progress.find(name);
    return it == progress.end() ? ContainerProgress{} : it->second;
  };
  // A container that can never start makes its dependents unable to start
  // too; resolve in start order so "never" propagates down the chain.
  for (const auto& name : startOrder(plan)) {
    const ContainerPlan& c = *findPlan(plan, name);
    const auto self = progressOf(name);
    if (self.started || self.exited) continue;
    bool wait = false;
    std::string never;
    for (const auto& dep : c.dependsOn) {
      if (auto blocked = d.never.find(dep.containerName); blocked != d.never.end()) {
        never = "dependency " + dep.containerName + " can never start";
        break;
      }
      std::string why;
      const auto theirs = progressOf(dep.containerName);
      switch (evaluate(dep, theirs, why)) {
        case Verdict::kMet: break;
        case Verdict::kWait: {
          const auto& timeout = findPlan(plan, dep.containerName)->startTimeoutSeconds;
          if (timeout && theirs.startedAt && now - *theirs.startedAt >= std::chrono::seconds(*timeout)) {
            never = "dependency " + dep.containerName + " did not reach " + dep.condition + " within its startTimeout (" +
                    std::to_string(*timeout) + "s)";
          } else {
            wait = true;
          }
          break;
        }
        case Verdict::kNever: never = why; break;
      }
      if (!never.empty()) break;
    }
    if (!never.empty()) d.never[name] = never;
    else if (wait) d.waiting.push_back(name);
  }
  // Ready ones in definition order (what the user wrote), for predictability.
  for (const auto& c : plan.containers) {
    const auto self = progressOf(c.name);
    if (self.started || self.exited || d.never.count(c.name)) continue;
    if (std::find(d.waiting.begin(), d.waiting.end(), c.name) == d.waiting.end()) d.ready.push_back(c.name);
  }
  return d;
}

bool mayStop(const TaskPlan& plan, const std::string& container, const std::map<std::string, bool>& stopped) {
  for (const auto& c : plan.containers) {
    for (const auto& dep : c.dependsOn) {
      if (dep.containerName != container) continue;
      auto it = stopped.find(c.name);
      if (it == stopped.end() || !it->second) return false;
    }
  }
  return true;
}

std::vector<std::string> startOrder(const TaskPlan& plan) {
  std::vector<std::string> order;
  std::set<std::string> placed;
  // Repeatedly take, in definition order, the containers whose dependencies
  // are all placed; a cycle (rejected by validateDependencies) ends the loop.
  while (order.size() < plan.containers.size()) {
    bool progress = false;
    for (const auto& c : plan.containers) {
      if (placed.count(c.name)) continue;
      bool ok = true;
      for (const auto& dep : c.dependsOn)
        if (!placed.count(dep.containerName) && findPlan(plan, dep.containerName)) ok = false;
      if (!ok) continue;
      order.push_back(c.name);
      placed.insert(c.name);
      progress = true;
    }
    if (!progress) break;
  }
  for (const auto& c : plan.containers)
    if (!placed.count(c.name)) order.push_back(c.name);
  return order;
}

}  // namespace berth::agent
