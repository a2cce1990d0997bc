#pragma once
// The task metadata endpoint v4 and the credentials endpoint, served by the
// agent (TaskMetadataService, src/agent/task_hooks.h).
//
// Reachability without touching the host's routing:
//  * Tasks with their own network namespace (none, bridge, awsvpc): the agent
//    adds 169.254.170.2/32 to the namespace's `lo` and creates a listening
//    socket on 169.254.170.2:80 from a thread that has entered the namespace
//    (setns). A socket stays in the namespace it was created in, so the
//    agent's event loop serves it from the host. Containers get
//    ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/<runtime id> and
//    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/<id>, exactly as
//    on ECS. Requests are attributed to the task by the listener they arrive
//    on: a container can only ever see its own task.
//  * Host-mode tasks share the host's namespace: one shared listener on
//    127.0.0.1:<hostPort> (51679, the ECS agent's port), and the variables
//    point there (AWS_CONTAINER_CREDENTIALS_FULL_URI, which SDKs allow for
//    loopback). Requests are attributed by the ids in the path.
//
// Credentials: fetched from the server (GetTaskCredentials) when the task is
// registered, cached, and refreshed in the background at half their lifetime.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "agent/container_stats.h"
#include "agent/metadata_responses.h"
#include "agent/server_client.h"
#include "agent/task_hooks.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/result.h"

namespace berth::agent {

struct MetadataServerOptions {
  std::string hostAddress = "127.0.0.1";
  std::uint16_t hostPort = 51679;  // 0 = any free port (tests)
  std::string taskAddress = "169.254.170.2";
  std::uint16_t taskPort = 80;  // the port in the URIs tasks get
  // Where the listener in a task's namespace really binds. Not taskPort:
  // a socket on 169.254.170.2:80 in the task's namespace would make the
  // task's own bind to 0.0.0.0:80 fail (EADDRINUSE). A DNAT rule in the
  // namespace's OUTPUT chain sends taskAddress:taskPort here instead (ECS
  // reserves 51679 on its hosts for the same endpoint).
  std::uint16_t taskListenPort = 51679;
  // Keys the credentials-endpoint ids (HMAC of the task ARN), so the id a
  // container got survives an agent restart yet cannot be guessed by other
  // tasks. Pass something secret and stable (the agent's secret access key);
  // empty = a random key per process.
  std::string credentialIdKey;
  std::string region;            // PrivateDNSName of awsvpc tasks
  std::string availabilityZone;  // AvailabilityZone ("" = the task's)
  StatsSource stats;
  std::chrono::seconds refreshRetry{5};  // after a failed credentials fetch
};

// Gets a task's role credentials from the server.
using TaskCredentialsFetcher = std::function<Result<TaskRoleCredentials>(const std::string& taskArn)>;

// GetTaskCredentials over the agent channel. `identity` returns the cluster
// and container instance ARNs at the time of the call (known once registered).
TaskCredentialsFetcher serverCredentialsFetcher(ServerClient& client,
                                                std::function<std::pair<std::string, std::string>()> identity);

class MetadataServer final : public TaskMetadataService {
 public:
  // Listens on hostAddress:hostPort and starts the I/O and refresh threads.
  // `fetcher` may be empty (no credentials: tasks with roles get 500s).
  static Result<std::unique_ptr<MetadataServer>> start(MetadataServerOptions options, TaskCredentialsFetcher fetcher,
                                                       const Clock& clock, Random& random);
  ~MetadataServer() override;  // shutdown()

  Result<MetadataEnv> registerTask(const MetadataRegistration& registration) override;
  void unregisterTask(const std::string& taskId) override;

  std::uint16_t hostPort() const;
  void shutdown();

  class Impl;

 private:
  explicit MetadataServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Creates a TCP socket listening on address:port inside the network
// namespace at `netnsPath`, after adding address/32 to that namespace's `lo`
// (and bringing `lo` up). When `publicPort` differs from `port`, a DNAT rule in
// the namespace sends address:publicPort to address:port (added once).
// Returns the listening fd (owned by the caller).
Result<int> listenInNetworkNamespace(const std::string& netnsPath, const std::string& address, std::uint16_t port,
                                     std::uint16_t publicPort = 0);

}  // namespace berth::agent
