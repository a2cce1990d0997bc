#pragma once
// ECS cluster operations. Each takes the request document (shaped as the
// botocore model's <Op>Request, types already checked) and returns the
// response document, or an Error whose code the protocol layer maps to AWS's
// exception.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "control/ecs_context.h"

namespace berth::control {

Result<nlohmann::json> createCluster(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> describeClusters(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> listClusters(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> updateCluster(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> updateClusterSettings(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> deleteCluster(EcsContext& ctx, const nlohmann::json& request);

// For other operations: resolves a "cluster" argument (name, ARN or absent =
// "default") to an ACTIVE cluster's name, or ClusterNotFoundException.
Result<std::string> resolveActiveCluster(const EcsContext& ctx, const nlohmann::json& request,
                                         const char* field = "cluster");

Error clusterNotFound();

}  // namespace berth::control
