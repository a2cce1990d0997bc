#pragma once
// The server side of BerthAgentService_V1.GetTaskCredentials: which role an
// agent may get credentials for. The API layer mints them (api/task_credentials.h);
// this decides whether it may: the task must exist, run on the calling agent's
// container instance, not be STOPPED, and have a taskRoleArn (from the RunTask
// overrides, else from its task definition).
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "control/ecs_context.h"

namespace berth::control {

struct TaskRoleGrant {
  std::string taskArn;
  std::string roleArn;
};

// Request {"cluster", "containerInstance", "task"} (ARNs or ids). Errors:
// kInvalidParameter for malformed input, ClusterNotFoundException, kClient
// when the task is unknown, on another instance, stopped, or has no role.
Result<TaskRoleGrant> taskRoleForAgent(const EcsContext& ctx, const nlohmann::json& request);

}  // namespace berth::control
