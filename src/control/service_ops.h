#pragma once
// ECS service operations: CreateService, UpdateService, DeleteService,
// DescribeServices, ListServices (reference/ecs-services.md). They record what
// the user wants; control/service_controller makes it so.
//
// Stored document (key keys::service(cluster, serviceName)): the Service shape
// as DescribeServices shows it (renderService() removes the internals) with:
//   "deployments": newest first, [0] is PRIMARY; Deployment shapes (id,
//       status, taskDefinition, desiredCount, pendingCount, runningCount,
//       failedTasks, createdAt, updatedAt, launchType | capacityProviderStrategy,
//       networkConfiguration, rolloutState, rolloutStateReason), each with
//       "berth": {"launchRequest": the RunTask-shaped request that starts one
//       of its tasks: cluster, taskDefinition (ARN), launchType |
//       capacityProviderStrategy, placementConstraints, placementStrategy (the
//       service default spread(attribute:ecs.availability-zone),
//       spread(instanceId) when the service names none), networkConfiguration,
//       group "service:<name>", startedBy <deployment id>, tags (propagateTags
//       applied), enableExecuteCommand}
//   "events": newest first, at most scheduler::kMaxServiceEvents, {id, createdAt, message}
//   "berth": {
//       "cluster", "name",
//       "updatedAt": epoch of the last CreateService/UpdateService (resets the launch throttle),
//       "lastCompletedDeployment": the newest deployment that reached COMPLETED
//           (a full deployments[] element, berth.launchRequest included), absent until one did,
//       "lastSteadyStateEventAt", "launchesThrottledUntil", "lastStuckEventAt": controller
//           bookkeeping (epoch, 0 = none), passed back into scheduler::ServiceInput each round,
//       "clientToken": CreateService idempotency,
//       "revision": bumped by every UpdateService so the controller sees user changes }
// Status: ACTIVE → DRAINING (DeleteService) → INACTIVE (the controller, once
// no task of it is left that is not STOPPED). INACTIVE services stay
// describable for a while and are then deleted by the reaper.
//
// A new deployment (new PRIMARY, the previous PRIMARY becomes ACTIVE) is made
// on a change of task definition, network configuration, placement,
// launch type / capacity providers, or forceNewDeployment; a desiredCount-only
// change resizes the PRIMARY.
#include <chrono>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "control/ecs_context.h"

namespace berth::control {

Result<nlohmann::json> createService(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> updateService(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> deleteService(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> describeServices(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> listServices(EcsContext& ctx, const nlohmann::json& request);

// The Service shape of a stored service document (internals removed, tags only when asked for).
nlohmann::json renderService(const nlohmann::json& stored, bool includeTags);

std::string serviceArn(const AccountInfo& a, std::string_view cluster, std::string_view name);

// A new deployment id: "ecs-svc/" + 19 decimal digits.
std::string newDeploymentId(Random& random);

inline constexpr std::chrono::seconds kDefaultInactiveServiceRetention{3600};

// Deletes INACTIVE services that have been INACTIVE for at least `retention`
// (then DescribeServices reports them MISSING and their name is free). The
// INACTIVE moment is berth.inactiveAt (epoch): DeleteService sets it when it
// goes straight to INACTIVE; for a service the controller made INACTIVE
// without setting it, the first pass stamps `now` and a later one deletes.
// Returns how many services were deleted. The server calls it every minute.
Result<std::int64_t> reapInactiveServices(EcsContext& ctx, std::chrono::system_clock::time_point now,
                                          std::chrono::seconds retention = kDefaultInactiveServiceRetention);

}  // namespace berth::control
