#pragma once
// The cluster query language (scheduler/query_language.h) over a stored
// container instance document: what ListContainerInstances' `filter`
// evaluates. Task facts (runningTasksCount, task:group) come from the
// placement index (taskFactsOf), which keeps them from the task documents.
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "control/state_cache.h"
#include "scheduler/query_language.h"

namespace berth::control {

class PlacementIndex;

// The tasks (not STOPPED) on one instance, as the query language counts them.
struct InstanceTaskFacts {
  int running = 0;  // lastStatus RUNNING, as DescribeContainerInstances' runningTasksCount
  std::set<std::string, std::less<>> groups;
};

// The task facts of one stored instance document, from the placement index.
InstanceTaskFacts taskFactsOf(PlacementIndex& index, const std::string& cluster, const nlohmann::json& instanceDoc);

// Reads a stored instance document (container_instance_ops.h) in place; the
// document and `tasks` must outlive this object. `tasks` may be null (no tasks).
class InstanceDocFacts : public scheduler::InstanceFacts {
 public:
  InstanceDocFacts(const nlohmann::json& instanceDoc, const InstanceTaskFacts* tasks) : doc_(instanceDoc), tasks_(tasks) {}

  const std::string* attribute(std::string_view name) const override;
  std::string_view ec2InstanceId() const override;
  bool agentConnected() const override;
  std::string_view agentVersion() const override;
  double registeredAt() const override;
  int runningTasksCount() const override;
  bool hasTaskInGroup(std::string_view group) const override;

 private:
  std::string_view stringField(const nlohmann::json& object, const char* field) const;

  const nlohmann::json& doc_;
  const InstanceTaskFacts* tasks_;
};

}  // namespace berth::control
