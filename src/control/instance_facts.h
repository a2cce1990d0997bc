#pragma once
// The cluster query language (scheduler/query_language.h) over a stored
// container instance document: what ListContainerInstances' `filter`
// evaluates. Task facts (runningTasksCount, task:group) come from the
// cluster's tasks, gathered once per listing with InstanceTaskFacts.
#include <map>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "control/state_cache.h"
#include "scheduler/query_language.h"

namespace berth::control {

// The tasks (not STOPPED) on one instance, as the query language counts them.
struct InstanceTasks {
  int running = 0;  // lastStatus RUNNING, as DescribeContainerInstances' runningTasksCount
  std::set<std::string, std::less<>> groups;
};

// Per containerInstanceArn over a cluster's tasks.
std::map<std::string, InstanceTasks> tasksByInstance(const StateCache& cache, const std::string& cluster);

// Reads a stored instance document (container_instance_ops.h) in place; the
// document and `tasks` must outlive this object. `tasks` may be null (no tasks).
class InstanceDocFacts : public scheduler::InstanceFacts {
 public:
  InstanceDocFacts(const nlohmann::json& instanceDoc, const InstanceTasks* tasks) : doc_(instanceDoc), tasks_(tasks) {}

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
  const InstanceTasks* tasks_;
};

}  // namespace berth::control
