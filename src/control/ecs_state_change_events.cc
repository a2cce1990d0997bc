// "ECS Task State Change" and "ECS Container Instance State Change"
// (reference/registry-logs-events.md §4): the DescribeTasks /
// DescribeContainerInstances shape of the stored document, with timestamps as
// ISO-8601 strings with milliseconds (EventBridge's form; the API sends epoch
// numbers) plus updatedAt. `version` is the document's own counter, bumped by
// every state change, so duplicates of one change share it.
#include <string_view>

#include "control/arn.h"
#include "control/ecs_events.h"
#include "control/task_ops.h"

namespace berth::control {
namespace {

using nlohmann::json;

bool isTimestampField(std::string_view key) {
  return key.size() > 2 && key.substr(key.size() - 2) == "At";
}

// Every numeric "...At" field, at any depth (task, containers, attachments).
void isoTimestamps(json& node) {
  if (node.is_object()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (it.value().is_number() && isTimestampField(it.key()))
        it.value() = isoMillis(it.value().get<double>());
      else
        isoTimestamps(it.value());
    }
  } else if (node.is_array()) {
    for (auto& child : node) isoTimestamps(child);
  }
}

}  // namespace

json taskStateChangeEvent(const AccountInfo& account, Random& random, const json& storedTask, double now) {
  json detail = renderTask(storedTask, false);
  isoTimestamps(detail);
  detail["updatedAt"] = isoMillis(now);
  std::string arn = detail.value("taskArn", "");
  return eventEnvelope(account, random, "ECS Task State Change", {arn}, std::move(detail), now);
}

json containerInstanceStateChangeEvent(const AccountInfo& account, Random& random, const json& storedInstance,
                                       double now) {
  // The DescribeContainerInstances shape without the task counts, which the
  // event does not carry (they are derived from tasks, not instance state).
  json detail = storedInstance;
  // EventBridge's instance events name their cluster (the API shape does not).
  const std::string cluster = storedInstance.value("berth", json::object()).value("cluster", "");
  if (!cluster.empty() && !detail.contains("clusterArn")) detail["clusterArn"] = clusterArn(account, cluster);
  detail.erase("berth");
  detail.erase("tags");
  isoTimestamps(detail);
  detail["updatedAt"] = isoMillis(now);
  std::string arn = detail.value("containerInstanceArn", "");
  return eventEnvelope(account, random, "ECS Container Instance State Change", {arn}, std::move(detail), now);
}

}  // namespace berth::control
