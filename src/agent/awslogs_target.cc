// awslogsTargetFor (task_hooks.h): a container's logConfiguration → where its
// lines go.
#include <algorithm>
#include <cctype>

#include "agent/task_hooks.h"

namespace berth::agent {

namespace {
std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}
}  // namespace

Result<std::optional<AwsLogsTarget>> awslogsTargetFor(const ContainerPlan& container, const TaskPlan& task,
                                                      const std::string& runtimeId) {
  const auto& def = container.definition;
  if (!def.is_object()) return std::optional<AwsLogsTarget>();
  auto lc = def.find("logConfiguration");
  if (lc == def.end() || !lc->is_object() || lc->value("logDriver", "") != "awslogs")
    return std::optional<AwsLogsTarget>();
  nlohmann::json options = lc->value("options", nlohmann::json::object());
  if (!options.is_object()) options = nlohmann::json::object();
  auto opt = [&](const char* key) {
    auto it = options.find(key);
    return it != options.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  AwsLogsTarget t;
  t.group = opt("awslogs-group");
  if (t.group.empty())
    return Error::make(ErrorCode::kInvalidParameter,
                       "container " + container.name + ": the awslogs log driver needs the awslogs-group option",
                       container.name);
  t.region = opt("awslogs-region");
  const std::string prefix = opt("awslogs-stream-prefix");
  // ECS: PREFIX/CONTAINER-NAME/TASK-ID; without a prefix, the container's id.
  t.stream = prefix.empty() ? runtimeId : prefix + "/" + container.name + "/" + task.taskId;
  t.createGroup = lower(opt("awslogs-create-group")) == "true";
  // ECS's default mode is non-blocking since 2025-06-25.
  t.nonBlocking = lower(opt("mode")) != "blocking";
  return std::optional<AwsLogsTarget>(std::move(t));
}

}  // namespace berth::agent
