#pragma once
// The task engine's collaborators beyond images and the runtime (issue #5).
// TaskRunner calls each through TaskEnv; a null pointer there turns the
// feature off (fakes, --simulate). Implementations live in their own files:
//   network::TaskNetworking  src/network/   (CNI; FakeNetworking)
//   LogShipping              src/agent/awslogs_shipper.*   (awslogs driver)
//   SecretResolver           src/agent/ssm_secret_resolver.* (secrets from SSM)
//   TaskMetadataService      src/agent/metadata_server.*     (metadata v4 + credentials)
//
// Order the runner follows for a task (and the reverse on the way down):
//   pull images → resolve secrets → network setup → metadata registerTask →
//   volumes → create containers (env = definition + secrets + metadata env) →
//   logs attach → start in dependsOn order → ... → stop in reverse order →
//   logs detach → remove containers → metadata unregisterTask → volumes →
//   network teardown.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/local_record.h"
#include "agent/task_plan.h"
#include "common/result.h"
#include "network/task_network.h"

namespace berth::agent {

// --- awslogs ---------------------------------------------------------------

// A container's awslogs destination (logConfiguration.options).
struct AwsLogsTarget {
  std::string group;   // awslogs-group (required)
  std::string stream;  // PREFIX/CONTAINER/TASK-ID with awslogs-stream-prefix, else the runtime id
  std::string region;  // awslogs-region ("" = the agent's)
  bool createGroup = false;  // awslogs-create-group "true"
  bool nonBlocking = false;  // mode=non-blocking (lines may be dropped rather than stall the container)
};

// The awslogs target of a container, nullopt when its log driver is not
// awslogs. Errors (kInvalidParameter) for an awslogs configuration without a group.
Result<std::optional<AwsLogsTarget>> awslogsTargetFor(const ContainerPlan& container, const TaskPlan& task,
                                                      const std::string& runtimeId);

class LogShipping {
 public:
  virtual ~LogShipping() = default;
  // Starts shipping `logPath` (conmon's k8s-file: "<RFC3339Nano> stdout|stderr F|P <text>")
  // to `target`. Called after the container is created and before it starts,
  // and again on agent restart for running containers: shipping resumes from
  // the durable offset it keeps beside the log, so no line is sent twice or lost.
  virtual Status attach(const std::string& runtimeId, const std::string& logPath, const AwsLogsTarget& target) = 0;
  // Ships what is left in the file (bounded wait), then stops. Called once the
  // container has stopped, before its files are removed.
  virtual void detach(const std::string& runtimeId) = 0;
};

// --- secrets ---------------------------------------------------------------

struct ContainerSecret {
  std::string name;       // environment variable name
  std::string valueFrom;  // SSM parameter name, "/path/name", or its ARN
};

class SecretResolver {
 public:
  virtual ~SecretResolver() = default;
  // Resolves every secret (SecureString decrypted). Error message is what the
  // task's stoppedReason says (it names the parameter, never a value).
  virtual Result<std::vector<std::pair<std::string, std::string>>> resolve(const std::vector<ContainerSecret>& secrets,
                                                                             const TaskPlan& task) = 0;
};

// --- task metadata endpoint v4 + credentials --------------------------------

// What the runner knows about its task right now (a copy; thread-safe to take).
struct TaskView {
  nlohmann::json task;  // the task document as the server delivered it (taskDefinition, overrides, ARNs)
  TaskRecord record;    // statuses, runtime ids, exit codes, health, image digests
  std::optional<network::TaskNetwork> network;
  nlohmann::json timestamps;  // pullStartedAt, pullStoppedAt, startedAt, ... (epoch seconds)
  // Per container name (metadata v4 container fields; all optional):
  // createdAt, startedAt, finishedAt, healthSince (epoch seconds),
  // healthOutput (string), restartCount (integer).
  nlohmann::json containerTimes = nlohmann::json::object();
};
using TaskViewFn = std::function<TaskView()>;

struct MetadataRegistration {
  std::string taskArn;
  std::string taskId;
  std::string networkMode;
  std::string netnsPath;    // where to serve from (empty: host namespace)
  std::string taskRoleArn;  // "" = no credentials endpoint for this task
  std::vector<std::pair<std::string, std::string>> containers;  // (name, runtime id)
  TaskViewFn view;
};

// Environment variables to add, per container name.
using MetadataEnv = std::map<std::string, std::vector<std::pair<std::string, std::string>>>;

class TaskMetadataService {
 public:
  virtual ~TaskMetadataService() = default;
  // Makes the endpoints reachable from inside the task and returns the
  // variables that point at them (ECS_CONTAINER_METADATA_URI_V4,
  // ECS_CONTAINER_METADATA_URI, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or
  // _FULL_URI). Called again after an agent restart for running tasks.
  virtual Result<MetadataEnv> registerTask(const MetadataRegistration& registration) = 0;
  virtual void unregisterTask(const std::string& taskId) = 0;
};

}  // namespace berth::agent
