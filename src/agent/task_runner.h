#pragma once
// One task's engine on the node. It is the only writer of its task's observed
// state: it pulls images, creates and starts containers, watches them, stops
// them (stop signal, stopTimeout, SIGKILL), cleans up, and reports each
// change to the server. It runs on its own thread and survives agent restarts
// through the local record (recover mode re-attaches to running containers).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/health_check.h"
#include "agent/local_record.h"
#include "agent/task_hooks.h"
#include "agent/task_volumes.h"
#include "agent/task_cgroup.h"
#include "agent/task_plan.h"
#include "common/clock.h"
#include "images/image_store.h"
#include "runtime/oci_spec.h"
#include "runtime/runtime.h"

namespace berth::agent {

// A container's root filesystem from an image (overlayfs in production, a
// plain directory in fakes).
class RootfsProvider {
 public:
  virtual ~RootfsProvider() = default;
  // Returns the absolute path of the prepared root filesystem.
  virtual Result<std::string> prepare(const images::Image& image, const std::string& containerDir) = 0;
  virtual Status release(const std::string& containerDir) = 0;
};

// Where state changes go (the server in production).
class StateReporter {
 public:
  virtual ~StateReporter() = default;
  // `change` is a SubmitTaskStateChange request body.
  virtual Status submitTaskStateChange(const nlohmann::json& change) = 0;
};

// Builds the OCI spec for a container; production uses runtime::buildOciSpec.
struct SpecInput {
  const ContainerPlan& container;
  const TaskPlan& task;
  const images::Image& image;
  std::string rootfs;
  std::string runtimeId;
  std::string cgroupsPath;
  // Issue #5: the task's network namespace ("" = a private one with loopback
  // only, or the host's for networkMode host), bind mounts (volumes, then the
  // task's generated /etc/hosts and /etc/resolv.conf), and environment added
  // after the definition's (resolved secrets, then metadata endpoint vars).
  std::string netnsPath;
  std::vector<runtime::BindMount> mounts;
  std::vector<std::pair<std::string, std::string>> extraEnv;
};
using SpecBuilder = std::function<Result<nlohmann::json>(const SpecInput&)>;

struct TaskEnv {
  images::ImageStore& images;
  runtime::Runtime& runtime;
  RootfsProvider& rootfs;
  StateReporter& reporter;
  LocalRecord& record;
  const Clock& clock;
  SpecBuilder specBuilder;
  std::string tasksDir;  // DIR/tasks
  images::PullBehavior pullBehavior = images::PullBehavior::kDefault;
  std::chrono::seconds defaultStopTimeout{30};  // ECS_CONTAINER_STOP_TIMEOUT
  std::chrono::milliseconds monitorInterval{50};
  // Applies task-level cpu/memory limits to the task's parent cgroup before
  // its containers are created (applyTaskCgroupLimits on a real node; empty
  // for fakes, which have no cgroups).
  std::function<Status(const std::string& cgroupPath, const TaskCgroupLimits&)> taskCgroup;
  // Issue #5 collaborators (task_hooks.h); null turns the feature off.
  network::TaskNetworking* network = nullptr;
  LogShipping* logs = nullptr;
  SecretResolver* secrets = nullptr;
  TaskMetadataService* metadata = nullptr;
  std::string volumesDir;  // DIR/volumes: dockerVolumeConfiguration volumes with scope "shared"
  // How often the health monitor looks for due probes (each container's
  // healthCheck.interval decides when a probe is due).
  std::chrono::milliseconds healthPollInterval{200};
};

class TaskRunner {
 public:
  // Starts the engine thread. `recovering` = the task was found in the local
  // record at agent start: re-attach instead of starting from scratch.
  TaskRunner(TaskEnv& env, TaskRecord record, bool recovering);
  ~TaskRunner();  // asks the thread to detach-stop (agent shutdown) and joins it

  TaskRunner(const TaskRunner&) = delete;
  TaskRunner& operator=(const TaskRunner&) = delete;

  // The server's desiredStatus for this task (RUNNING or STOPPED).
  void setDesiredStatus(const std::string& desired);
  bool finished() const { return finished_.load(); }
  std::string lastStatus() const;
  // A consistent copy of what the runner knows (the metadata endpoint reads it
  // from its own threads).
  TaskView view() const;

 private:

  void run();
  // task_start.cc: pull → secrets → network → metadata → volumes → create → logs attach.
  void start();
  Status prepareNetwork();
  Status writeNameFiles();
  Status createContainers();
  // dependsOn: starts what may start, stops the task when something never can.
  // Returns true when a container changed state.
  bool startReadyContainers();
  void recover();
  void monitor();
  bool pollContainers();
  bool pollHealth();
  // task_stop.cc
  void beginStop(const std::string& stopCode, const std::string& reason);
  void signalStoppableContainers();
  void cleanupAndStop();
  void failToStart(const std::string& reason);
  void containerStopped(ContainerRecord& c);
  void report(const std::string& status);
  nlohmann::json containerReport(const ContainerRecord& c) const;
  void persist();
  std::string taskDir() const;
  bool waitOrShutdown(std::chrono::milliseconds d);
  double now() const { return env_.clock.epochSeconds(); }

  TaskEnv& env_;
  TaskRecord record_;
  const bool recovering_;
  std::optional<TaskPlan> plan_;
  std::map<std::string, images::Image> imagesByContainer_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::string desired_;
  bool shutdown_ = false;  // agent stopping: leave containers running
  std::atomic<bool> finished_{false};

  // Stop bookkeeping.
  bool stopping_ = false;
  std::string stopCode_;
  std::string stoppedReason_;
  // Each container gets its own stopTimeout (or the agent default) before SIGKILL.
  // A container gets its stop signal once its dependents have stopped.
  std::map<std::string, std::chrono::steady_clock::time_point> killDeadlines_;
  std::set<std::string> signalled_;
  std::set<std::string> killed_;

  // Issue #5 state (runner thread only, except through view()).
  std::set<std::string> started_;  // containers whose start() succeeded
  std::map<std::string, std::chrono::steady_clock::time_point> startedAt_;
  std::map<std::string, HealthCheckConfig> healthChecks_;
  std::unique_ptr<HealthMonitor> health_;
  std::optional<network::TaskNetwork> network_;
  bool networkSetUp_ = false;
  bool metadataRegistered_ = false;
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> secretEnv_;  // never persisted or reported
  MetadataEnv metadataEnv_;
  TaskVolumes volumes_;
  std::set<std::string> logsAttached_;  // runtime ids
  // The metadata endpoint may ask for the view from its threads, even after
  // this runner is gone (agent shutdown): it holds the snapshot, not us.
  struct SharedView {
    std::mutex mu;
    TaskView view;
  };
  std::shared_ptr<SharedView> view_ = std::make_shared<SharedView>();
  TaskViewFn viewFn() const;
  nlohmann::json timestamps_ = nlohmann::json::object();
  std::thread thread_;
};

}  // namespace berth::agent
