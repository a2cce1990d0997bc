#pragma once
// The deployments[] elements of a stored service document (service_ops.h):
// the Deployment shape DescribeServices shows plus berth.launchRequest, the
// RunTask-shaped request the service controller starts the deployment's tasks
// from (it must pass RunTask's validation as it is).
#include <string>

#include <nlohmann/json.hpp>

#include "control/service_spec.h"

namespace berth::control {

// The service scheduler's default placement when a REPLICA service names no
// strategy: spread across availability zones, then across instances.
nlohmann::json defaultServicePlacementStrategy();

// RunTask's `tags` for the service's tasks: the service's tags (SERVICE) or the
// task definition's (TASK_DEFINITION), none for NONE. ECS managed tags are not
// in here: RunTask refuses user tags starting with "aws:", so the request
// carries enableECSManagedTags instead and whoever launches adds
// aws:ecs:clusterName / aws:ecs:serviceName.
nlohmann::json propagatedTaskTags(const ServiceSpec& s);

// The RunTask-shaped request for one task of deployment `deploymentId`.
nlohmann::json launchRequestFor(const ServiceSpec& s, const std::string& deploymentId);

// A new PRIMARY deployment, IN_PROGRESS, counts 0.
nlohmann::json newDeploymentDoc(const ServiceSpec& s, const std::string& id, double now);

}  // namespace berth::control
