#include "control/deployment_docs.h"

namespace berth::control {

using nlohmann::json;

json defaultServicePlacementStrategy() {
  return json::array({{{"type", "spread"}, {"field", "attribute:ecs.availability-zone"}},
                      {{"type", "spread"}, {"field", "instanceId"}}});
}

json propagatedTaskTags(const ServiceSpec& s) {
  if (s.propagateTags == "SERVICE") return s.tags;
  if (s.propagateTags == "TASK_DEFINITION") return s.taskDefinitionTags;
  return json::array();
}

json launchRequestFor(const ServiceSpec& s, const std::string& deploymentId) {
  json r = {
      {"cluster", s.cluster},
      {"taskDefinition", s.taskDefinitionArn},
      {"placementConstraints", s.placementConstraints},
      {"group", "service:" + s.name},
      {"startedBy", deploymentId},
      {"tags", propagatedTaskTags(s)},
      {"enableECSManagedTags", s.enableECSManagedTags},
      {"enableExecuteCommand", s.enableExecuteCommand},
  };
  // DAEMON tasks go one to each eligible instance: no strategy to apply.
  if (s.schedulingStrategy == "DAEMON") r["placementStrategy"] = json::array();
  else r["placementStrategy"] = s.placementStrategy.empty() ? defaultServicePlacementStrategy() : s.placementStrategy;
  if (s.launchType) r["launchType"] = *s.launchType;
  else r["capacityProviderStrategy"] = s.capacityProviderStrategy;
  if (s.platformVersion) r["platformVersion"] = *s.platformVersion;
  if (s.networkConfiguration) r["networkConfiguration"] = *s.networkConfiguration;
  return r;
}

json newDeploymentDoc(const ServiceSpec& s, const std::string& id, double now) {
  json d = {
      {"id", id},
      {"status", "PRIMARY"},
      {"taskDefinition", s.taskDefinitionArn},
      {"desiredCount", s.desiredCount},
      {"pendingCount", 0},
      {"runningCount", 0},
      {"failedTasks", 0},
      {"createdAt", now},
      {"updatedAt", now},
      {"rolloutState", "IN_PROGRESS"},
      {"rolloutStateReason", "ECS deployment " + id + " in progress."},
  };
  if (s.launchType) d["launchType"] = *s.launchType;
  else d["capacityProviderStrategy"] = s.capacityProviderStrategy;
  if (s.fargate) {
    // Deployments show the platform version LATEST resolved to (tasks run 1.4.0).
    d["platformVersion"] = s.platformVersion == "LATEST" ? "1.4.0" : s.platformVersion.value_or("1.4.0");
    d["platformFamily"] = "Linux";
  }
  if (s.networkConfiguration) d["networkConfiguration"] = *s.networkConfiguration;
  d["berth"] = {{"launchRequest", launchRequestFor(s, id)}};
  return d;
}

}  // namespace berth::control
