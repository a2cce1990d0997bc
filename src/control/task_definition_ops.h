#pragma once
// ECS task definition operations (request document in, response document out).
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "control/ecs_context.h"

namespace berth::control {

Result<nlohmann::json> registerTaskDefinition(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> describeTaskDefinition(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> listTaskDefinitions(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> listTaskDefinitionFamilies(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> deregisterTaskDefinition(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> deleteTaskDefinitions(EcsContext& ctx, const nlohmann::json& request);

// Removes DELETE_IN_PROGRESS revisions no task references any more (the
// server's housekeeping calls it every minute). Returns how many it removed.
Result<std::size_t> purgeDeletedTaskDefinitions(EcsContext& ctx);

struct TaskDefinitionRef {
  std::string family;
  std::optional<std::int64_t> revision;  // nullopt = latest ACTIVE
};
// Parses "family", "family:revision" or a task-definition ARN.
std::optional<TaskDefinitionRef> parseTaskDefinitionRef(const std::string& ref);

struct ResolvedTaskDefinition {
  std::string key;
  CachedObject object;  // doc = {"taskDefinition": {...}, "tags": [...]}
};
// For RunTask/CreateService later: the task definition a reference names, if any.
std::optional<ResolvedTaskDefinition> resolveTaskDefinition(const StateCache& cache, const TaskDefinitionRef& ref);

}  // namespace berth::control
