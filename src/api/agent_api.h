#pragma once
// BerthAgentService_V1: the Berth-own part of the agent protocol
// (docs/dev/agent-protocol.md) on the JSON 1.1 router. Signed like ECS calls
// (SigV4 scope service "ecs"); no botocore model, so the operations check
// their own input. Errors use ECS's exception names.
#include <chrono>

#include "api/json_protocol_router.h"
#include "api/task_credentials.h"
#include "control/agent_channel.h"

namespace berth::api {

inline constexpr const char* kAgentTargetPrefix = "BerthAgentService_V1";

// How long task credentials minted for agents last (the agent refreshes them
// at half-life, as the ECS agent does with its credentials).
inline constexpr std::chrono::seconds kTaskCredentialLifetime{3600};

// The agent service bound to `channel` (which must outlive the router).
// With `issuer`, GetTaskCredentials {cluster, containerInstance, task} answers
// {"taskArn", "roleArn", "credentials": {"accessKeyId", "secretAccessKey",
// "sessionToken", "expiration" (epoch seconds)}} for a task with a role that
// runs on the calling instance; without it the operation is not offered.
JsonService makeAgentService(control::AgentChannel& channel, TaskCredentialIssuer* issuer = nullptr);

}  // namespace berth::api
