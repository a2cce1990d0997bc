#include "agent/fleet_channel.h"

#include "common/log.h"

namespace berth::agent {

Result<std::string> ServerFleetChannel::createCluster(const std::string& name) {
  auto r = client_.call(kEcsTarget, "CreateCluster", {{"clusterName", name}});
  if (!r.ok()) return r.takeError();
  return (*r)["cluster"].value("clusterArn", name);
}

Result<std::string> ServerFleetChannel::registerContainerInstance(const nlohmann::json& request) {
  auto r = client_.call(kEcsTarget, "RegisterContainerInstance", request);
  if (!r.ok()) return r.takeError();
  std::string arn = (*r)["containerInstance"].value("containerInstanceArn", "");
  if (arn.empty()) return Error::make(ErrorCode::kInternal, "RegisterContainerInstance returned no containerInstanceArn");
  return arn;
}

Status ServerFleetChannel::submitTaskStateChange(const nlohmann::json& change) {
  auto r = client_.call(kEcsTarget, "SubmitTaskStateChange", change);
  if (!r.ok()) return r.takeError();
  return okStatus();
}

void ServerFleetChannel::cancel() {
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
  }
  cancelled_cv_.notify_all();
  client_.cancel();
}

Result<PollBatchResult> ServerFleetChannel::pollTasks(const std::string& cluster,
                                                      const std::vector<std::string>& instanceArns,
                                                      std::int64_t sinceVersion, std::chrono::seconds wait) {
  if (form_.load() == PollForm::kSingle) return pollSingle(cluster, instanceArns, wait);
  nlohmann::json request = {{"cluster", cluster},
                            {"containerInstances", instanceArns},
                            {"sinceVersion", sinceVersion},
                            {"waitSeconds", wait.count()}};
  auto r = client_.call(kAgentTarget, "PollTasks", request, wait + std::chrono::seconds(30));
  if (!r.ok()) {
    // Only before the first batched answer: a server that never accepted the
    // batched form does not know it (it asks for containerInstance).
    if (form_.load() == PollForm::kUnknown && r.error().code == ErrorCode::kClient &&
        r.error().context == "InvalidParameterException") {
      log::warn("server does not accept batched PollTasks; falling back to single-instance polls",
                {{"error", r.error().message}});
      form_ = PollForm::kSingle;
      return pollSingle(cluster, instanceArns, wait);
    }
    return r.takeError();
  }
  form_ = PollForm::kBatched;
  PollBatchResult result;
  result.version = r->value("version", sinceVersion);
  for (auto& i : (*r)["instances"]) {
    InstanceTasks it;
    it.containerInstanceArn = i.value("containerInstanceArn", "");
    it.containerInstanceStatus = i.value("containerInstanceStatus", "ACTIVE");
    if (auto t = i.find("tasks"); t != i.end() && t->is_array()) it.tasks = std::move(*t);
    result.instances.push_back(std::move(it));
  }
  return result;
}

Result<PollBatchResult> ServerFleetChannel::pollSingle(const std::string& cluster,
                                                       const std::vector<std::string>& instanceArns,
                                                       std::chrono::seconds wait) {
  const auto roundStart = std::chrono::steady_clock::now();
  PollBatchResult result;  // version stays 0: every round asks for the full sets
  for (const auto& arn : instanceArns) {
    nlohmann::json request = {{"cluster", cluster}, {"containerInstance", arn}, {"sinceVersion", 0}, {"waitSeconds", 0}};
    auto r = client_.call(kAgentTarget, "PollTasks", request);
    if (!r.ok()) {
      if (r.error().code == ErrorCode::kUnavailable) return r.takeError();
      // Unknown instance (deregistered and gone): the fleet registers it anew.
      result.instances.push_back({arn, "INACTIVE", nlohmann::json::array()});
      continue;
    }
    InstanceTasks it{arn, r->value("containerInstanceStatus", "ACTIVE"), nlohmann::json::array()};
    if (auto t = r->find("tasks"); t != r->end() && t->is_array()) it.tasks = std::move(*t);
    if (!it.tasks.empty() || it.containerInstanceStatus == "INACTIVE") result.instances.push_back(std::move(it));
  }
  // Pace the rounds (these polls do not wait on the server).
  const auto pace = std::min<std::chrono::steady_clock::duration>(std::chrono::seconds(1), wait);
  std::unique_lock lock(mu_);
  cancelled_cv_.wait_until(lock, roundStart + pace, [&] { return cancelled_; });
  return result;
}

}  // namespace berth::agent
