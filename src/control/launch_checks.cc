#include "control/launch_checks.h"

#include <algorithm>

#include "control/json_fields.h"
#include "control/keys.h"
#include "control/task_definition_ops.h"

namespace berth::control {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxCapacityProviders = 6;
constexpr std::size_t kMaxSubnets = 16;
constexpr std::size_t kMaxSecurityGroups = 5;

Error invalid(std::string message) { return Error::make(ErrorCode::kInvalidParameter, std::move(message)); }
Error client(std::string message) { return Error::make(ErrorCode::kClient, std::move(message)); }

bool contains(const json& list, const json& value) { return std::find(list.begin(), list.end(), value) != list.end(); }

}  // namespace

Result<LaunchTaskDefinition> resolveLaunchTaskDefinition(const EcsContext& ctx, const json& request, bool requireActive) {
  std::string tdRef = stringOr(request, "taskDefinition", "");
  if (tdRef.empty()) return invalid("taskDefinition must be specified.");
  auto ref = parseTaskDefinitionRef(tdRef);
  if (!ref) return client("Invalid task definition '" + tdRef + "'. Specify family, family:revision or a task definition ARN.");
  auto resolved = resolveTaskDefinition(ctx.cache, *ref);
  if (!resolved) return client("Unable to find task definition '" + tdRef + "'.");
  LaunchTaskDefinition out;
  out.key = resolved->key;
  out.taskDefinition = resolved->object.doc.value("taskDefinition", json::object());
  out.tags = resolved->object.doc.value("tags", json::array());
  if (requireActive && out.taskDefinition.value("status", "") != "ACTIVE") return client("TaskDefinition is inactive");
  return out;
}

Result<LaunchTarget> checkLaunchTarget(const EcsContext& ctx, const std::string& cluster, const json& request,
                                       const json& taskDefinition) {
  LaunchTarget out;
  auto launchType = optString(request, "launchType");
  json strategy = arrayOrEmpty(request, "capacityProviderStrategy");
  if (launchType && !strategy.empty())
    return invalid("Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.");
  if (!strategy.empty()) {
    if (strategy.size() > kMaxCapacityProviders)
      return invalid("A capacity provider strategy may contain a maximum of 6 capacity providers.");
    auto clusterDoc = ctx.cache.get(keys::cluster(cluster));
    json providers = clusterDoc ? clusterDoc->doc.value("capacityProviders", json::array()) : json::array();
    for (const auto& item : strategy) {
      std::string cp = stringOr(item, "capacityProvider", "");
      if (!contains(providers, json(cp)))
        return invalid("The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.");
      if (!out.capacityProviderName && (item.value("weight", 0) > 0 || item.value("base", 0) > 0))
        out.capacityProviderName = cp;
    }
    if (!out.capacityProviderName)
      return invalid("The capacity provider strategy must give at least one capacity provider a weight or base greater than 0.");
    out.capacityProviderStrategy = strategy;
    // FARGATE and FARGATE_SPOT are the only providers a cluster can have yet.
    out.effectiveLaunchType = "FARGATE";
  } else {
    out.launchType = launchType.value_or("EC2");
    out.effectiveLaunchType = *out.launchType;
    if (out.effectiveLaunchType != "EC2" && out.effectiveLaunchType != "FARGATE" && out.effectiveLaunchType != "EXTERNAL")
      return invalid("Invalid launch type '" + out.effectiveLaunchType + "'. Valid values: EC2, FARGATE, EXTERNAL.");
  }
  json compat = taskDefinition.value("compatibilities", json::array({"EC2"}));
  if (!contains(compat, json(out.effectiveLaunchType)))
    return invalid("Task definition does not support launch_type " + out.effectiveLaunchType + ".");
  return out;
}

Result<std::optional<json>> checkNetworkConfiguration(const json& request, const json& taskDefinition,
                                                      const std::string& effectiveLaunchType) {
  const bool awsvpc = taskDefinition.value("networkMode", "bridge") == "awsvpc";
  const json* netcfg = optField(request, "networkConfiguration");
  const json* vpc = netcfg ? optField(*netcfg, "awsvpcConfiguration") : nullptr;
  if (!awsvpc) {
    if (vpc) return invalid("Network Configuration is not valid for the given networkMode of this task definition.");
    return std::optional<json>();
  }
  if (!vpc) return invalid("Network Configuration must be provided when networkMode 'awsvpc' is specified.");
  json subnets = arrayOrEmpty(*vpc, "subnets");
  json groups = arrayOrEmpty(*vpc, "securityGroups");
  if (subnets.empty() || subnets.size() > kMaxSubnets) return invalid("subnets can have at least 1 and at most 16 items.");
  if (groups.size() > kMaxSecurityGroups) return invalid("securityGroups can have at most 5 items.");
  for (const auto& list : {subnets, groups})
    for (const auto& id : list)
      if (!id.is_string() || id.get<std::string>().empty()) return invalid("subnets and securityGroups must be non-empty strings.");
  // Berth has no VPC: any ids are accepted. ECS refuses a public IP on
  // anything but Fargate (InvalidParameterException, this wording).
  std::string publicIp = stringOr(*vpc, "assignPublicIp", "DISABLED");
  if (publicIp != "ENABLED" && publicIp != "DISABLED")
    return invalid("Invalid assignPublicIp '" + publicIp + "'. Valid values: ENABLED, DISABLED.");
  if (publicIp == "ENABLED" && effectiveLaunchType != "FARGATE")
    return invalid("Assign public IP is not supported for this launch type.");
  return std::optional<json>(
      json{{"awsvpcConfiguration", {{"subnets", subnets}, {"securityGroups", groups}, {"assignPublicIp", publicIp}}}});
}

}  // namespace berth::control
