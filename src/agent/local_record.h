#pragma once
// The agent's small durable record: which instance it is and which tasks and
// containers it started. Everything else it can rebuild from the server
// (desired state) and from the runtime (what is actually running), which is
// what recover-on-start does. Written atomically (temp file, fsync, rename).
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::agent {

struct ContainerRecord {
  std::string name;
  std::string runtimeId;
  std::string lastStatus = "PENDING";  // PENDING | RUNNING | STOPPED (ECS container statuses)
  std::optional<int> exitCode;
  std::string reason;
  std::string imageDigest;  // manifest digest of the pulled image (DescribeTasks containers[].imageDigest)
  std::string healthStatus = "UNKNOWN";  // HEALTHY | UNHEALTHY | UNKNOWN (no check, or not decided yet)
};

struct TaskRecord {
  std::string taskArn;
  std::string lastStatus = "PENDING";  // the last status the agent reported
  std::string desiredStatus = "RUNNING";
  nlohmann::json task;                 // the task document as the server delivered it
  std::vector<ContainerRecord> containers;
};

// The task's container record by name; nullptr when it has none.
ContainerRecord* findContainer(TaskRecord& task, const std::string& name);

struct AgentState {
  std::string clusterArn;
  std::string containerInstanceArn;
  std::map<std::string, TaskRecord> tasks;  // by task ARN
};

nlohmann::json toJson(const AgentState& state);
Result<AgentState> agentStateFromJson(const nlohmann::json& doc);

class LocalRecord {
 public:
  // Loads DIR/agent-state.json, or an empty state if it does not exist yet.
  static Result<std::unique_ptr<LocalRecord>> open(const std::string& dataDir);

  AgentState snapshot() const;
  // Applies `change` to the state and persists it before returning.
  Status update(const std::function<void(AgentState&)>& change);

 private:
  LocalRecord(std::string path, AgentState state) : path_(std::move(path)), state_(std::move(state)) {}
  Status persist(const AgentState& state) const;

  const std::string path_;
  mutable std::mutex mu_;
  AgentState state_;
};

}  // namespace berth::agent
