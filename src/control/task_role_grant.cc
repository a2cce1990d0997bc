#include "control/task_role_grant.h"

#include "control/cluster_ops.h"
#include "control/container_instance_ops.h"
#include "control/json_fields.h"
#include "control/keys.h"
#include "control/task_ops.h"

namespace berth::control {

using nlohmann::json;

Result<TaskRoleGrant> taskRoleForAgent(const EcsContext& ctx, const json& request) {
  auto invalid = [](std::string m) { return Error::make(ErrorCode::kInvalidParameter, std::move(m)); };
  if (auto* c = optField(request, "cluster"); c && !c->is_string()) return invalid("cluster must be a string.");
  auto instanceRef = optString(request, "containerInstance");
  if (!instanceRef || instanceRef->empty())
    return invalid("containerInstance must be specified (the container instance ARN).");
  auto taskRef = optString(request, "task");
  if (!taskRef || taskRef->empty()) return invalid("task must be specified (the task ARN).");
  auto cluster = resolveActiveCluster(ctx, request);
  if (!cluster.ok()) return cluster.takeError();
  auto instanceId = containerInstanceIdFromRef(*instanceRef, *cluster);
  if (!instanceId) return invalid("containerInstance '" + *instanceRef + "' is not a container instance ARN or ID.");
  auto taskId = taskIdFromRef(*taskRef, *cluster);
  if (!taskId) return invalid("task '" + *taskRef + "' is not a task ARN or ID.");

  auto task = ctx.cache.get(keys::task(*cluster, *taskId));
  const json berth = task ? task->doc.value("berth", json::object()) : json::object();
  // Unknown and foreign tasks get the same answer: an agent learns nothing
  // about tasks that are not its own.
  if (!task || berth.value("instanceId", "") != *instanceId)
    return Error::make(ErrorCode::kClient,
                       "The task " + *taskRef + " is not running on container instance " + *instanceRef + ".");
  const std::string taskArn = task->doc.value("taskArn", "");
  if (task->doc.value("lastStatus", "") == "STOPPED")
    return Error::make(ErrorCode::kClient, "The task " + taskArn + " is stopped; it gets no credentials.");

  std::string role = task->doc.value("overrides", json::object()).value("taskRoleArn", "");
  if (role.empty()) {
    auto td = ctx.cache.get(berth.value("taskDefinitionKey", ""));
    if (td) role = td->doc.value("taskDefinition", json::object()).value("taskRoleArn", "");
  }
  if (role.empty())
    return Error::make(ErrorCode::kClient, "The task " + taskArn + " has no task role (taskRoleArn).");
  return TaskRoleGrant{taskArn, role};
}

}  // namespace berth::control
