#pragma once
// Everything `berth server` runs, as one object: state store, state cache,
// ECS operations, agent channel, front door, HTTP server and housekeeping.
// `berth server` and `berth up` both start one; `up` adds a local agent.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "api/credentials.h"
#include "common/result.h"

namespace berth::cmd {

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";
  std::string dataDir = "./berth-data";
  std::string accountId = "000000000000";
  std::string region = "us-east-1";
  // PutLogEvents' full batch (1 MiB of messages, 10,000 events) is ~1.5 MB of JSON.
  std::size_t maxBodyBytes = 4 << 20;
  int workerThreads = 64;
  std::string logLevel = "info";
  std::int64_t stoppedTaskRetentionSeconds = 3600;  // stopped tasks stay describable this long
  // Registry: lifecycle policies and garbage collection run this often; an
  // unreferenced blob (or blob link) survives at least the grace period, which
  // covers the gap between a layer upload and the manifest push that uses it.
  std::int64_t registryMaintenanceSeconds = 300;
  std::int64_t registryGcGraceSeconds = 3600;
  bool registryAutoCreate = false;
  std::int64_t logsRetentionSeconds = 60;  // CloudWatch Logs retention enforcement period
  // An agent not heard from for this long is lost: its tasks become STOPPED
  // (control/agent_channel.h, Liveness). At least 30 (the agent's longest
  // poll is 20 s).
  std::int64_t instanceLostTimeoutSeconds = 180;
};

class ServerRuntime {
 public:
  // Opens the store, loads state and starts serving. Generated credentials are
  // printed to stdout once, on the start that created them.
  static Result<std::unique_ptr<ServerRuntime>> start(const ServerConfig& config);
  ~ServerRuntime();

  std::string address() const;  // "host:port" actually bound
  const api::AwsCredentials& credentials() const;

  // Long polls answer at once (agents stop waiting on us); call before
  // stopping an embedded agent so its poll loop ends promptly.
  void releaseWaiters();
  // Graceful stop: in-flight requests are answered, housekeeping ends, queued
  // writes commit, the store closes. Idempotent.
  void shutdown();

 private:
  struct Parts;
  explicit ServerRuntime(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace berth::cmd
