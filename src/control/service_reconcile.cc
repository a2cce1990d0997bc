#include "control/service_reconcile.h"

#include <algorithm>
#include <unordered_map>

#include "common/log.h"
#include "control/committer.h"
#include "control/ecs_events.h"
#include "control/json_fields.h"
#include "control/keys.h"
#include "control/service_doc_update.h"
#include "control/service_input.h"
#include "control/task_ops.h"

namespace berth::control {
namespace {

using nlohmann::json;

// ECS writes at most one "unable to place" event a minute per service.
constexpr double kUnplacedEventIntervalSeconds = 60;

std::string lastSegment(const std::string& arn) {
  auto slash = arn.rfind('/');
  return slash == std::string::npos ? arn : arn.substr(slash + 1);
}

}  // namespace

bool ServiceReconciler::reconcile(const ServiceKey& key) {
  const std::string docKey = keys::service(key.cluster, key.name);
  auto gathered = gatherServiceInput(ctx_, index_, key);
  if (!gathered) return ctx_.cache.modRevision(docKey) != 0;
  const GatheredService& g = *gathered;
  const std::string& name = g.input.settings.name;
  const scheduler::ServicePlan plan = scheduler::planService(g.input);
  std::vector<std::string> messages = plan.events;  // oldest first

  // Stops first: they make room (resources, maximumPercent) for the launches.
  if (!plan.stops.empty()) {
    std::unordered_map<std::string, const scheduler::ServiceTask*> byId;
    for (const auto& t : g.input.tasks) byId.emplace(t.id, &t);
    std::vector<std::pair<std::string, std::string>> stops;
    std::vector<std::string> wereRunning;
    for (const auto& s : plan.stops) {
      if (static_cast<int>(stops.size()) >= options_.maxStopPerPass) break;
      stops.emplace_back(s.taskId, s.reason);
      if (auto it = byId.find(s.taskId); it != byId.end() && it->second->lastStatus == "RUNNING")
        wereRunning.push_back(s.taskId);
    }
    auto stopped = stopTasksForScheduler(ctx_, key.cluster, stops);
    if (!stopped.ok())
      log::warn("service scheduler could not stop tasks", {{"service", docKey}, {"error", stopped.error().message}});
    else if (!wereRunning.empty())
      messages.push_back(scheduler::stoppedTasksMessage(name, wereRunning));
  }
  launch(key, g.doc, plan, messages);

  // The document: compare-on-revision. A user change that landed since the
  // plan was made (UpdateService, DeleteService) wins: only the events are
  // written and the service is planned again.
  const std::string basis = planBasis(g.doc);
  bool applied = true;
  auto txn = commitWithRetry(ctx_, [&]() -> Result<store::TxnRequest> {
    auto obj = ctx_.cache.get(docKey);
    if (!obj) return store::TxnRequest{};
    applied = planBasis(obj->doc) == basis;
    json updated = updatedServiceDoc(obj->doc, plan, messages, applied, g.input.now, ctx_.random);
    // Nothing changed: no write, so the controller does not wake itself.
    if (updated == obj->doc) return store::TxnRequest{};
    return store::TxnRequest{{{docKey, obj->modRevision}}, {store::Op::put(docKey, updated.dump())}};
  });
  if (!txn.ok()) {
    log::warn("service controller could not write the service", {{"service", docKey}, {"error", txn.error().message}});
    index_.markDirty(key);
    return true;
  }
  if (!applied) {
    index_.markDirty(key);
    return true;
  }
  for (const auto& n : plan.notifications) publish(g.doc, n);
  return true;
}

void ServiceReconciler::launch(const ServiceKey& key, const json& doc, const scheduler::ServicePlan& plan,
                               std::vector<std::string>& messages) {
  int budget = options_.maxLaunchPerPass;
  const std::string name = stringOr(doc, "serviceName", key.name);
  for (const auto& l : plan.launches) {
    if (budget <= 0) break;
    const json* deployment = storedDeployment(doc, l.deploymentId);
    json request = deployment ? deployment->value("berth", json::object()).value("launchRequest", json()) : json();
    if (!request.is_object()) {
      log::warn("service deployment has no launch request; not launching",
                {{"service", keys::service(key.cluster, key.name)}, {"deployment", l.deploymentId}});
      continue;
    }
    std::vector<std::string> only;
    int count = 0;
    if (!l.instanceIds.empty()) {
      const auto n = std::min<std::size_t>(l.instanceIds.size(), static_cast<std::size_t>(budget));
      only.assign(l.instanceIds.begin(), l.instanceIds.begin() + static_cast<std::ptrdiff_t>(n));
      budget -= static_cast<int>(n);
    } else {
      count = std::min(l.count, budget);
      if (count <= 0) continue;
      budget -= count;
    }
    const std::size_t wanted = only.empty() ? static_cast<std::size_t>(count) : only.size();
    auto result = launchServiceTasks(ctx_, request, count, only);
    if (!result.ok()) {
      // RunTask's "No Container Instances were found in your cluster."
      if (result.error().code == ErrorCode::kInvalidParameter &&
          result.error().message.find("No Container Instances") != std::string::npos) {
        reportUnplaced(key, doc, "", "", messages);
      } else {
        log::warn("service launch failed", {{"service", keys::service(key.cluster, key.name)},
                                            {"deployment", l.deploymentId},
                                            {"error", result.error().message}});
      }
      continue;
    }
    std::vector<std::string> started;
    for (const auto& t : (*result)["tasks"]) started.push_back(lastSegment(stringOr(t, "taskArn", "")));
    if (!started.empty()) messages.push_back(scheduler::startedTasksMessage(name, started));
    if (started.size() < wanted) {
      std::string instanceId, reason;
      for (const auto& f : (*result)["failures"]) {
        if (auto arn = optString(f, "arn"); arn && !arn->empty()) {
          instanceId = lastSegment(*arn);
          reason = stringOr(f, "reason", "");
          break;
        }
      }
      reportUnplaced(key, doc, instanceId, reason, messages);
    }
  }
}

void ServiceReconciler::reportUnplaced(const ServiceKey& key, const json& doc, const std::string& instanceId,
                                       const std::string& reason, std::vector<std::string>& messages) {
  const double now = ctx_.clock.epochSeconds();
  auto [it, first] = lastUnplacedEvent_.try_emplace(key, now);
  if (!first) {
    if (now - it->second < kUnplacedEventIntervalSeconds) return;
    it->second = now;
  }
  messages.push_back(scheduler::unableToPlaceMessage(stringOr(doc, "serviceName", key.name), instanceId, reason));
  scheduler::ServiceNotification n;
  n.kind = scheduler::ServiceNotification::Kind::kServiceAction;
  n.eventType = "ERROR";
  n.eventName = "SERVICE_TASK_PLACEMENT_FAILURE";
  n.reason = reason.empty() ? "RESOURCE:INSTANCE" : reason;
  publish(doc, n);
}

void ServiceReconciler::publish(const json& doc, const scheduler::ServiceNotification& n) {
  if (!ctx_.events) return;
  ctx_.events->publish(serviceEvent(ctx_.account, ctx_.random, stringOr(doc, "serviceArn", ""),
                                    stringOr(doc, "clusterArn", ""), n, ctx_.clock.epochSeconds()));
}

}  // namespace berth::control
