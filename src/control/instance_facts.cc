#include "control/instance_facts.h"

#include "control/placement_index.h"

namespace berth::control {
namespace {
// A value-less (capability) attribute reads as "" (query_language.h).
const std::string kNoValue;
}  // namespace

InstanceTaskFacts taskFactsOf(PlacementIndex& index, const std::string& cluster, const nlohmann::json& instanceDoc) {
  const std::string id = instanceDoc.value("berth", nlohmann::json::object()).value("id", "");
  // runningTasksCount as DescribeContainerInstances renders it.
  return InstanceTaskFacts{static_cast<int>(index.taskCounts(cluster, id).running), index.taskGroups(cluster, id)};
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
