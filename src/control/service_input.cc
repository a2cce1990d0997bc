#include "control/service_input.h"

#include <set>
#include <unordered_set>

#include "common/log.h"
#include "control/json_fields.h"
#include "control/keys.h"
#include "control/placement_index.h"
#include "control/task_definition_ops.h"
#include "scheduler/instance_facts.h"

namespace berth::control {
namespace {

using nlohmann::json;

double numberOr(const json& j, const char* field, double fallback) {
  auto it = j.find(field);
  return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

std::optional<scheduler::DeploymentStatus> parseDeploymentStatus(const std::string& s) {
  if (s == "PRIMARY") return scheduler::DeploymentStatus::kPrimary;
  if (s == "ACTIVE") return scheduler::DeploymentStatus::kActive;
  if (s == "INACTIVE") return scheduler::DeploymentStatus::kInactive;
  return std::nullopt;
}

scheduler::RolloutState parseRolloutState(const std::string& s) {
  if (s == "COMPLETED") return scheduler::RolloutState::kCompleted;
  if (s == "FAILED") return scheduler::RolloutState::kFailed;
  return scheduler::RolloutState::kInProgress;
}

// The memberOf constraints a DAEMON task must meet on an instance: the task
// definition's and the launch request's (distinctInstance means nothing for
// one task per instance). Unparsable ones were refused by CreateService.
std::vector<scheduler::Expression> daemonConstraints(EcsContext& ctx, const json& launchRequest) {
  std::vector<scheduler::Expression> out;
  auto add = [&](const json& list) {
    for (const auto& c : list) {
      if (stringOr(c, "type", "") != "memberOf") continue;
      auto parsed = scheduler::Expression::parse(stringOr(c, "expression", ""));
      if (parsed.ok()) out.push_back(std::move(*parsed));
      else log::warn("service placement constraint does not parse; ignored", {{"expression", stringOr(c, "expression", "")}});
    }
  };
  if (auto ref = parseTaskDefinitionRef(stringOr(launchRequest, "taskDefinition", "")))
    if (auto td = resolveTaskDefinition(ctx.cache, *ref))
      add(arrayOrEmpty(td->object.doc.value("taskDefinition", json::object()), "placementConstraints"));
  add(arrayOrEmpty(launchRequest, "placementConstraints"));
  return out;
}

}  // namespace

std::string planBasis(const json& doc) {
  json basis = json::array({doc.value("status", json()), doc.value("desiredCount", json()),
                            doc.value("deploymentConfiguration", json()), doc.value("berth", json::object()).value("revision", json())});
  for (const auto& d : doc.value("deployments", json::array())) basis.push_back(d.value("id", json()));
  return basis.dump();
}

scheduler::ServiceSettings serviceSettings(const json& doc) {
  scheduler::ServiceSettings s;
  s.name = stringOr(doc, "serviceName", doc.value("berth", json::object()).value("name", ""));
  const bool daemon = stringOr(doc, "schedulingStrategy", "REPLICA") == "DAEMON";
  s.scheduling = daemon ? scheduler::SchedulingStrategy::kDaemon : scheduler::SchedulingStrategy::kReplica;
  s.desiredCount = static_cast<int>(numberOr(doc, "desiredCount", 0));
  const json config = doc.value("deploymentConfiguration", json::object());
  s.minimumHealthyPercent = static_cast<int>(numberOr(config, "minimumHealthyPercent", daemon ? 0 : 100));
  s.maximumPercent = static_cast<int>(numberOr(config, "maximumPercent", daemon ? 100 : 200));
  const json breaker = config.value("deploymentCircuitBreaker", json::object());
  s.circuitBreakerEnable = breaker.value("enable", false);
  s.circuitBreakerRollback = breaker.value("rollback", false);
  s.healthCheckGracePeriodSeconds = numberOr(doc, "healthCheckGracePeriodSeconds", 0);
  s.deleting = stringOr(doc, "status", "") == "DRAINING";
  return s;
}

std::optional<scheduler::Deployment> deploymentFromJson(const json& d) {
  if (!d.is_object()) return std::nullopt;
  auto status = parseDeploymentStatus(stringOr(d, "status", ""));
  if (!status) return std::nullopt;
  scheduler::Deployment out;
  out.id = stringOr(d, "id", "");
  out.status = *status;
  out.rollout = parseRolloutState(stringOr(d, "rolloutState", "IN_PROGRESS"));
  out.rolloutStateReason = stringOr(d, "rolloutStateReason", "");
  out.createdAt = numberOr(d, "createdAt", 0);
  out.updatedAt = numberOr(d, "updatedAt", 0);
  out.failedTasks = static_cast<int>(numberOr(d, "failedTasks", 0));
  out.desiredCount = static_cast<int>(numberOr(d, "desiredCount", 0));
  out.runningCount = static_cast<int>(numberOr(d, "runningCount", 0));
  out.pendingCount = static_cast<int>(numberOr(d, "pendingCount", 0));
  return out;
}

std::optional<GatheredService> gatherServiceInput(EcsContext& ctx, const ServiceTaskIndex& index, const ServiceKey& key) {
  auto obj = ctx.cache.get(keys::service(key.cluster, key.name));
  if (!obj) return std::nullopt;
  const std::string status = stringOr(obj->doc, "status", "");
  if (status != "ACTIVE" && status != "DRAINING") return std::nullopt;
  GatheredService g;
  g.doc = std::move(obj->doc);
  g.modRevision = obj->modRevision;
  scheduler::ServiceInput& in = g.input;
  in.settings = serviceSettings(g.doc);
  if (in.settings.name.empty()) in.settings.name = key.name;
  for (const auto& d : g.doc.value("deployments", json::array()))
    if (auto dep = deploymentFromJson(d); dep && dep->status != scheduler::DeploymentStatus::kInactive)
      in.deployments.push_back(std::move(*dep));
  const json berth = g.doc.value("berth", json::object());
  if (auto it = berth.find("lastCompletedDeployment"); it != berth.end())
    in.lastCompleted = deploymentFromJson(*it);
  in.tasks = index.tasksOf(key);
  in.now = ctx.clock.epochSeconds();
  in.updatedAt = numberOr(berth, "updatedAt", 0);
  in.lastSteadyStateEventAt = numberOr(berth, "lastSteadyStateEventAt", 0);
  in.launchesThrottledUntil = numberOr(berth, "launchesThrottledUntil", 0);
  in.lastStuckEventAt = numberOr(berth, "lastStuckEventAt", 0);

  // Instances: those holding a task that is not STOPPED, and for DAEMON
  // every registered one.
  const bool daemon = in.settings.scheduling == scheduler::SchedulingStrategy::kDaemon;
  std::vector<scheduler::Expression> constraints;
  if (daemon && !g.doc.value("deployments", json::array()).empty())
    constraints = daemonConstraints(ctx, g.doc["deployments"][0].value("berth", json::object()).value("launchRequest", json::object()));
  std::vector<std::string> holding;
  {
    std::unordered_set<std::string> seen;
    for (const auto& t : in.tasks)
      if (t.lastStatus != "STOPPED" && !t.instanceId.empty() && seen.insert(t.instanceId).second) holding.push_back(t.instanceId);
  }
  const std::string group = "service:" + key.name;
  ctx.placement->read(key.cluster, [&](ClusterPlacementView& view) {
    std::unordered_set<std::string> added;
    auto describe = [&](const scheduler::Instance& inst) {
      scheduler::ServiceInstance si;
      si.id = inst.id;
      si.usable = inst.status == "ACTIVE";
      si.draining = inst.status == "DRAINING";
      if (daemon && si.usable) {
        scheduler::SnapshotInstanceFacts facts(inst, view.snapshot, group);
        si.daemonEligible = true;
        for (const auto& e : constraints)
          if (!e.matches(facts)) si.daemonEligible = false;
      }
      return si;
    };
    for (const auto& id : holding) {
      added.insert(id);
      auto i = view.indexOf(id);
      // Deregistered or gone: not usable, so its tasks are replaced.
      if (!i) {
        in.instances.push_back(scheduler::ServiceInstance{id, false, false, false});
        continue;
      }
      in.instances.push_back(describe(view.snapshot.instances[*i]));
    }
    if (daemon)
      for (const auto& inst : view.snapshot.instances)
        if (inst.status != "INACTIVE" && !added.count(inst.id)) in.instances.push_back(describe(inst));
  });
  return g;
}

}  // namespace berth::control
