#pragma once
// PutAttributes / DeleteAttributes / ListAttributes (ECS API; reference/
// ecs-scheduling.md §2). Attributes live in the stored container instance
// document's "attributes" list ([{"name", "value"?}], container_instance_ops.h),
// next to the built-in ones the agent registers, so the query language and
// placement read both the same way.
//
// Rules Berth applies (the model documents the limits, not every corner):
//  - targetType "container-instance" is the only target type; a short targetId
//    (the instance id) needs targetType, an ARN does not.
//  - Names 1-128 of [A-Za-z0-9-_/\.]; values 1-128 of letters, digits and
//    - _ . @ / \ : space, not starting or ending with a space; no value is fine.
//  - Built-in attributes (ecs.*, com.amazonaws.ecs.*) belong to the agent:
//    putting or deleting one is an InvalidParameterException.
//  - Up to 10 attributes per call; up to 10 custom attributes per instance
//    (AttributeLimitExceededException); a missing or deregistered instance is
//    TargetNotFoundException.
//  - A call is one transaction: every attribute is applied or none is.
#include <nlohmann/json.hpp>

#include "control/ecs_context.h"

namespace berth::control {

Result<nlohmann::json> putAttributes(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> deleteAttributes(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> listAttributes(EcsContext& ctx, const nlohmann::json& request);

// True for names only the agent sets (ecs.*, com.amazonaws.ecs.*).
bool isBuiltInAttribute(std::string_view name);

}  // namespace berth::control
