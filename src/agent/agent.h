#pragma once
// The node agent: registers this machine as a container instance, follows
// the server's task channel (PollTasks long poll), runs one TaskRunner per
// task and reports what happens. On start it re-attaches to the tasks in its
// local record, so an agent restart or crash does not disturb containers.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "agent/instance_registration.h"
#include "agent/local_record.h"
#include "agent/server_client.h"
#include "agent/task_runner.h"

namespace berth::agent {

struct AgentOptions {
  InstanceConfig instance;
  std::string dataDir;
  std::string agentVersion = "berth-0.1.0";
  std::chrono::seconds pollWait{20};
};

class Agent {
 public:
  // `env` is shared by every task runner; it and `client` must outlive the agent.
  Agent(AgentOptions options, ServerClient& client, TaskEnv& env, LocalRecord& record);
  ~Agent();

  // Registers (retrying while the server is unreachable) and recovers tasks.
  Status start();
  // Runs the poll loop until stop() is called.
  void run();
  // Ends run(); task runners stop watching but containers keep running.
  void stop();

  std::string containerInstanceArn() const;

 private:
  Status registerInstance();
  void applyTasks(const nlohmann::json& tasks);

  AgentOptions options_;
  ServerClient& client_;
  TaskEnv& env_;
  LocalRecord& record_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::string clusterArn_;
  std::string instanceArn_;
  std::int64_t version_ = 0;
  std::map<std::string, std::unique_ptr<TaskRunner>> runners_;
};

// StateReporter that sends SubmitTaskStateChange to the server.
class ServerStateReporter final : public StateReporter {
 public:
  explicit ServerStateReporter(ServerClient& client) : client_(client) {}
  Status submitTaskStateChange(const nlohmann::json& change) override;

 private:
  ServerClient& client_;
};

}  // namespace berth::agent
