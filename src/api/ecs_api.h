#pragma once
// The ECS service (AmazonEC2ContainerServiceV20141113) on the JSON 1.1 router.
#include "api/json_protocol_router.h"
#include "control/ecs_context.h"

namespace berth::api {

inline constexpr const char* kEcsTargetPrefix = "AmazonEC2ContainerServiceV20141113";

// ECS's exception names for berth error codes.
AwsError ecsError(const Error& error);

// The ECS service with every implemented operation bound to `ctx` (which must
// outlive the router).
JsonService makeEcsService(control::EcsContext& ctx);

}  // namespace berth::api
