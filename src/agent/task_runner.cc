#include "agent/task_runner.h"

#include <signal.h>

#include <filesystem>

#include "agent/dependency_graph.h"
#include "common/log.h"

namespace berth::agent {

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

TaskView TaskRunner::view() const { return viewFn()(); }

TaskViewFn TaskRunner::viewFn() const {
  return [shared = view_] {
    std::lock_guard lock(shared->mu);
    return shared->view;
  };
}

std::string TaskRunner::taskDir() const {
  return (std::filesystem::path(env_.tasksDir) / (plan_ ? plan_->taskId : std::string("unknown"))).string();
}

bool TaskRunner::waitOrShutdown(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  wake_.wait_for(lock, d, [&] { return shutdown_; });
  return shutdown_;
}

void TaskRunner::persist() {
  auto snapshot = record_;
  {
    std::lock_guard lock(view_->mu);
    view_->view.task = record_.task;
    view_->view.record = snapshot;
    view_->view.network = network_;
    view_->view.timestamps = timestamps_;
  }
  auto st = env_.record.update([&](AgentState& s) { s.tasks[snapshot.taskArn] = snapshot; });
  if (!st.ok()) log::error("cannot persist task record", {{"task", record_.taskArn}, {"error", st.error().message}});
}

nlohmann::json TaskRunner::containerReport(const ContainerRecord& c) const {
  nlohmann::json cj = {{"containerName", c.name}, {"status", c.lastStatus}};
  if (!c.runtimeId.empty()) cj["runtimeId"] = c.runtimeId;
  if (c.exitCode) cj["exitCode"] = *c.exitCode;
  if (!c.imageDigest.empty()) cj["imageDigest"] = c.imageDigest;
  if (!c.reason.empty()) cj["reason"] = c.reason.substr(0, 255);
  cj["healthStatus"] = c.healthStatus.empty() ? std::string(kHealthUnknown) : c.healthStatus;
  if (network_ && (network_->networkMode == "bridge" || network_->networkMode == "host")) {
    nlohmann::json bindings = nlohmann::json::array();
    for (const auto& b : network_->bindings) {
      if (b.containerName != c.name) continue;
      bindings.push_back(
          {{"bindIP", b.bindIP}, {"containerPort", b.containerPort}, {"hostPort", b.hostPort}, {"protocol", b.protocol}});
    }
    if (!bindings.empty()) cj["networkBindings"] = bindings;
  }
  return cj;
}

void TaskRunner::report(const std::string& status) {
  {
    std::lock_guard lock(mu_);
    record_.lastStatus = status;
  }
  nlohmann::json containers = nlohmann::json::array();
  for (const auto& c : record_.containers) containers.push_back(containerReport(c));
  nlohmann::json change = {{"cluster", plan_ ? plan_->cluster : record_.task.value("clusterArn", "")},
                           {"task", record_.taskArn},
                           {"status", status},
                           {"containers", containers}};
  for (auto it = timestamps_.begin(); it != timestamps_.end(); ++it) change[it.key()] = it.value();
  if (!stopCode_.empty()) change["stopCode"] = stopCode_;
  if (!stoppedReason_.empty()) change["reason"] = stoppedReason_.substr(0, 255);
  if (network_ && (network_->networkMode == "bridge" || network_->networkMode == "awsvpc") &&
      !network_->ipv4Address.empty()) {
    change["networkInterface"] = {{"privateIPv4Address", network_->ipv4Address},
                                  {"macAddress", network_->macAddress},
                                  {"ipv4SubnetCidrBlock", network_->ipv4SubnetCidrBlock},
                                  {"gatewayIpv4Address", network_->gatewayIpv4Address}};
  }
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
    for (const auto& c : plan_->containers) {
      ContainerRecord r;
      r.name = c.name;
      r.runtimeId = runtimeContainerId(plan_->taskId, c.name);
      record_.containers.push_back(std::move(r));
    }
  }
  // Health checks and dependencies are checked before anything is made.
  std::map<std::string, bool> hasCheck;
  std::string invalid;
  for (const auto& c : plan_->containers) {
    auto hc = parseHealthCheck(c.definition);
    if (!hc.ok()) {
      invalid = "container " + c.name + ": " + hc.error().message;
      break;
    }
    hasCheck[c.name] = hc->has_value();
    if (*hc) healthChecks_.emplace(c.name, **hc);
  }
  if (invalid.empty())
    if (auto st = validateDependencies(*plan_, hasCheck); !st.ok()) invalid = st.error().message;
  if (!invalid.empty() && !(recovering_ && record_.lastStatus == "STOPPED")) {
    failToStart("ResourceInitializationError: " + invalid);
    finished_ = true;
    return;
  }
  if (!healthChecks_.empty())
    health_ = std::make_unique<HealthMonitor>(env_.runtime, env_.clock, env_.healthPollInterval);
  if (recovering_) recover();
  else start();
  if (!finished_) monitor();
  health_.reset();
  finished_ = true;
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
  bool anyRunning = false, anyCreated = false;
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
      started_.insert(c.name);
      startedAt_[c.name] = env_.clock.monotonicNow();
    } else if (state->status == runtime::ContainerStatus::kStopped) {
      c.lastStatus = "STOPPED";
      c.exitCode = state->exitCode;
      if (state->startedAt || state->exitCode) started_.insert(c.name);
      if (state->oomKilled) c.reason = kOomReason;
    } else if (state->status == runtime::ContainerStatus::kCreated) {
      anyCreated = true;  // still waiting for its dependencies
    }
  }
  // Hooks come back for what is still there: the network record (bindings
  // for reports, teardown at the end), metadata endpoints, log shipping and
  // health probes of running containers.
  if (env_.network) {
    auto net = env_.network->recover(plan_->taskId);
    if (net.ok() && *net) {
      network_ = **net;
      networkSetUp_ = true;
    } else if (!net.ok()) {
      log::warn("network record not recovered", {{"task", record_.taskArn}, {"error", net.error().message}});
    }
  }
  if (env_.metadata && (anyRunning || anyCreated)) {
    MetadataRegistration reg{plan_->taskArn, plan_->taskId, plan_->networkMode,
                             network_ ? network_->netnsPath : std::string(), plan_->taskRoleArn, {},
                             viewFn()};
    for (const auto& c : record_.containers) reg.containers.emplace_back(c.name, c.runtimeId);
    auto env = env_.metadata->registerTask(reg);
    if (env.ok()) metadataRegistered_ = true;
    else log::warn("metadata re-registration failed", {{"task", record_.taskArn}, {"error", env.error().message}});
  }
  for (auto& c : record_.containers) {
    if (c.lastStatus != "RUNNING" && c.lastStatus != "PENDING") continue;
    const ContainerPlan* p = nullptr;
    for (const auto& pc : plan_->containers)
      if (pc.name == c.name) p = &pc;
    if (!p) continue;
    if (env_.logs) {
      auto target = awslogsTargetFor(*p, *plan_, c.runtimeId);
      if (target.ok() && *target) {
        const std::string logPath = (std::filesystem::path(taskDir()) / c.name / "container.log").string();
        if (env_.logs->attach(c.runtimeId, logPath, **target).ok()) logsAttached_.insert(c.runtimeId);
      }
    }
    if (c.lastStatus == "RUNNING" && health_)
      if (auto hc = healthChecks_.find(c.name); hc != healthChecks_.end())
        health_->watch(c.name, c.runtimeId, hc->second, c.healthStatus);
  }
  log::info("recovered task", {{"task", record_.taskArn}, {"anyRunning", anyRunning}});
  if (!anyRunning && !anyCreated && record_.lastStatus == "PENDING") {
    failToStart("Agent restarted before the task started");
    return;
  }
  bool allStarted = true;
  for (const auto& c : record_.containers) allStarted = allStarted && (started_.count(c.name) || c.lastStatus == "STOPPED");
  report(allStarted ? (record_.lastStatus == "PENDING" ? "RUNNING" : record_.lastStatus) : "PENDING");
  // An essential container that exited while we were away stops its siblings
  // (pollContainers only sees exits that happen from now on).
  if ((anyRunning || anyCreated) && !stopping_ && record_.desiredStatus != "STOPPED") {
    for (const auto& c : record_.containers) {
      if (c.lastStatus != "STOPPED") continue;
      for (const auto& p : plan_->containers)
        if (p.name == c.name && p.essential && !stopping_) beginStop("EssentialContainerExited", kEssentialExitedReason);
    }
  }
}

void TaskRunner::containerStopped(ContainerRecord& c) {
  c.lastStatus = "STOPPED";
  if (health_) health_->unwatch(c.name);
  // The log shipper sends what is left once the container has stopped, before
  // cleanup removes the file.
  if (env_.logs && logsAttached_.erase(c.runtimeId)) env_.logs->detach(c.runtimeId);
}

bool TaskRunner::pollContainers() {
  bool changed = false;
  for (auto& c : record_.containers) {
    if (c.lastStatus == "STOPPED") continue;
    auto state = env_.runtime.state(c.runtimeId);
    if (!state.ok() || state->status != runtime::ContainerStatus::kStopped) continue;
    c.exitCode = state->exitCode;
    if (state->oomKilled) c.reason = kOomReason;
    containerStopped(c);
    changed = true;
    bool essential = true;
    for (const auto& p : plan_->containers)
      if (p.name == c.name) essential = p.essential;
    if (essential && !stopping_) beginStop("EssentialContainerExited", kEssentialExitedReason);
  }
  return changed;
}

bool TaskRunner::pollHealth() {
  if (!health_) return false;
  bool changed = false;
  for (const auto& [name, status] : health_->statuses()) {
    auto* c = findContainer(record_, name);
    if (!c || c->healthStatus == status) continue;
    log::info("container health changed", {{"container", c->runtimeId}, {"from", c->healthStatus}, {"to", status}});
    c->healthStatus = status;
    changed = true;
  }
  return changed;
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
    changed = pollHealth() || changed;
    if (!stopping_) changed = startReadyContainers() || changed;
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
      signalStoppableContainers();
      const auto t = env_.clock.monotonicNow();
      for (const auto& c : record_.containers) {
        if (c.lastStatus == "STOPPED" || killed_.count(c.name) || !signalled_.count(c.name)) continue;
        auto deadline = killDeadlines_.find(c.name);
        if (deadline != killDeadlines_.end() && t < deadline->second) continue;
        (void)env_.runtime.kill(c.runtimeId, SIGKILL);
        killed_.insert(c.name);
      }
    }
    if (changed) {
      std::string status = record_.lastStatus;
      if (stopping_) status = "STOPPING";
      report(status);
    }
  }
}

}  // namespace berth::agent
