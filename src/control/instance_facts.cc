#include "control/instance_facts.h"

#include "control/keys.h"
#include "control/task_ops.h"

namespace berth::control {
namespace {
// A value-less (capability) attribute reads as "" (query_language.h).
const std::string kNoValue;
}  // namespace

std::map<std::string, InstanceTasks> tasksByInstance(const StateCache& cache, const std::string& cluster) {
  // runningTasksCount as DescribeContainerInstances renders it.
  std::map<std::string, InstanceTasks> out;
  for (const auto& [arn, counts] : taskCountsByInstance(cache, cluster)) out[arn].running = static_cast<int>(counts.running);
  cache.scan(keys::clusterScoped(keys::kTasks, cluster), "", [&](const std::string&, const CachedObject& o) {
    if (o.doc.value("lastStatus", "") == "STOPPED") return true;
    auto group = o.doc.find("group");
    if (group != o.doc.end() && group->is_string())
      out[o.doc.value("containerInstanceArn", "")].groups.insert(group->get<std::string>());
    return true;
  });
  return out;
}

std::string_view InstanceDocFacts::stringField(const nlohmann::json& object, const char* field) const {
  if (!object.is_object()) return {};
  auto it = object.find(field);
  if (it == object.end() || !it->is_string()) return {};
  return it->get_ref<const std::string&>();
}

const std::string* InstanceDocFacts::attribute(std::string_view name) const {
  auto list = doc_.find("attributes");
  if (list == doc_.end() || !list->is_array()) return nullptr;
  for (const auto& a : *list) {
    if (stringField(a, "name") != name) continue;
    auto value = a.find("value");
    return value != a.end() && value->is_string() ? &value->get_ref<const std::string&>() : &kNoValue;
  }
  return nullptr;
}

std::string_view InstanceDocFacts::ec2InstanceId() const { return stringField(doc_, "ec2InstanceId"); }

bool InstanceDocFacts::agentConnected() const {
  auto it = doc_.find("agentConnected");
  return it != doc_.end() && it->is_boolean() && it->get<bool>();
}

std::string_view InstanceDocFacts::agentVersion() const {
  auto info = doc_.find("versionInfo");
  return info == doc_.end() ? std::string_view() : stringField(*info, "agentVersion");
}

double InstanceDocFacts::registeredAt() const {
  auto it = doc_.find("registeredAt");
  return it != doc_.end() && it->is_number() ? it->get<double>() : 0;
}

int InstanceDocFacts::runningTasksCount() const { return tasks_ ? tasks_->running : 0; }

bool InstanceDocFacts::hasTaskInGroup(std::string_view group) const {
  return tasks_ && tasks_->groups.find(group) != tasks_->groups.end();
}

}  // namespace berth::control
