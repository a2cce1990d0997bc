#pragma once
// `berth server` (and, until the agent exists, `berth up`): wires the store,
// the state cache, the ECS operations, the front door and the HTTP server,
// then waits for SIGTERM/SIGINT and shuts down gracefully.
#include <cstdint>
#include <string>

namespace berth::cmd {

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";
  std::string dataDir = "./berth-data";
  std::string accountId = "000000000000";
  std::string region = "us-east-1";
  std::size_t maxBodyBytes = 1 << 20;
  int workerThreads = 32;
  std::string logLevel = "info";
};

// Returns the process exit code.
int runServer(const ServerConfig& config);

}  // namespace berth::cmd
