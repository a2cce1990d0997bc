#include "agent/task_runner.h"

#include <signal.h>

#include <filesystem>

#include "common/log.h"
#include "runtime/cgroups.h"

namespace berth::agent {
namespace {

int stopSignalOf(const images::Image& image) {
  // Docker's StopSignal in the image config; SIGTERM when absent or unknown.
  std::string s = image.config.is_object() ? image.config.value("StopSignal", "") : "";
  if (s == "SIGINT" || s == "2") return SIGINT;
  if (s == "SIGQUIT" || s == "3") return SIGQUIT;
  if (s == "SIGKILL" || s == "9") return SIGKILL;
  if (s == "SIGHUP" || s == "1") return SIGHUP;
  if (s == "SIGUSR1" || s == "10") return SIGUSR1;
  if (s == "SIGUSR2" || s == "12") return SIGUSR2;
  return SIGTERM;
}

ContainerRecord* findContainer(TaskRecord& r, const std::string& name) {
  for (auto& c : r.containers)
    if (c.name == name) return &c;
  return nullptr;
}

}  // namespace

TaskRunner::TaskRunner(TaskEnv& env, TaskRecord record, bool recovering)
    : env_(env), record_(std::move(record)), recovering_(recovering), desired_(record_.desiredStatus) {
  thread_ = std::thread([this] { run(); });
}

TaskRunner::~TaskRunner() {
  {
    std::lock_guard lock(mu_);
    shutdown_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void TaskRunner::setDesiredStatus(const std::string& desired) {
  {
    std::lock_guard lock(mu_);
    desired_ = desired;
  }
  wake_.notify_all();
}

std::string TaskRunner::lastStatus() const {
  std::lock_guard lock(mu_);
  return record_.lastStatus;
}

bool TaskRunner::waitOrShutdown(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  wake_.wait_for(lock, d, [&] { return shutdown_; });
  return shutdown_;
}

void TaskRunner::persist() {
  auto snapshot = record_;
  auto st = env_.record.update([&](AgentState& s) { s.tasks[snapshot.taskArn] = snapshot; });
  if (!st.ok()) log::error("cannot persist task record", {{"task", record_.taskArn}, {"error", st.error().message}});
}

void TaskRunner::report(const std::string& status) {
  {
    std::lock_guard lock(mu_);
    record_.lastStatus = status;
  }
  nlohmann::json containers = nlohmann::json::array();
  for (const auto& c : record_.containers) {
    nlohmann::json cj = {{"containerName", c.name}, {"status", c.lastStatus}};
    if (!c.runtimeId.empty()) cj["runtimeId"] = c.runtimeId;
    if (c.exitCode) cj["exitCode"] = *c.exitCode;
    if (!c.imageDigest.empty()) cj["imageDigest"] = c.imageDigest;
    if (!c.reason.empty()) cj["reason"] = c.reason.substr(0, 255);
    containers.push_back(std::move(cj));
  }
  nlohmann::json change = {{"cluster", plan_ ? plan_->cluster : record_.task.value("clusterArn", "")},
                           {"task", record_.taskArn},
                           {"status", status},
                           {"containers", containers}};
  for (auto it = timestamps_.begin(); it != timestamps_.end(); ++it) change[it.key()] = it.value();
  if (!stopCode_.empty()) change["stopCode"] = stopCode_;
  if (!stoppedReason_.empty()) change["reason"] = stoppedReason_.substr(0, 255);
  persist();
  // The server may be briefly unreachable; keep trying a few times, later
  // changes carry the full state again anyway.
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto st = env_.reporter.submitTaskStateChange(change);
    if (st.ok()) return;
    log::warn("state report failed", {{"task", record_.taskArn}, {"status", status}, {"error", st.error().message}});
    if (waitOrShutdown(std::chrono::milliseconds(200 << attempt))) return;
  }
}

void TaskRunner::run() {
  auto plan = planTask(record_.task);
  if (!plan.ok()) {
    log::error("unusable task document", {{"task", record_.taskArn}, {"error", plan.error().message}});
    failToStart("ResourceInitializationError: " + plan.error().message);
    finished_ = true;
    return;
  }
  plan_ = std::move(*plan);
  if (record_.containers.empty()) {
    for (const auto& c : plan_->containers)
      record_.containers.push_back(ContainerRecord{c.name, runtimeContainerId(plan_->taskId, c.name), "PENDING", {}, ""});
  }
  if (recovering_) recover();
  else start();
  if (!finished_) monitor();
  finished_ = true;
}

void TaskRunner::failToStart(const std::string& reason) {
  stopCode_ = "TaskFailedToStart";
  stoppedReason_ = reason;
  for (auto& c : record_.containers) {
    if (c.lastStatus != "STOPPED") {
      c.lastStatus = "STOPPED";
      if (c.reason.empty()) c.reason = reason;
    }
  }
  cleanupAndStop();
}

void TaskRunner::start() {
  {
    std::lock_guard lock(mu_);
    if (desired_ == "STOPPED") {
      // Stopped before we began: nothing ran.
      stoppedReason_ = "Task stopped before it started";
    }
  }
  if (!stoppedReason_.empty()) {
    for (auto& c : record_.containers) c.lastStatus = "STOPPED";
    cleanupAndStop();
    return;
  }
  persist();
  // Pull every image first (ECS reports one pull window for the task).
  timestamps_["pullStartedAt"] = now();
  for (const auto& c : plan_->containers) {
    images::PullRequest req{c.image, env_.pullBehavior, std::nullopt};
    auto image = env_.images.pull(req);
    if (!image.ok()) {
      timestamps_["pullStoppedAt"] = now();
      auto* rec = findContainer(record_, c.name);
      std::string reason = "CannotPullContainerError: " + image.error().message;
      if (rec) rec->reason = reason;
      failToStart(reason);
      return;
    }
    if (auto* rec = findContainer(record_, c.name)) rec->imageDigest = image->manifestDigest;
    imagesByContainer_.emplace(c.name, std::move(*image));
    if (waitOrShutdown(std::chrono::milliseconds(0))) return;
  }
  timestamps_["pullStoppedAt"] = now();

  if (env_.taskCgroup) {
    auto limits = env_.taskCgroup("/berth/" + plan_->taskId, TaskCgroupLimits{plan_->taskCpu, plan_->taskMemoryMiB});
    if (!limits.ok()) {
      failToStart("ResourceInitializationError: cannot apply task cpu/memory limits: " + limits.error().message);
      return;
    }
  }
  // Create, then start, in definition order (dependsOn ordering comes with #5).
  for (const auto& c : plan_->containers) {
    auto* rec = findContainer(record_, c.name);
    const auto& image = imagesByContainer_.at(c.name);
    const std::string containerDir = (std::filesystem::path(env_.tasksDir) / plan_->taskId / c.name).string();
    std::error_code ec;
    std::filesystem::create_directories(containerDir, ec);
    auto rootfs = env_.rootfs.prepare(image, containerDir);
    if (!rootfs.ok()) {
      rec->reason = "CannotCreateContainerError: " + rootfs.error().message;
      failToStart(rec->reason);
      return;
    }
    SpecInput in{c, *plan_, image, *rootfs, rec->runtimeId, "/berth/" + plan_->taskId + "/" + c.name};
    auto spec = env_.specBuilder(in);
    if (!spec.ok()) {
      rec->reason = "CannotCreateContainerError: " + spec.error().message;
      failToStart(rec->reason);
      return;
    }
    runtime::ContainerCreate create{rec->runtimeId, containerDir + "/bundle", *spec, containerDir + "/container.log",
                                    "/berth/" + plan_->taskId};
    auto st = env_.runtime.create(create);
    if (!st.ok()) {
      rec->reason = "CannotCreateContainerError: " + st.error().message;
      failToStart(rec->reason);
      return;
    }
  }
  for (const auto& c : plan_->containers) {
    auto* rec = findContainer(record_, c.name);
    auto st = env_.runtime.start(rec->runtimeId);
    if (!st.ok()) {
      rec->reason = "CannotStartContainerError: " + st.error().message;
      rec->lastStatus = "STOPPED";
      failToStart(rec->reason);
      return;
    }
    rec->lastStatus = "RUNNING";
  }
  timestamps_["startedAt"] = now();
  report("RUNNING");
}

void TaskRunner::recover() {
  // The agent restarted: what the runtime says is the truth. A container that
  // exited while we were away is reported with its real exit code.
  if (record_.lastStatus == "STOPPED") {
    finished_ = true;
    return;
  }
  // A stop that was under way is begun again by monitor() (desired_ is
  // STOPPED): the stop signal is re-sent and the grace period restarts.
  bool anyRunning = false;
  for (auto& c : record_.containers) {
    auto state = env_.runtime.state(c.runtimeId);
    if (!state.ok()) {
      if (c.lastStatus != "STOPPED") {
        c.lastStatus = "STOPPED";
        if (c.reason.empty()) c.reason = "Container not found after agent restart";
      }
      continue;
    }
    if (state->status == runtime::ContainerStatus::kRunning) {
      c.lastStatus = "RUNNING";
      anyRunning = true;
    } else if (state->status == runtime::ContainerStatus::kStopped) {
      c.lastStatus = "STOPPED";
      c.exitCode = state->exitCode;
      if (state->oomKilled) c.reason = kOomReason;
    }
  }
  log::info("recovered task", {{"task", record_.taskArn}, {"anyRunning", anyRunning}});
  if (!anyRunning && record_.lastStatus == "PENDING") {
    failToStart("Agent restarted before the task started");
    return;
  }
  report(record_.lastStatus == "PENDING" ? "RUNNING" : record_.lastStatus);
  // An essential container that exited while we were away stops its siblings
  // (pollContainers only sees exits that happen from now on).
  if (anyRunning && !stopping_ && record_.desiredStatus != "STOPPED") {
    for (const auto& c : record_.containers) {
      if (c.lastStatus != "STOPPED") continue;
      for (const auto& p : plan_->containers)
        if (p.name == c.name && p.essential && !stopping_) beginStop("EssentialContainerExited", kEssentialExitedReason);
    }
  }
}

bool TaskRunner::pollContainers() {
  bool changed = false;
  for (auto& c : record_.containers) {
    if (c.lastStatus == "STOPPED") continue;
    auto state = env_.runtime.state(c.runtimeId);
    if (!state.ok() || state->status != runtime::ContainerStatus::kStopped) continue;
    c.lastStatus = "STOPPED";
    c.exitCode = state->exitCode;
    if (state->oomKilled) c.reason = kOomReason;
    changed = true;
    bool essential = true;
    for (const auto& p : plan_->containers)
      if (p.name == c.name) essential = p.essential;
    if (essential && !stopping_) beginStop("EssentialContainerExited", kEssentialExitedReason);
  }
  return changed;
}

void TaskRunner::beginStop(const std::string& stopCode, const std::string& reason) {
  stopping_ = true;
  if (stopCode_.empty()) stopCode_ = stopCode;
  if (stoppedReason_.empty()) stoppedReason_ = reason;
  timestamps_["stoppingAt"] = now();
  // A container's stopTimeout replaces the agent default (as in ECS); each
  // container is SIGKILLed when its own grace period ends.
  const auto begin = env_.clock.monotonicNow();
  for (const auto& p : plan_->containers) {
    auto timeout = p.stopTimeoutSeconds ? std::chrono::seconds(*p.stopTimeoutSeconds) : env_.defaultStopTimeout;
    killDeadlines_[p.name] = begin + timeout;
  }
  for (auto& c : record_.containers) {
    if (c.lastStatus != "RUNNING") continue;
    int sig = SIGTERM;
    if (auto it = imagesByContainer_.find(c.name); it != imagesByContainer_.end()) sig = stopSignalOf(it->second);
    auto st = env_.runtime.kill(c.runtimeId, sig);
    if (!st.ok()) log::warn("stop signal failed", {{"container", c.runtimeId}, {"error", st.error().message}});
  }
  report("STOPPING");
}

void TaskRunner::monitor() {
  while (true) {
    if (waitOrShutdown(env_.monitorInterval)) return;  // agent shutdown: containers keep running
    std::string desired;
    {
      std::lock_guard lock(mu_);
      desired = desired_;
      record_.desiredStatus = desired_;
    }
    if (desired == "STOPPED" && !stopping_) beginStop("UserInitiated", "");
    bool changed = pollContainers();
    bool allStopped = true;
    for (const auto& c : record_.containers) allStopped = allStopped && c.lastStatus == "STOPPED";
    if (allStopped) {
      if (!stopping_) {
        stopCode_ = stopCode_.empty() ? "EssentialContainerExited" : stopCode_;
        if (stoppedReason_.empty()) stoppedReason_ = kEssentialExitedReason;
      }
      cleanupAndStop();
      return;
    }
    if (stopping_) {
      const auto t = env_.clock.monotonicNow();
      for (const auto& c : record_.containers) {
        if (c.lastStatus == "STOPPED" || killed_.count(c.name)) continue;
        auto deadline = killDeadlines_.find(c.name);
        if (deadline != killDeadlines_.end() && t < deadline->second) continue;
        (void)env_.runtime.kill(c.runtimeId, SIGKILL);
        killed_.insert(c.name);
      }
    }
    if (changed) report(stopping_ ? "STOPPING" : record_.lastStatus);
  }
}

void TaskRunner::cleanupAndStop() {
  timestamps_["executionStoppedAt"] = now();
  for (const auto& c : record_.containers) {
    if (c.runtimeId.empty()) continue;
    auto st = env_.runtime.remove(c.runtimeId, /*force=*/true);
    if (!st.ok() && st.error().code != ErrorCode::kNotFound)
      log::warn("container removal failed", {{"container", c.runtimeId}, {"error", st.error().message}});
    if (plan_) {
      const std::string containerDir = (std::filesystem::path(env_.tasksDir) / plan_->taskId / c.name).string();
      auto rel = env_.rootfs.release(containerDir);
      if (!rel.ok()) log::warn("rootfs release failed", {{"dir", containerDir}, {"error", rel.error().message}});
    }
  }
  if (plan_) {
    // runc deletes each container's cgroup; the task-level parent we named in
    // create() is ours. (No-op when it does not exist, e.g. with fakes.)
    auto cg = runtime::removeCgroup("/berth/" + plan_->taskId);
    if (!cg.ok()) log::warn("task cgroup removal failed", {{"task", record_.taskArn}, {"error", cg.error().message}});
  }
  timestamps_["stoppedAt"] = now();
  report("STOPPED");
  finished_ = true;
}

}  // namespace berth::agent
