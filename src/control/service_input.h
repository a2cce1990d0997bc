#pragma once
// Gathering a service's planner input (scheduler::ServiceInput) from the
// state: the stored service document (settings, deployments, bookkeeping),
// its tasks from the ServiceTaskIndex (no task JSON is read) and the
// container instances from the placement snapshot (no instance JSON either).
// Cost: O(tasks of the service), plus O(instances of the cluster) for DAEMON.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "control/ecs_context.h"
#include "control/service_task_index.h"
#include "scheduler/service_plan.h"

namespace berth::control {

struct GatheredService {
  scheduler::ServiceInput input;
  nlohmann::json doc;  // the stored service document the input was made from
  std::int64_t modRevision = 0;
};

// The parts of the document the plan depends on that only users change
// (UpdateService/DeleteService): if they differ between the document a plan
// was made from and the one about to be written, the plan is stale.
std::string planBasis(const nlohmann::json& serviceDoc);

// scheduler::ServiceSettings and deployments from a stored service document.
scheduler::ServiceSettings serviceSettings(const nlohmann::json& serviceDoc);
std::optional<scheduler::Deployment> deploymentFromJson(const nlohmann::json& d);

// nullopt when the service does not exist or is INACTIVE (nothing to do).
std::optional<GatheredService> gatherServiceInput(EcsContext& ctx, const ServiceTaskIndex& index, const ServiceKey& key);

}  // namespace berth::control
