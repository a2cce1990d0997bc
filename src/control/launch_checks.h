#pragma once
// Checks every way of launching tasks shares (RunTask/StartTask, and
// CreateService/UpdateService for the tasks their deployments will start), so
// both answer the same request with the same ECS message: which task
// definition, which launch type or capacity providers, which awsvpc network.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "control/ecs_context.h"

namespace berth::control {

struct LaunchTaskDefinition {
  std::string key;               // its store key
  nlohmann::json taskDefinition;  // the TaskDefinition shape
  nlohmann::json tags = nlohmann::json::array();
};
// request.taskDefinition: family, family:revision or ARN. `requireActive`:
// refuse a deregistered revision (services keep launching one they already run).
Result<LaunchTaskDefinition> resolveLaunchTaskDefinition(const EcsContext& ctx, const nlohmann::json& request,
                                                         bool requireActive);

struct LaunchTarget {
  std::optional<std::string> launchType;  // as requested (EC2 by default); absent with capacity providers
  nlohmann::json capacityProviderStrategy = nlohmann::json::array();
  std::optional<std::string> capacityProviderName;  // the first provider with a weight or base
  std::string effectiveLaunchType;  // EC2 | FARGATE | EXTERNAL (capacity providers are FARGATE ones)
};
// launchType xor capacityProviderStrategy (≤ 6 providers, all associated with
// the cluster, one with a weight or base), and the task definition must be
// compatible with the launch type.
Result<LaunchTarget> checkLaunchTarget(const EcsContext& ctx, const std::string& cluster, const nlohmann::json& request,
                                       const nlohmann::json& taskDefinition);

// awsvpc task definitions need request.networkConfiguration.awsvpcConfiguration
// (1-16 subnets, ≤ 5 security groups, assignPublicIp only on Fargate); other
// network modes refuse one. Returns the configuration with every member
// present ({"awsvpcConfiguration": {subnets, securityGroups, assignPublicIp}}),
// or nullopt for other network modes.
Result<std::optional<nlohmann::json>> checkNetworkConfiguration(const nlohmann::json& request,
                                                                const nlohmann::json& taskDefinition,
                                                                const std::string& effectiveLaunchType);

}  // namespace berth::control
