// TaskRunner's way down: stop signals in reverse dependsOn order, each
// container's own stopTimeout before SIGKILL, then logs detach → remove
// containers → metadata unregister → task volumes → network teardown.
#include <signal.h>

#include <filesystem>

#include "agent/dependency_graph.h"
#include "agent/task_runner.h"
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

}  // namespace

void TaskRunner::beginStop(const std::string& stopCode, const std::string& reason) {
  stopping_ = true;
  if (stopCode_.empty()) stopCode_ = stopCode;
  if (stoppedReason_.empty()) stoppedReason_ = reason;
  timestamps_["stoppingAt"] = now();
  // Containers that never started will not: they are done.
  for (auto& c : record_.containers)
    if (!started_.count(c.name) && c.lastStatus == "PENDING") c.lastStatus = "STOPPED";
  signalStoppableContainers();
  report("STOPPING");
}

void TaskRunner::signalStoppableContainers() {
  std::map<std::string, bool> stopped;
  for (const auto& c : record_.containers) stopped[c.name] = c.lastStatus == "STOPPED";
  const auto t = env_.clock.monotonicNow();
  // Dependents first: a container gets its stop signal once everything that
  // depends on it has stopped. Its stopTimeout (or the agent default) starts then.
  for (auto& c : record_.containers) {
    if (c.lastStatus != "RUNNING" || signalled_.count(c.name) || !mayStop(*plan_, c.name, stopped)) continue;
    std::optional<int> stopTimeout;
    for (const auto& p : plan_->containers)
      if (p.name == c.name) stopTimeout = p.stopTimeoutSeconds;
    killDeadlines_[c.name] = t + (stopTimeout ? std::chrono::seconds(*stopTimeout) : env_.defaultStopTimeout);
    signalled_.insert(c.name);
    int sig = SIGTERM;
    if (auto it = imagesByContainer_.find(c.name); it != imagesByContainer_.end()) sig = stopSignalOf(it->second);
    auto st = env_.runtime.kill(c.runtimeId, sig);
    if (!st.ok()) log::warn("stop signal failed", {{"container", c.runtimeId}, {"error", st.error().message}});
  }
}

void TaskRunner::cleanupAndStop() {
  timestamps_["executionStoppedAt"] = now();
  health_.reset();
  for (auto& c : record_.containers) {
    if (c.runtimeId.empty()) continue;
    // Shipping ends once the container has stopped, before its log goes.
    if (env_.logs && logsAttached_.erase(c.runtimeId)) env_.logs->detach(c.runtimeId);
    auto st = env_.runtime.remove(c.runtimeId, /*force=*/true);
    if (!st.ok() && st.error().code != ErrorCode::kNotFound)
      log::warn("container removal failed", {{"container", c.runtimeId}, {"error", st.error().message}});
    if (plan_) {
      const std::string containerDir = (std::filesystem::path(taskDir()) / c.name).string();
      auto rel = env_.rootfs.release(containerDir);
      if (!rel.ok()) log::warn("rootfs release failed", {{"dir", containerDir}, {"error", rel.error().message}});
    }
  }
  if (plan_) {
    if (env_.metadata && metadataRegistered_) {
      env_.metadata->unregisterTask(plan_->taskId);
      metadataRegistered_ = false;
    }
    if (auto st = removeTaskScopedVolumes(taskDir()); !st.ok())
      log::warn("task volume removal failed", {{"task", record_.taskArn}, {"error", st.error().message}});
    // After a restart the network record is the authority; teardown is
    // idempotent, so it runs whenever this task may have had a network.
    if (env_.network && (networkSetUp_ || recovering_)) {
      auto st = env_.network->teardown(plan_->taskId);
      if (!st.ok()) log::warn("network teardown failed", {{"task", record_.taskArn}, {"error", st.error().message}});
      networkSetUp_ = false;
    }
    std::error_code ec;
    for (const char* f : {"hosts", "resolv.conf"}) std::filesystem::remove(std::filesystem::path(taskDir()) / f, ec);
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
