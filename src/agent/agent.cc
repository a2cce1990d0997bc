#include "agent/agent.h"

#include <set>
#include <thread>

#include "common/log.h"

namespace berth::agent {

Status ServerStateReporter::submitTaskStateChange(const nlohmann::json& change) {
  auto r = client_.call(kEcsTarget, "SubmitTaskStateChange", change);
  if (!r.ok()) return r.takeError();
  return okStatus();
}

Agent::Agent(AgentOptions options, ServerClient& client, TaskEnv& env, LocalRecord& record)
    : options_(std::move(options)), client_(client), env_(env), record_(record) {}

Agent::~Agent() {
  stop();
  std::lock_guard lock(mu_);
  runners_.clear();  // joins runner threads; containers keep running
}

std::string Agent::containerInstanceArn() const {
  std::lock_guard lock(mu_);
  return instanceArn_;
}

void Agent::stop() {
  stopping_ = true;
  client_.cancel();  // a long poll in flight ends now, not after its wait
}

Status Agent::registerInstance() {
  auto cluster = client_.call(kEcsTarget, "CreateCluster", {{"clusterName", options_.instance.cluster}});
  if (!cluster.ok()) return cluster.takeError();
  auto saved = record_.snapshot();
  InstanceConfig config = options_.instance;
  if (config.containerInstanceArn.empty()) config.containerInstanceArn = saved.containerInstanceArn;
  auto request = registerContainerInstanceRequest(config, detectHost(), derivedInstanceId(options_.dataDir),
                                                  options_.agentVersion);
  auto registered = client_.call(kEcsTarget, "RegisterContainerInstance", request);
  if (!registered.ok() && !config.containerInstanceArn.empty()) {
    // Our old identity is gone (deregistered while we were away): register anew.
    request.erase("containerInstanceArn");
    registered = client_.call(kEcsTarget, "RegisterContainerInstance", request);
  }
  if (!registered.ok()) return registered.takeError();
  const auto& ci = (*registered)["containerInstance"];
  std::string clusterArn = (*cluster)["cluster"].value("clusterArn", "");
  std::string instanceArn = ci.value("containerInstanceArn", "");
  BERTH_TRY(record_.update([&](AgentState& s) {
    s.clusterArn = clusterArn;
    s.containerInstanceArn = instanceArn;
  }));
  std::lock_guard lock(mu_);
  clusterArn_ = clusterArn;
  instanceArn_ = instanceArn;
  return okStatus();
}

Status Agent::start() {
  // The server may start after us (or restart): keep trying, bounded by stop().
  std::chrono::milliseconds backoff(200);
  while (true) {
    auto st = registerInstance();
    if (st.ok()) break;
    if (st.error().code != ErrorCode::kUnavailable) return st;
    if (stopping_) return st;
    log::warn("server unreachable, retrying registration", {{"error", st.error().message}});
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
  }
  log::info("container instance registered", {{"containerInstanceArn", containerInstanceArn()},
                                               {"cluster", options_.instance.cluster}});
  // Re-attach to tasks we were running before a restart.
  auto saved = record_.snapshot();
  std::lock_guard lock(mu_);
  for (auto& [arn, task] : saved.tasks) {
    if (task.lastStatus == "STOPPED") continue;
    runners_.emplace(arn, std::make_unique<TaskRunner>(env_, task, /*recovering=*/true));
  }
  return okStatus();
}

void Agent::applyTasks(const nlohmann::json& tasks) {
  std::set<std::string> listed;
  std::lock_guard lock(mu_);
  for (const auto& t : tasks) {
    std::string arn = t.value("taskArn", "");
    if (arn.empty()) continue;
    listed.insert(arn);
    std::string desired = t.value("desiredStatus", "RUNNING");
    auto it = runners_.find(arn);
    if (it != runners_.end()) {
      it->second->setDesiredStatus(desired);
      continue;
    }
    // A task we never started: if it is already STOPPED there is nothing to do.
    if (t.value("lastStatus", "") == "STOPPED") continue;
    TaskRecord record;
    record.taskArn = arn;
    record.desiredStatus = desired;
    record.lastStatus = t.value("lastStatus", "PENDING");
    record.task = t;
    runners_.emplace(arn, std::make_unique<TaskRunner>(env_, std::move(record), /*recovering=*/false));
  }
  // Finished runners whose task the server no longer lists as active are done.
  for (auto it = runners_.begin(); it != runners_.end();) {
    if (it->second->finished() && !listed.count(it->first)) {
      std::string arn = it->first;
      it = runners_.erase(it);
      (void)record_.update([&](AgentState& s) { s.tasks.erase(arn); });
    } else {
      ++it;
    }
  }
}

void Agent::run() {
  std::chrono::milliseconds backoff(200);
  while (!stopping_) {
    nlohmann::json request = {{"cluster", options_.instance.cluster},
                              {"containerInstance", containerInstanceArn()},
                              {"sinceVersion", version_},
                              {"waitSeconds", options_.pollWait.count()}};
    auto r = client_.call(kAgentTarget, "PollTasks", request, options_.pollWait + std::chrono::seconds(10));
    if (!r.ok()) {
      if (stopping_) break;
      log::warn("task poll failed", {{"error", r.error().message}, {"type", r.error().context}});
      // Deregistered or cluster gone: register again, then keep polling.
      if (r.error().code != ErrorCode::kUnavailable) (void)registerInstance();
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      continue;
    }
    backoff = std::chrono::milliseconds(200);
    if (r->value("containerInstanceStatus", "ACTIVE") == "INACTIVE") {
      // Deregistered (by a user or as lost): that identity is gone for good.
      // Join again as a new instance; running tasks keep their runners.
      log::warn("container instance was deregistered; registering anew", {{"containerInstanceArn", containerInstanceArn()}});
      (void)record_.update([](AgentState& s) { s.containerInstanceArn.clear(); });
      options_.instance.containerInstanceArn.clear();
      auto st = registerInstance();
      if (!st.ok()) log::warn("re-registration failed", {{"error", st.error().message}});
      version_ = 0;
      continue;
    }
    version_ = r->value("version", version_);
    applyTasks(r->value("tasks", nlohmann::json::array()));
  }
}

}  // namespace berth::agent
