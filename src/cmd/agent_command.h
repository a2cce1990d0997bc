#pragma once
// `berth agent`: the node agent as its own process, and the pieces `berth up`
// reuses to run one next to the server.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "agent/agent.h"
#include "api/credentials.h"

namespace berth::cmd {

struct AgentConfig {
  std::string server;  // http://HOST:PORT
  std::string cluster = "default";
  std::string dataDir = "./berth-agent";
  std::vector<std::string> attributes;  // "k=v"
  std::string availabilityZone = "local-1a";
  std::string instanceType = "berth.local";
  std::int64_t cpu = 0;     // units; 0 = 1024 per core
  std::int64_t memory = 0;  // MiB; 0 = detected less the reserve
  std::string region;       // empty = AWS_REGION / AWS_DEFAULT_REGION / us-east-1
  std::string logLevel = "info";
  std::string pullBehavior = "default";  // ECS_IMAGE_PULL_BEHAVIOR
  bool fakeRuntime = false;              // no containers: FakeRuntime + instant images (tests, simulation)
  // Task networking (issue #5). Tests give every agent its own bridges and subnets.
  std::string bridgeName = "berth0";
  std::string bridgeSubnet = "10.213.0.0/16";
  std::string awsvpcBridgeName = "berth-vpc0";
  std::string awsvpcSubnet = "10.214.0.0/16";
  std::string dynamicHostPortRange;  // "LOW-HIGH"; empty = the kernel's ephemeral range
  int metadataPort = 51679;          // host-mode tasks reach the metadata endpoint on 127.0.0.1:PORT
  // Issue #6: --simulate N stands for N container instances with no containers
  // (agent/simulated_fleet.h); --availability-zone may then list zones "a,b,c".
  std::size_t simulate = 0;
  std::int64_t simulateStartDelayMs = 0;  // PENDING -> RUNNING
  std::int64_t simulateStopDelayMs = 0;   // desiredStatus STOPPED -> STOPPED
};

// A running agent with everything it owns (runtime, image store, record).
class NodeAgent {
 public:
  static Result<std::unique_ptr<NodeAgent>> start(const AgentConfig& config, const api::AwsCredentials& credentials);
  ~NodeAgent();  // stops the poll loop; containers keep running
  void stop();

 private:
  struct Parts;
  explicit NodeAgent(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

// Credentials for a standalone agent: BERTH_* first, then AWS_*.
Result<api::AwsCredentials> agentCredentialsFromEnv();

int runAgent(const AgentConfig& config);
// `berth agent --simulate N` (simulated_agent_command.cc); runAgent calls it.
int runSimulatedAgents(const AgentConfig& config, const api::AwsCredentials& credentials);

}  // namespace berth::cmd
