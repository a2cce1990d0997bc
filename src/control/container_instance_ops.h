#pragma once
// ECS container instance operations (request document in, response document
// out, shapes of the botocore ECS model) and the helpers task operations and
// the agent channel share.
//
// Stored document (key keys::containerInstance(cluster, id)): the
// ContainerInstance shape as DescribeContainerInstances shows it, minus the
// counts computed from tasks (runningTasksCount, pendingTasksCount), plus
// "berth": {"cluster", "id", "deregisteredAt"?} which is never rendered.
// A deregistered instance stays, status INACTIVE, for the retention window
// (describable, not listed, not counted by the cluster), then is reaped.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "control/ecs_context.h"
#include "control/resources.h"

namespace berth::control {

Result<nlohmann::json> registerContainerInstance(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> deregisterContainerInstance(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> describeContainerInstances(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> listContainerInstances(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> updateContainerInstancesState(EcsContext& ctx, const nlohmann::json& request);

std::string containerInstanceArn(const AccountInfo& a, std::string_view cluster, std::string_view id);
// "id" or "arn:...:container-instance/<cluster>/<id>" (legacy "container-instance/<id>")
// → id. nullopt for malformed input or an ARN naming another cluster.
std::optional<std::string> containerInstanceIdFromRef(std::string_view ref, std::string_view cluster);
// Berth's stand-in for the EC2 instance id: "i-" + 17 hex digits of the id.
std::string ec2InstanceIdFor(std::string_view id);

// The instance's registered / remaining resources from its stored document.
InstanceResources registeredResourcesOf(const nlohmann::json& instanceDoc);
InstanceResources remainingResourcesOf(const nlohmann::json& instanceDoc);
void setRemainingResources(nlohmann::json& instanceDoc, const InstanceResources& remaining);

// The value of attribute `name` on a stored instance, if set.
std::optional<std::string> instanceAttribute(const nlohmann::json& instanceDoc, std::string_view name);

// Sets agentConnected on a registered instance (a durable write only when it
// changes). kNotFound if the instance is not registered.
Status setAgentConnected(EcsContext& ctx, const std::string& cluster, const std::string& id, bool connected);

}  // namespace berth::control
