#pragma once
// BerthAgentService_V1: the Berth-own part of the agent protocol
// (docs/dev/agent-protocol.md) on the JSON 1.1 router. Signed like ECS calls
// (SigV4 scope service "ecs"); no botocore model, so the operations check
// their own input. Errors use ECS's exception names.
#include "api/json_protocol_router.h"
#include "control/agent_channel.h"

namespace berth::api {

inline constexpr const char* kAgentTargetPrefix = "BerthAgentService_V1";

// The agent service bound to `channel` (which must outlive the router).
JsonService makeAgentService(control::AgentChannel& channel);

}  // namespace berth::api
