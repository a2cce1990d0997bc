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

void ServerFleetChannel::cancel() { client_.cancel(); }

Result<PollBatchResult> ServerFleetChannel::pollTasks(const std::string& cluster,
                                                      const std::vector<std::string>& instanceArns,
                                                      std::int64_t sinceVersion, std::chrono::seconds wait) {
  nlohmann::json request = {{"cluster", cluster},
                            {"containerInstances", instanceArns},
                            {"sinceVersion", sinceVersion},
                            // Only what changed: an instance's unchanged tasks are not re-sent.
                            {"changedOnly", true},
                            {"waitSeconds", wait.count()}};
  auto r = client_.call(kAgentTarget, "PollTasks", request, wait + std::chrono::seconds(30));
  if (!r.ok()) return r.takeError();
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

}  // namespace berth::agent
