#pragma once
// How a service plan lands in the stored service document (service_ops.h
// layout): deployments, counts, events, and the controller's bookkeeping
// under "berth". Pure apart from the event ids drawn from `random`.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/random.h"
#include "scheduler/service_plan.h"

namespace berth::control {

// The stored document after `plan`:
// - applyPlan (the document is still the one the plan was made from):
//   deployments[] from plan.deployments, each merged over the stored
//   deployment of the same id so berth.launchRequest and every field ops
//   wrote stay (a deployment that reappears, e.g. restored by a rollback,
//   takes its fields from berth.lastCompletedDeployment); taskDefinition
//   from the PRIMARY (so a rollback restores it); runningCount,
//   pendingCount, desiredCount (DAEMON only); berth.lastCompletedDeployment,
//   berth.lastSteadyStateEventAt, berth.launchesThrottledUntil,
//   berth.lastStuckEventAt; status INACTIVE (and berth.inactiveAt) when
//   plan.drained.
// - always: `messages` (oldest first) prepended to events[] newest first as
//   {id, createdAt: now, message}, keeping at most kMaxServiceEvents.
// The result equals `stored` when nothing changed (then nothing is written).
nlohmann::json updatedServiceDoc(const nlohmann::json& stored, const scheduler::ServicePlan& plan,
                                 const std::vector<std::string>& messages, bool applyPlan, double now, Random& random);

// The stored deployment object with this id: from deployments[], else
// berth.lastCompletedDeployment; nullptr when neither has it.
const nlohmann::json* storedDeployment(const nlohmann::json& service, const std::string& deploymentId);

}  // namespace berth::control
