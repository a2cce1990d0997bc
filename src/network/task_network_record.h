#pragma once
// The durable per-task record of CniTaskNetworking (DATA/cni/tasks/<taskId>.json).
// Written BEFORE anything is created (namespace, CNI ADD), rewritten when
// setup finishes, removed only when teardown has undone everything — so a
// crash at any point leaves enough to clean up from the record alone.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "network/task_network.h"

namespace berth::network {

struct TaskNetworkRecord {
  static constexpr int kVersion = 1;
  std::string taskId;
  bool complete = false;        // setup() returned successfully
  std::string networkMode;
  std::string netnsPath;        // "" when no namespace (host)
  std::string containerId;      // CNI_CONTAINERID
  std::string ifName = "eth0";
  nlohmann::json conflist;      // null when no CNI network (host, none)
  nlohmann::json capabilityArgs = nlohmann::json::object();
  nlohmann::json cniResult;     // the cached ADD result; null until ADD finished
  std::vector<PortBinding> ports;  // host ports this task holds
  std::optional<TaskNetwork> network;  // what setup() returned (complete only)

  nlohmann::json toJson() const;
  static Result<TaskNetworkRecord> fromJson(const nlohmann::json& j);
};

// One directory of records.
class TaskNetworkRecordStore {
 public:
  explicit TaskNetworkRecordStore(std::string dir) : dir_(std::move(dir)) {}
  Status init() const;
  Status save(const TaskNetworkRecord& r) const;  // atomic + durable
  Result<std::optional<TaskNetworkRecord>> load(const std::string& taskId) const;
  Status remove(const std::string& taskId) const;
  Result<std::vector<std::string>> taskIds() const;

 private:
  std::string path(const std::string& taskId) const { return dir_ + "/" + taskId + ".json"; }
  std::string dir_;
};

// Task ids name files and namespaces: [A-Za-z0-9_.-], 1-128 chars, no leading dot.
Status validateTaskId(const std::string& taskId);

}  // namespace berth::network
