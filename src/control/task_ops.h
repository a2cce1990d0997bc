#pragma once
// ECS task operations: RunTask, StartTask, StopTask, DescribeTasks, ListTasks,
// the agent's SubmitTaskStateChange / SubmitContainerStateChange, and the
// reaper of stopped tasks.
//
// Stored document (key keys::task(cluster, id)): the Task shape as
// DescribeTasks shows it (top-level "lastStatus" and "launchType" are what
// cluster counts read) plus "berth": internal fields never rendered:
//   cluster, id, instanceId, reserved (TaskDemand), essential [names],
//   healthChecked [names of containers with a healthCheck], taskDefinitionKey,
//   agentReported (bool), networkInterface (the agent's last report),
//   healthyAt (epoch the task first counted as healthy: when healthStatus
//   first became HEALTHY, or when it reached RUNNING if no essential
//   container is health-checked; the service circuit breaker reads it).
// Invariant: a task that is not STOPPED holds `reserved` on its instance's
// remainingResources; the write that makes it STOPPED gives it back, in the
// same transaction (compare-on-revision on the instance document). Host ports
// the agent reports in networkBindings that nobody held yet (dynamic ports)
// join `reserved` and the instance's ports in the report's transaction.
// awsvpc tasks carry an ElasticNetworkInterface attachment (task_reports.h):
// PRECREATED at launch, ATTACHED on the agent's networkInterface report,
// DELETED when the task stops.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/ecs_context.h"

namespace berth::control {

Result<nlohmann::json> runTask(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> startTask(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> stopTask(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> describeTasks(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> listTasks(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> submitTaskStateChange(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> submitContainerStateChange(EcsContext& ctx, const nlohmann::json& request);

// Service scheduler launches (control/service_controller): `count` tasks from
// a deployment's RunTask-shaped `launchRequest` (service_ops.h), with no
// RunTask count limit, through the cluster's launch lane (so they batch with
// RunTask and never over-commit). `onlyInstanceIds` (DAEMON) restricts
// placement to those instances, at most one task each. Returns the RunTask
// response shape {"tasks": [...], "failures": [{arn, reason}...]}.
Result<nlohmann::json> launchServiceTasks(EcsContext& ctx, const nlohmann::json& launchRequest, int count,
                                          const std::vector<std::string>& onlyInstanceIds = {});

// Stops tasks of one cluster for the service scheduler in as few transactions
// as possible: desiredStatus STOPPED, stopCode ServiceSchedulerInitiated, the
// given stoppedReason; like StopTask, a task no agent has picked up and whose
// agent is not connected goes straight to STOPPED. Tasks already stopping or
// gone are skipped. Returns how many it stopped.
Result<std::int64_t> stopTasksForScheduler(EcsContext& ctx, const std::string& cluster,
                                           const std::vector<std::pair<std::string, std::string>>& idAndReason);

inline constexpr std::chrono::seconds kDefaultStoppedTaskRetention{3600};

// Deletes STOPPED tasks whose stoppedAt is at least `retention` before `now`,
// and INACTIVE (deregistered) container instances deregistered that long ago.
// Returns how many objects were deleted. The server calls it every minute.
Result<std::int64_t> reapStoppedTasks(EcsContext& ctx, std::chrono::system_clock::time_point now,
                                      std::chrono::seconds retention = kDefaultStoppedTaskRetention);

std::string taskArn(const AccountInfo& a, std::string_view cluster, std::string_view id);
// "id" or "arn:...:task/<cluster>/<id>" (legacy "task/<id>") → id.
std::optional<std::string> taskIdFromRef(std::string_view ref, std::string_view cluster);

// The Task shape of a stored task document (internal fields removed; tags
// only when asked for).
nlohmann::json renderTask(const nlohmann::json& stored, bool includeTags);

// Marks a stored task STOPPED by the server (instance lost or forcibly
// deregistered): lastStatus/desiredStatus/containers STOPPED, timestamps,
// stoppedReason. Returns false if it was already STOPPED.
bool forceStopTaskDoc(nlohmann::json& task, double now, const std::string& reason);

}  // namespace berth::control
