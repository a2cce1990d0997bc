#pragma once
// Pure pieces of the task engine: what each container of a task should run
// (definition merged with overrides) and the task-level conclusions ECS draws
// from container states. No I/O, so the engine's decisions are unit-tested.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::agent {

// dependsOn[] entry. condition: START | COMPLETE | SUCCESS | HEALTHY.
struct ContainerDependency {
  std::string containerName;
  std::string condition;
};

struct ContainerPlan {
  std::string name;
  std::string image;
  bool essential = true;
  std::optional<std::vector<std::string>> entryPoint;
  std::optional<std::vector<std::string>> command;
  std::vector<std::pair<std::string, std::string>> environment;
  std::int64_t cpu = 0;
  std::int64_t memoryMiB = 0;
  std::int64_t memoryReservationMiB = 0;
  std::optional<int> stopTimeoutSeconds;
  std::optional<int> startTimeoutSeconds;  // how long to wait for dependsOn before giving up
  std::vector<ContainerDependency> dependsOn;
  nlohmann::json definition;  // the full container definition (after overrides)
};

struct TaskPlan {
  std::string taskArn;
  std::string taskId;  // last ARN segment
  std::string cluster;
  std::int64_t taskCpu = 0;        // units; 0 = unset
  std::int64_t taskMemoryMiB = 0;  // 0 = unset
  std::string networkMode;
  std::string taskRoleArn;
  nlohmann::json volumes = nlohmann::json::array();  // the task definition's volumes[]
  std::vector<ContainerPlan> containers;  // in definition order (start order comes from dependsOn)
};

// Builds the plan from the task document the server delivered (with
// "taskDefinition" and "overrides"). Errors mean the document is unusable.
Result<TaskPlan> planTask(const nlohmann::json& task);

// Runtime container id for a task's container: stable across agent restarts.
std::string runtimeContainerId(const std::string& taskId, const std::string& containerName);

// ECS's reason for an OOM kill and the exit code it reports.
inline constexpr const char* kOomReason = "OutOfMemoryError: Container killed due to memory usage";
inline constexpr const char* kEssentialExitedReason = "Essential container in task exited";

}  // namespace berth::agent
