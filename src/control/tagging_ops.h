#pragma once
// TagResource / UntagResource / ListTagsForResource for every taggable ECS
// object. Convention: a taggable object's stored document keeps its tags in
// doc["tags"] as [{"key","value"}], so one code path serves all kinds.
#include <nlohmann/json.hpp>

#include "control/ecs_context.h"

namespace berth::control {

Result<nlohmann::json> tagResource(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> untagResource(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> listTagsForResource(EcsContext& ctx, const nlohmann::json& request);

// The store key of the object an ECS ARN names (nullopt if the ARN is not one
// of ours or names an unknown kind).
std::optional<std::string> storeKeyForArn(const AccountInfo& account, const std::string& arn);

}  // namespace berth::control
