#pragma once
// What a simulated fleet (`berth agent --simulate N`) needs from the server:
// the same ECS operations and agent channel as a real agent
// (docs/dev/agent-protocol.md), with PollTasks in its batched form (issue #6).
// An interface so the fleet's tests run against an in-memory fake.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/server_client.h"
#include "common/result.h"

namespace berth::agent {

struct InstanceTasks {
  std::string containerInstanceArn;
  std::string containerInstanceStatus = "ACTIVE";  // INACTIVE: deregistered, register anew
  nlohmann::json tasks = nlohmann::json::array();  // the instance's full task set
};

struct PollBatchResult {
  std::int64_t version = 0;
  std::vector<InstanceTasks> instances;  // only instances whose task set changed after sinceVersion
};

class FleetChannel {
 public:
  virtual ~FleetChannel() = default;
  // CreateCluster (idempotent); returns the cluster ARN.
  virtual Result<std::string> createCluster(const std::string& name) = 0;
  // RegisterContainerInstance; returns the container instance ARN.
  virtual Result<std::string> registerContainerInstance(const nlohmann::json& request) = 0;
  // Batched PollTasks: waits up to `wait` for a change to any listed instance.
  // Every call is a heartbeat for every listed instance.
  virtual Result<PollBatchResult> pollTasks(const std::string& cluster, const std::vector<std::string>& instanceArns,
                                            std::int64_t sinceVersion, std::chrono::seconds wait) = 0;
  virtual Status submitTaskStateChange(const nlohmann::json& change) = 0;
  // Ends calls in flight (long polls) and makes later ones fail fast.
  virtual void cancel() = 0;
};

// The real server over a ServerClient (thread-safe: pooled connections).
//
// The FleetChannel over the server's public port: batched PollTasks
// (agent-protocol.md, "Issue #6 adds").
class ServerFleetChannel final : public FleetChannel {
 public:
  explicit ServerFleetChannel(ServerClient& client) : client_(client) {}

  Result<std::string> createCluster(const std::string& name) override;
  Result<std::string> registerContainerInstance(const nlohmann::json& request) override;
  Result<PollBatchResult> pollTasks(const std::string& cluster, const std::vector<std::string>& instanceArns,
                                    std::int64_t sinceVersion, std::chrono::seconds wait) override;
  Status submitTaskStateChange(const nlohmann::json& change) override;
  void cancel() override;

 private:
  ServerClient& client_;
};

}  // namespace berth::agent
