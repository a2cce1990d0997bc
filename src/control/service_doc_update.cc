#include "control/service_doc_update.h"

namespace berth::control {
namespace {

using nlohmann::json;

// Sets a number field unless it already holds that value (an integer 5 and
// 5.0 compare equal, so a stored integer is not rewritten as a double).
void setNumber(json& doc, const char* field, double value) {
  auto it = doc.find(field);
  if (it != doc.end() && it->is_number() && *it == json(value)) return;
  if (value == static_cast<double>(static_cast<std::int64_t>(value))) doc[field] = static_cast<std::int64_t>(value);
  else doc[field] = value;
}

void setString(json& doc, const char* field, std::string_view value) {
  auto it = doc.find(field);
  if (it != doc.end() && it->is_string() && it->get_ref<const std::string&>() == value) return;
  doc[field] = std::string(value);
}

json deploymentJson(const scheduler::Deployment& d, const json* base) {
  json out = base ? *base : json::object();
  setString(out, "id", d.id);
  setString(out, "status", scheduler::deploymentStatusName(d.status));
  setString(out, "rolloutState", scheduler::rolloutStateName(d.rollout));
  setString(out, "rolloutStateReason", d.rolloutStateReason);
  setNumber(out, "desiredCount", d.desiredCount);
  setNumber(out, "runningCount", d.runningCount);
  setNumber(out, "pendingCount", d.pendingCount);
  setNumber(out, "failedTasks", d.failedTasks);
  // The planner leaves times it does not know at 0: keep the stored ones.
  if (d.createdAt > 0 || !out.contains("createdAt")) setNumber(out, "createdAt", d.createdAt);
  if (d.updatedAt > 0 || !out.contains("updatedAt")) setNumber(out, "updatedAt", d.updatedAt);
  return out;
}

}  // namespace

const json* storedDeployment(const json& service, const std::string& deploymentId) {
  if (auto it = service.find("deployments"); it != service.end() && it->is_array())
    for (const auto& d : *it)
      if (d.is_object() && d.value("id", "") == deploymentId) return &d;
  if (auto b = service.find("berth"); b != service.end() && b->is_object())
    if (auto last = b->find("lastCompletedDeployment"); last != b->end() && last->is_object() &&
                                                        last->value("id", "") == deploymentId)
      return &*last;
  return nullptr;
}

json updatedServiceDoc(const json& stored, const scheduler::ServicePlan& plan, const std::vector<std::string>& messages,
                       bool applyPlan, double now, Random& random) {
  json doc = stored;
  if (applyPlan) {
    json deployments = json::array();
    for (const auto& d : plan.deployments) deployments.push_back(deploymentJson(d, storedDeployment(stored, d.id)));
    if (doc.value("deployments", json()) != deployments) doc["deployments"] = std::move(deployments);
    // The service shows its PRIMARY's task definition: a rollback restores it.
    if (!doc["deployments"].empty())
      if (auto td = doc["deployments"][0].find("taskDefinition"); td != doc["deployments"][0].end() && td->is_string())
        setString(doc, "taskDefinition", td->get_ref<const std::string&>());
    setNumber(doc, "runningCount", plan.runningCount);
    setNumber(doc, "pendingCount", plan.pendingCount);
    if (doc.value("schedulingStrategy", "REPLICA") == "DAEMON") setNumber(doc, "desiredCount", plan.desiredCount);
    json& b = doc["berth"];
    if (plan.lastCompleted) {
      // Full object (berth.launchRequest included): the rollback target may
      // long have left deployments[].
      const json* base = nullptr;
      for (const auto& d : doc["deployments"])
        if (d.value("id", "") == plan.lastCompleted->id) base = &d;
      if (!base) base = storedDeployment(stored, plan.lastCompleted->id);
      json last = deploymentJson(*plan.lastCompleted, base);
      if (b.value("lastCompletedDeployment", json()) != last) b["lastCompletedDeployment"] = std::move(last);
    }
    setNumber(b, "lastSteadyStateEventAt", plan.lastSteadyStateEventAt);
    setNumber(b, "launchesThrottledUntil", plan.launchesThrottledUntil);
    setNumber(b, "lastStuckEventAt", plan.lastStuckEventAt);
    if (plan.drained && doc.value("status", "") != "INACTIVE") {
      doc["status"] = "INACTIVE";
      b["inactiveAt"] = now;  // the service reaper counts its retention from here
    }
  }
  if (!messages.empty()) {
    json events = json::array();
    for (auto it = messages.rbegin(); it != messages.rend() && events.size() < scheduler::kMaxServiceEvents; ++it)
      events.push_back({{"id", random.uuid()}, {"createdAt", now}, {"message", *it}});
    for (const auto& e : doc.value("events", json::array())) {
      if (events.size() >= scheduler::kMaxServiceEvents) break;
      events.push_back(e);
    }
    doc["events"] = std::move(events);
  }
  return doc;
}

}  // namespace berth::control
