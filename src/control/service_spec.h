#pragma once
// What a service asks for, validated (reference/ecs-services.md §1, ecs-scheduling.md
// §5-§7): CreateService checks a request with it, UpdateService checks the
// stored service with the update's members laid over it, so both give the
// same answers with the same ECS messages.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "control/ecs_context.h"

namespace berth::control {

struct ServiceSpec {
  std::string cluster;
  std::string name;
  std::string schedulingStrategy = "REPLICA";  // REPLICA | DAEMON
  std::int64_t desiredCount = 0;               // DAEMON: 0 (the controller counts instances)
  // The resolved task definition: its ARN, its TaskDefinition shape and its tags.
  std::string taskDefinitionArn;
  nlohmann::json taskDefinition;
  nlohmann::json taskDefinitionTags = nlohmann::json::array();
  // Exactly one of the two is set (EC2 when the request names neither).
  std::optional<std::string> launchType;
  nlohmann::json capacityProviderStrategy = nlohmann::json::array();
  bool fargate = false;                        // FARGATE launch type or (Fargate) capacity providers
  std::optional<std::string> platformVersion;  // Fargate only: as given, "LATEST" by default
  // {deploymentCircuitBreaker {enable, rollback}, maximumPercent, minimumHealthyPercent}, defaults filled.
  nlohmann::json deploymentConfiguration;
  nlohmann::json placementConstraints = nlohmann::json::array();  // as given
  nlohmann::json placementStrategy = nlohmann::json::array();     // as given
  std::optional<nlohmann::json> networkConfiguration;
  nlohmann::json loadBalancers = nlohmann::json::array();
  std::optional<std::int64_t> healthCheckGracePeriodSeconds;
  std::optional<std::string> roleArn;
  nlohmann::json tags = nlohmann::json::array();
  std::string propagateTags = "NONE";  // NONE | SERVICE | TASK_DEFINITION
  bool enableECSManagedTags = false;
  bool enableExecuteCommand = false;
};

struct SpecRules {
  // CreateService, or UpdateService naming a taskDefinition: it must be
  // ACTIVE. A service keeps running (and resizing) on a revision deregistered
  // since, as on ECS.
  bool requireActiveTaskDefinition = true;
  // CreateService: a REPLICA service must name desiredCount, a DAEMON one must not.
  bool checkDesiredCount = true;
};

// `request` has CreateServiceRequest's members (serviceName, taskDefinition,
// desiredCount, launchType, ...); `cluster` is already resolved to an ACTIVE one.
Result<ServiceSpec> validateServiceSpec(const EcsContext& ctx, const std::string& cluster, const nlohmann::json& request,
                                        const SpecRules& rules);

// serviceName: 1-255 of [A-Za-z0-9_-].
bool validServiceName(const std::string& name);

// The CreateServiceRequest-shaped members of a stored service, so an update
// can lay its own members over them and validate the result.
nlohmann::json specRequestOf(const nlohmann::json& stored);

}  // namespace berth::control
