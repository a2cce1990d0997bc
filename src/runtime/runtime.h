#pragma once
// The container runtime seen by the agent. The real implementation runs each
// container under conmon + runc so containers outlive the agent; FakeRuntime
// moves containers through the same states in memory for tests and --simulate.
//
// Contract:
//  * Container ids are unique per host and stable: the agent derives them from
//    the task id and container name, so after a restart it finds its containers
//    again with list()/state().
//  * create() returns once the container exists (runc create done, process not
//    yet running the user's command); start() returns once it runs.
//  * state() is cheap and never blocks on the container; exit codes and OOM
//    kills survive an agent restart (conmon writes them to files).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::runtime {

struct ContainerCreate {
  std::string id;
  std::string bundleDir;         // created by the runtime if missing; holds config.json
  nlohmann::json ociSpec;        // the complete OCI runtime spec (config.json), see oci_spec.h
  std::string logPath;           // stdout+stderr in conmon's k8s-file format
  std::string cgroupParent;      // e.g. "/berth/<task-id>" (cgroupfs path under each controller)
};

enum class ContainerStatus : std::uint8_t { kCreated = 0, kRunning = 1, kStopped = 2, kUnknown = 3 };

struct ContainerState {
  std::string id;
  ContainerStatus status = ContainerStatus::kUnknown;
  int pid = 0;                          // 0 when not running
  std::optional<int> exitCode;          // set once stopped (128+signal when killed)
  bool oomKilled = false;
  std::optional<std::chrono::system_clock::time_point> startedAt, finishedAt;
};

// A process run inside a running container (health checks): `runc exec`
// under the container's namespaces, cgroup and user.
struct ExecRequest {
  std::vector<std::string> argv;  // argv[0] resolved on the container's PATH
  std::vector<std::string> env;   // "NAME=value"; empty = the container's own environment
  std::chrono::milliseconds timeout{30000};  // killed (SIGKILL) after this
};

struct ExecResult {
  int exitCode = -1;      // 128+signal when killed
  bool timedOut = false;  // the timeout fired (the process was killed)
  std::string output;     // stdout+stderr, at most the first 4 KiB
};

class Runtime {
 public:
  virtual ~Runtime() = default;
  virtual Status create(const ContainerCreate& request) = 0;
  virtual Status start(const std::string& id) = 0;
  // Sends a signal to the container's init process. Not an error if it already exited.
  virtual Status kill(const std::string& id, int signal) = 0;
  virtual Result<ContainerState> state(const std::string& id) = 0;
  // Removes a stopped (or, with force, a running) container and its runtime files.
  virtual Status remove(const std::string& id, bool force) = 0;
  // Ids of every container this runtime knows on this host (for reconcile on start).
  virtual Result<std::vector<std::string>> list() = 0;
  // Runs a process in a running container and waits for it (bounded by the
  // request's timeout). Errors only when it could not run at all (container
  // not running: kFailedPrecondition; not found: kNotFound).
  virtual Result<ExecResult> exec(const std::string& id, const ExecRequest& request) {
    (void)request;
    return Error::make(ErrorCode::kUnsupported, "exec is not supported by this runtime", id);
  }
};

}  // namespace berth::runtime
