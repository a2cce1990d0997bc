#include "agent/task_plan.h"

namespace berth::agent {
namespace {

std::optional<std::vector<std::string>> stringList(const nlohmann::json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || !it->is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& v : *it)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

std::int64_t intField(const nlohmann::json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end()) return 0;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_string()) {
    try {
      return std::stoll(it->get<std::string>());
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

}  // namespace

std::string runtimeContainerId(const std::string& taskId, const std::string& containerName) {
  return "berth-" + taskId + "-" + containerName;
}

Result<TaskPlan> planTask(const nlohmann::json& task) {
  if (!task.is_object()) return Error::make(ErrorCode::kInvalidParameter, "task document is not an object");
  TaskPlan plan;
  plan.taskArn = task.value("taskArn", "");
  auto slash = plan.taskArn.rfind('/');
  if (plan.taskArn.empty() || slash == std::string::npos)
    return Error::make(ErrorCode::kInvalidParameter, "task document has no taskArn");
  plan.taskId = plan.taskArn.substr(slash + 1);
  plan.cluster = task.value("clusterArn", "");
  const nlohmann::json& td = task.contains("taskDefinition") && task["taskDefinition"].is_object()
                                 ? task["taskDefinition"]
                                 : nlohmann::json::object();
  const nlohmann::json overrides = task.value("overrides", nlohmann::json::object());
  plan.networkMode = td.value("networkMode", "bridge");
  plan.taskRoleArn = overrides.value("taskRoleArn", td.value("taskRoleArn", ""));
  if (td.contains("volumes") && td["volumes"].is_array()) plan.volumes = td["volumes"];
  plan.taskCpu = overrides.contains("cpu") ? intField(overrides, "cpu") : intField(td, "cpu");
  plan.taskMemoryMiB = overrides.contains("memory") ? intField(overrides, "memory") : intField(td, "memory");
  auto defs = td.value("containerDefinitions", nlohmann::json::array());
  if (defs.empty()) return Error::make(ErrorCode::kInvalidParameter, "task definition has no containers");
  for (const auto& def : defs) {
    ContainerPlan c;
    c.definition = def;
    c.name = def.value("name", "");
    // containerOverrides replace command, add/replace environment and resources.
    for (const auto& o : overrides.value("containerOverrides", nlohmann::json::array())) {
      if (o.value("name", "") != c.name) continue;
      for (const char* f : {"command", "cpu", "memory", "memoryReservation"})
        if (o.contains(f)) c.definition[f] = o[f];
      for (const auto& e : o.value("environment", nlohmann::json::array())) {
        auto& env = c.definition["environment"];
        if (!env.is_array()) env = nlohmann::json::array();
        bool replaced = false;
        for (auto& existing : env)
          if (existing.value("name", "") == e.value("name", "")) { existing["value"] = e.value("value", ""); replaced = true; }
        if (!replaced) env.push_back(e);
      }
    }
    const auto& d = c.definition;
    c.image = d.value("image", "");
    c.essential = d.value("essential", true);
    c.entryPoint = stringList(d, "entryPoint");
    c.command = stringList(d, "command");
    for (const auto& e : d.value("environment", nlohmann::json::array()))
      c.environment.emplace_back(e.value("name", ""), e.value("value", ""));
    c.cpu = intField(d, "cpu");
    c.memoryMiB = intField(d, "memory");
    c.memoryReservationMiB = intField(d, "memoryReservation");
    if (d.contains("stopTimeout") && d["stopTimeout"].is_number_integer()) c.stopTimeoutSeconds = d["stopTimeout"].get<int>();
    if (d.contains("startTimeout") && d["startTimeout"].is_number_integer())
      c.startTimeoutSeconds = d["startTimeout"].get<int>();
    for (const auto& dep : d.value("dependsOn", nlohmann::json::array()))
      c.dependsOn.push_back({dep.value("containerName", ""), dep.value("condition", "")});
    if (c.name.empty() || c.image.empty())
      return Error::make(ErrorCode::kInvalidParameter, "container definition without name or image");
    plan.containers.push_back(std::move(c));
  }
  return plan;
}

}  // namespace berth::agent
