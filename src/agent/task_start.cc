// TaskRunner's way up: pull → secrets → network → metadata → volumes →
// create → logs attach → start in dependsOn order (task_hooks.h).
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/dependency_graph.h"
#include "agent/task_runner.h"
#include "common/log.h"

namespace berth::agent {
namespace {

int intOf(const nlohmann::json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end()) return 0;
  if (it->is_number_integer()) return it->get<int>();
  if (it->is_string()) {
    try {
      return std::stoi(it->get<std::string>());
    } catch (...) {
    }
  }
  return 0;
}

network::TaskNetworkRequest networkRequestFor(const TaskPlan& plan) {
  network::TaskNetworkRequest req;
  req.taskId = plan.taskId;
  req.taskArn = plan.taskArn;
  req.networkMode = plan.networkMode.empty() ? "bridge" : plan.networkMode;
  for (const auto& c : plan.containers) {
    for (const auto& pm : c.definition.value("portMappings", nlohmann::json::array())) {
      network::PortMappingRequest m;
      m.containerName = c.name;
      m.containerPort = intOf(pm, "containerPort");
      m.hostPort = intOf(pm, "hostPort");  // absent/0 = dynamic
      m.protocol = pm.value("protocol", "tcp");
      req.portMappings.push_back(m);
    }
  }
  return req;
}

// The host's resolver configuration, as a task namespace can use it: with
// systemd-resolved the stub (127.0.0.53) is not reachable from another
// namespace, so its upstream list is used instead.
std::string hostResolvConf() {
  auto read = [](const char* path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  std::string conf = read("/etc/resolv.conf");
  if (conf.find("127.0.0.53") != std::string::npos) {
    std::string upstream = read("/run/systemd/resolve/resolv.conf");
    if (!upstream.empty()) conf = upstream;
  }
  return conf;
}

Status writeFile(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
  out.close();
  if (!out) return Error::make(ErrorCode::kIo, "cannot write " + path.string(), path.string());
  return okStatus();
}

}  // namespace

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

Status TaskRunner::prepareNetwork() {
  if (!env_.network) return okStatus();
  auto net = env_.network->setup(networkRequestFor(*plan_));
  if (!net.ok()) {
    const auto& e = net.error();
    // A fixed host port that is taken names the port (the network's message does).
    return Error::make(e.code, "ResourceInitializationError: " +
                                   std::string(e.code == ErrorCode::kConflict ? "host port conflict: " : "") +
                                   e.message);
  }
  network_ = *net;
  networkSetUp_ = true;
  return writeNameFiles();
}

// Per-task /etc/hosts (localhost, plus every container's hostname and name
// at the task's address: they share one namespace) and a resolv.conf that
// works from inside the namespace. Bound read-only into each container.
Status TaskRunner::writeNameFiles() {
  if (!network_ || network_->netnsPath.empty()) return okStatus();
  std::error_code ec;
  std::filesystem::create_directories(taskDir(), ec);
  std::string hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  if (!network_->ipv4Address.empty()) {
    std::string names;
    for (const auto& c : plan_->containers) {
      std::string hostname = c.definition.value("hostname", "");
      if (hostname.empty()) hostname = runtimeContainerId(plan_->taskId, c.name).substr(0, 12);
      names += " " + hostname;
      if (c.name != hostname) names += " " + c.name;
    }
    hosts += network_->ipv4Address + "\t" + names.substr(1) + "\n";
  }
  if (auto st = writeFile(std::filesystem::path(taskDir()) / "hosts", hosts); !st.ok()) return st;
  return writeFile(std::filesystem::path(taskDir()) / "resolv.conf", hostResolvConf());
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

  // Secrets: values live only in memory and in the containers' specs.
  for (const auto& c : plan_->containers) {
    std::vector<ContainerSecret> secrets;
    for (const auto& s : c.definition.value("secrets", nlohmann::json::array()))
      secrets.push_back({s.value("name", ""), s.value("valueFrom", "")});
    if (secrets.empty()) continue;
    if (!env_.secrets) {
      failToStart("ResourceInitializationError: container " + c.name +
                  " has secrets but this agent has no secret resolver");
      return;
    }
    auto values = env_.secrets->resolve(secrets, *plan_);
    if (!values.ok()) {
      failToStart(values.error().message);
      return;
    }
    secretEnv_[c.name] = std::move(*values);
  }

  if (env_.taskCgroup) {
    auto limits = env_.taskCgroup("/berth/" + plan_->taskId, TaskCgroupLimits{plan_->taskCpu, plan_->taskMemoryMiB});
    if (!limits.ok()) {
      failToStart("ResourceInitializationError: cannot apply task cpu/memory limits: " + limits.error().message);
      return;
    }
  }
  if (auto st = prepareNetwork(); !st.ok()) {
    failToStart(st.error().message);
    return;
  }
  if (env_.metadata) {
    MetadataRegistration reg{plan_->taskArn, plan_->taskId, plan_->networkMode,
                             network_ ? network_->netnsPath : std::string(), plan_->taskRoleArn, {},
                             viewFn()};
    for (const auto& c : record_.containers) reg.containers.emplace_back(c.name, c.runtimeId);
    persist();  // the view has the network before anyone can ask
    auto env = env_.metadata->registerTask(reg);
    if (!env.ok()) {
      failToStart("ResourceInitializationError: task metadata endpoint: " + env.error().message);
      return;
    }
    metadataRegistered_ = true;
    metadataEnv_ = std::move(*env);
  }
  auto volumes = resolveTaskVolumes(*plan_, taskDir(), env_.volumesDir);
  if (volumes.ok()) {
    volumes_ = std::move(*volumes);
    if (auto st = provisionVolumes(volumes_); !st.ok()) volumes = st.takeError();
  }
  if (!volumes.ok()) {
    failToStart("ResourceInitializationError: " + volumes.error().message);
    return;
  }
  if (auto st = createContainers(); !st.ok()) {
    failToStart(st.error().message);
    return;
  }
  persist();
  startReadyContainers();
}

Status TaskRunner::createContainers() {
  // Every container is created up front; dependsOn only gates start().
  for (const auto& c : plan_->containers) {
    auto* rec = findContainer(record_, c.name);
    const auto& image = imagesByContainer_.at(c.name);
    const std::string containerDir = (std::filesystem::path(taskDir()) / c.name).string();
    auto fail = [&](const std::string& what, const std::string& message) {
      rec->reason = what + ": " + message;
      return Error::make(ErrorCode::kInternal, rec->reason);
    };
    std::error_code ec;
    std::filesystem::create_directories(containerDir, ec);
    auto rootfs = env_.rootfs.prepare(image, containerDir);
    if (!rootfs.ok()) return fail("CannotCreateContainerError", rootfs.error().message);
    SpecInput in{c, *plan_, image, *rootfs, rec->runtimeId, "/berth/" + plan_->taskId + "/" + c.name, {}, {}, {}};
    if (network_) in.netnsPath = network_->netnsPath;
    if (auto it = volumes_.mountsByContainer.find(c.name); it != volumes_.mountsByContainer.end()) in.mounts = it->second;
    if (network_ && !network_->netnsPath.empty()) {
      in.mounts.push_back({taskDir() + "/hosts", "/etc/hosts", true});
      in.mounts.push_back({taskDir() + "/resolv.conf", "/etc/resolv.conf", true});
    } else if (plan_->networkMode == "host") {
      // Host networking sees the host's names, as under Docker.
      for (const char* f : {"/etc/hosts", "/etc/resolv.conf"})
        if (std::filesystem::exists(f)) in.mounts.push_back({f, f, true});
    }
    if (auto it = secretEnv_.find(c.name); it != secretEnv_.end()) in.extraEnv = it->second;
    if (auto it = metadataEnv_.find(c.name); it != metadataEnv_.end())
      in.extraEnv.insert(in.extraEnv.end(), it->second.begin(), it->second.end());
    // A bad awslogs configuration fails the task before anything runs.
    std::optional<AwsLogsTarget> logTarget;
    if (env_.logs) {
      auto target = awslogsTargetFor(c, *plan_, rec->runtimeId);
      if (!target.ok()) return fail("CannotCreateContainerError", "awslogs: " + target.error().message);
      logTarget = *target;
    }
    auto spec = env_.specBuilder(in);
    if (!spec.ok()) return fail("CannotCreateContainerError", spec.error().message);
    const std::string logPath = containerDir + "/container.log";
    runtime::ContainerCreate create{rec->runtimeId, containerDir + "/bundle", *spec, logPath, "/berth/" + plan_->taskId};
    if (auto st = env_.runtime.create(create); !st.ok()) return fail("CannotCreateContainerError", st.error().message);
    if (logTarget) {
      if (auto st = env_.logs->attach(rec->runtimeId, logPath, *logTarget); !st.ok())
        return fail("CannotStartContainerError", "awslogs: " + st.error().message);
      logsAttached_.insert(rec->runtimeId);
    }
  }
  return okStatus();
}

bool TaskRunner::startReadyContainers() {
  std::map<std::string, ContainerProgress> progress;
  bool allStarted = true;
  for (const auto& c : record_.containers) {
    ContainerProgress p;
    p.started = started_.count(c.name) > 0;
    p.exited = c.lastStatus == "STOPPED";
    p.exitCode = c.exitCode;
    p.health = c.healthStatus;
    if (auto it = startedAt_.find(c.name); it != startedAt_.end()) p.startedAt = it->second;
    progress[c.name] = p;
    allStarted = allStarted && (p.started || p.exited);
  }
  if (allStarted) return false;
  auto decision = decideStarts(*plan_, progress, env_.clock.monotonicNow());
  bool changed = false;
  for (const auto& name : decision.ready) {
    auto* rec = findContainer(record_, name);
    auto st = env_.runtime.start(rec->runtimeId);
    if (!st.ok()) {
      rec->reason = "CannotStartContainerError: " + st.error().message;
      rec->lastStatus = "STOPPED";
      for (auto& c : record_.containers)
        if (!started_.count(c.name) && c.lastStatus != "STOPPED") c.lastStatus = "STOPPED";
      beginStop("TaskFailedToStart", rec->reason);
      return true;
    }
    rec->lastStatus = "RUNNING";
    started_.insert(name);
    startedAt_[name] = env_.clock.monotonicNow();
    if (health_)
      if (auto hc = healthChecks_.find(name); hc != healthChecks_.end())
        health_->watch(name, rec->runtimeId, hc->second, kHealthUnknown);
    changed = true;
  }
  if (!decision.never.empty()) {
    // The first blocked container (definition order) names the cause.
    std::string reason;
    for (const auto& c : plan_->containers)
      if (auto it = decision.never.find(c.name); it != decision.never.end() && reason.empty())
        reason = "DependencyError: container " + c.name + " cannot start: " + it->second;
    for (auto& c : record_.containers) {
      if (started_.count(c.name) || c.lastStatus == "STOPPED") continue;
      c.lastStatus = "STOPPED";
      if (decision.never.count(c.name)) c.reason = decision.never.at(c.name).substr(0, 255);
    }
    beginStop("TaskFailedToStart", reason);
    return true;
  }
  allStarted = true;
  for (const auto& c : record_.containers) allStarted = allStarted && (started_.count(c.name) || c.lastStatus == "STOPPED");
  if (allStarted) {
    timestamps_["startedAt"] = now();
    report("RUNNING");
    return false;
  }
  if (changed || record_.lastStatus != "PENDING") {
    report("PENDING");
    return false;
  }
  return changed;
}

}  // namespace berth::agent
