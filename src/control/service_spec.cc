#include "control/service_spec.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include "control/arn.h"
#include "control/json_fields.h"
#include "control/launch_checks.h"
#include "control/tags.h"
#include "scheduler/placement.h"

namespace berth::control {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxServiceNameLength = 255;
constexpr std::size_t kMaxLoadBalancers = 5;

Error invalid(std::string message) { return Error::make(ErrorCode::kInvalidParameter, std::move(message)); }

std::optional<std::int64_t> intMember(const json& j, const char* f) {
  auto* v = optField(j, f);
  if (!v || !v->is_number_integer()) return std::nullopt;
  return v->get<std::int64_t>();
}

std::optional<bool> boolMember(const json& j, const char* f) {
  auto* v = optField(j, f);
  if (!v || !v->is_boolean()) return std::nullopt;
  return v->get<bool>();
}

Status resolveTaskDefinitionInto(const EcsContext& ctx, const json& request, const SpecRules& rules, ServiceSpec& s) {
  // Berth has only the ECS deployment controller, which needs a task definition.
  auto td = resolveLaunchTaskDefinition(ctx, request, rules.requireActiveTaskDefinition);
  if (!td.ok()) return td.error();
  s.taskDefinition = std::move(td->taskDefinition);
  s.taskDefinitionTags = std::move(td->tags);
  s.taskDefinitionArn = s.taskDefinition.value("taskDefinitionArn", "");
  return okStatus();
}

Status checkSchedulingAndController(const json& request, ServiceSpec& s) {
  s.schedulingStrategy = stringOr(request, "schedulingStrategy", "REPLICA");
  if (s.schedulingStrategy != "REPLICA" && s.schedulingStrategy != "DAEMON")
    return invalid("Invalid schedulingStrategy '" + s.schedulingStrategy + "'. Valid values: REPLICA, DAEMON.");
  if (auto* dc = optField(request, "deploymentController")) {
    std::string type = stringOr(*dc, "type", "");
    if (type == "CODE_DEPLOY" || type == "EXTERNAL")
      return invalid("Berth supports only the ECS (rolling update) deployment controller; " + type + " is not supported.");
    if (type != "ECS") return invalid("Invalid deploymentController type '" + type + "'. Valid values: ECS, CODE_DEPLOY, EXTERNAL.");
  }
  return okStatus();
}

Status checkDesiredCount(const json& request, const SpecRules& rules, ServiceSpec& s) {
  auto desired = intMember(request, "desiredCount");
  if (s.schedulingStrategy == "DAEMON") {
    if (desired && rules.checkDesiredCount)
      return invalid("The daemon scheduling strategy does not support a desired count for services.");
    s.desiredCount = 0;
    return okStatus();
  }
  if (!desired) {
    if (rules.checkDesiredCount) return invalid("desiredCount must be specified for services using the REPLICA scheduling strategy.");
    s.desiredCount = 0;
    return okStatus();
  }
  if (*desired < 0) return invalid("desiredCount must be greater than or equal to 0.");
  s.desiredCount = *desired;
  return okStatus();
}

Status checkLaunchTarget(const EcsContext& ctx, const json& request, ServiceSpec& s) {
  auto target = control::checkLaunchTarget(ctx, s.cluster, request, s.taskDefinition);
  if (!target.ok()) return target.error();
  s.launchType = target->launchType;
  s.capacityProviderStrategy = target->capacityProviderStrategy;
  s.fargate = target->effectiveLaunchType == "FARGATE";
  if (auto pv = optString(request, "platformVersion")) {
    if (!s.fargate) return invalid("The platform version must be null when specifying an EC2 or EXTERNAL launch type.");
    if (*pv != "LATEST" && *pv != "1.4.0" && *pv != "1.3.0")
      return invalid("The specified platform version " + *pv + " does not exist. Valid values: LATEST, 1.4.0, 1.3.0.");
    s.platformVersion = *pv;
  } else if (s.fargate) {
    s.platformVersion = "LATEST";
  }
  if (s.schedulingStrategy == "DAEMON" && s.fargate)
    return invalid("The DAEMON scheduling strategy is not supported on Fargate.");
  return okStatus();
}

// ECS's defaults: REPLICA min 100 / max 200; DAEMON min 0 / max 100 (and max must be 100).
Status checkDeploymentConfiguration(const json& request, ServiceSpec& s) {
  const bool daemon = s.schedulingStrategy == "DAEMON";
  json given = request.value("deploymentConfiguration", json::object());
  if (!given.is_object()) given = json::object();
  std::int64_t minimum = intMember(given, "minimumHealthyPercent").value_or(daemon ? 0 : 100);
  std::int64_t maximum = intMember(given, "maximumPercent").value_or(daemon ? 100 : 200);
  if (minimum < 0 || minimum > 100) return invalid("minimumHealthyPercent must be between 0 and 100.");
  if (daemon && maximum != 100)
    return invalid("maximumPercent must be 100 for services with the DAEMON scheduling strategy.");
  if (maximum < 100) return invalid("maximumPercent must be greater than or equal to 100.");
  json breaker = {{"enable", false}, {"rollback", false}};
  if (auto* cb = optField(given, "deploymentCircuitBreaker")) {
    auto enable = boolMember(*cb, "enable");
    auto rollback = boolMember(*cb, "rollback");
    if (!enable || !rollback) return invalid("deploymentCircuitBreaker requires both enable and rollback.");
    breaker = {{"enable", *enable}, {"rollback", *rollback}};
  }
  s.deploymentConfiguration = {{"deploymentCircuitBreaker", breaker},
                               {"maximumPercent", maximum},
                               {"minimumHealthyPercent", minimum}};
  return okStatus();
}

// Constraints (service + task definition ≤ 10) and strategies (≤ 5), parsed by
// the scheduler so a service accepts exactly what its tasks' placement will.
Status checkPlacement(const json& request, ServiceSpec& s) {
  json constraints = arrayOrEmpty(request, "placementConstraints");
  json strategies = arrayOrEmpty(request, "placementStrategy");
  json fromDefinition = arrayOrEmpty(s.taskDefinition, "placementConstraints");
  if (constraints.size() + fromDefinition.size() > scheduler::kMaxConstraints)
    return invalid("You can specify up to 10 placement constraints per task (task definition and request combined).");
  for (const auto& c : constraints) {
    auto expression = optString(c, "expression");
    auto parsed = scheduler::parseConstraint(stringOr(c, "type", ""),
                                             expression ? std::optional<std::string_view>(*expression) : std::nullopt);
    if (!parsed.ok()) return parsed.takeError();
  }
  if (!strategies.empty() && s.schedulingStrategy == "DAEMON")
    return invalid("Placement strategies are not supported with the DAEMON scheduling strategy.");
  if (strategies.size() > scheduler::kMaxStrategies) return invalid("You can specify up to 5 placement strategies.");
  for (const auto& st : strategies) {
    auto field = optString(st, "field");
    auto parsed = scheduler::parseStrategy(stringOr(st, "type", ""),
                                           field ? std::optional<std::string_view>(*field) : std::nullopt);
    if (!parsed.ok()) return parsed.takeError();
  }
  s.placementConstraints = constraints;
  s.placementStrategy = strategies;
  return okStatus();
}

// As RunTask: awsvpc needs a network configuration, other modes refuse one.
Status checkNetwork(const json& request, ServiceSpec& s) {
  auto network = checkNetworkConfiguration(request, s.taskDefinition, s.fargate ? "FARGATE" : s.launchType.value_or("EC2"));
  if (!network.ok()) return network.error();
  s.networkConfiguration = *network;  // stored as DescribeServices shows it: every member present
  return okStatus();
}

// A pointer into `td` itself (json::value() would return a copy to dangle into).
const json* findContainer(const json& td, const std::string& name) {
  const json* list = optField(td, "containerDefinitions");
  if (!list || !list->is_array()) return nullptr;
  for (const auto& c : *list)
    if (c.value("name", "") == name) return &c;
  return nullptr;
}

// Load balancers are stored as given (Berth has no ELB yet) once they name a
// container port the task definition really has.
Status checkLoadBalancers(const EcsContext& ctx, const json& request, ServiceSpec& s) {
  json lbs = arrayOrEmpty(request, "loadBalancers");
  if (lbs.size() > kMaxLoadBalancers) return invalid("You can specify up to 5 load balancers (target groups) per service.");
  for (const auto& lb : lbs) {
    auto name = optString(lb, "containerName");
    auto port = intMember(lb, "containerPort");
    if (!name || name->empty() || !port)
      return invalid("Each load balancer must name a containerName and a containerPort.");
    if (!optString(lb, "targetGroupArn") && !optString(lb, "loadBalancerName"))
      return invalid("Each load balancer must name a targetGroupArn (or a Classic loadBalancerName).");
    const json* container = findContainer(s.taskDefinition, *name);
    if (!container) return invalid("The container " + *name + " does not exist in the task definition.");
    bool hasPort = false;
    for (const auto& pm : container->value("portMappings", json::array()))
      hasPort |= pm.value("containerPort", -1) == *port;
    if (!hasPort) return invalid("The container " + *name + " did not have a container port " + std::to_string(*port) + " defined.");
  }
  s.loadBalancers = lbs;
  if (auto role = optString(request, "role"); role && !role->empty()) {
    if (lbs.empty()) return invalid("The role parameter is only valid for services configured to use load balancers.");
    if (s.taskDefinition.value("networkMode", "bridge") == "awsvpc")
      return invalid("You cannot specify an IAM role for services that require a service linked role.");
    s.roleArn = role->rfind("arn:", 0) == 0 ? *role
                                            : "arn:" + ctx.account.partition + ":iam::" + ctx.account.accountId + ":role/" + *role;
  }
  if (auto grace = intMember(request, "healthCheckGracePeriodSeconds")) {
    // Newer ECS applies the grace period to container health checks too, so
    // it is accepted without load balancers.
    if (*grace < 0 || *grace > std::numeric_limits<std::int32_t>::max())
      return invalid("healthCheckGracePeriodSeconds must be between 0 and 2147483647.");
    s.healthCheckGracePeriodSeconds = *grace;
  } else if (!lbs.empty()) {
    s.healthCheckGracePeriodSeconds = 0;
  }
  return okStatus();
}

Status checkTagsAndFlags(const json& request, ServiceSpec& s) {
  auto tags = validateTags(request.value("tags", json()));
  if (!tags.ok()) return tags.takeError();
  s.tags = *tags;
  s.propagateTags = stringOr(request, "propagateTags", "NONE");
  if (s.propagateTags != "NONE" && s.propagateTags != "SERVICE" && s.propagateTags != "TASK_DEFINITION")
    return invalid("Invalid propagateTags '" + s.propagateTags + "'. Valid values: TASK_DEFINITION, SERVICE, NONE.");
  s.enableECSManagedTags = boolMember(request, "enableECSManagedTags").value_or(false);
  s.enableExecuteCommand = boolMember(request, "enableExecuteCommand").value_or(false);
  // Not yet in Berth: refuse rather than accept and ignore.
  if (!arrayOrEmpty(request, "serviceRegistries").empty())
    return invalid("Berth does not support service discovery (serviceRegistries) yet.");
  if (auto* sc = optField(request, "serviceConnectConfiguration"); sc && sc->value("enabled", false))
    return invalid("Berth does not support Service Connect yet.");
  return okStatus();
}

}  // namespace

bool validServiceName(const std::string& name) {
  if (name.empty() || name.size() > kMaxServiceNameLength) return false;
  return std::all_of(name.begin(), name.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_'; });
}

Result<ServiceSpec> validateServiceSpec(const EcsContext& ctx, const std::string& cluster, const json& request,
                                        const SpecRules& rules) {
  ServiceSpec s;
  s.cluster = cluster;
  s.name = stringOr(request, "serviceName", "");
  if (!validServiceName(s.name))
    return invalid("Service names must be 1-255 characters long and contain only letters (uppercase and lowercase), numbers, hyphens and underscores.");
  if (auto st = checkSchedulingAndController(request, s); !st.ok()) return st.error();
  if (auto st = checkDesiredCount(request, rules, s); !st.ok()) return st.error();
  if (auto st = resolveTaskDefinitionInto(ctx, request, rules, s); !st.ok()) return st.error();
  if (auto st = checkLaunchTarget(ctx, request, s); !st.ok()) return st.error();
  if (auto st = checkDeploymentConfiguration(request, s); !st.ok()) return st.error();
  if (auto st = checkPlacement(request, s); !st.ok()) return st.error();
  if (auto st = checkNetwork(request, s); !st.ok()) return st.error();
  if (auto st = checkLoadBalancers(ctx, request, s); !st.ok()) return st.error();
  if (auto st = checkTagsAndFlags(request, s); !st.ok()) return st.error();
  return s;
}

json specRequestOf(const json& stored) {
  json r = json::object();
  for (const char* f : {"serviceName", "taskDefinition", "desiredCount", "launchType", "capacityProviderStrategy",
                        "platformVersion", "schedulingStrategy", "deploymentConfiguration", "placementConstraints",
                        "placementStrategy", "networkConfiguration", "loadBalancers", "healthCheckGracePeriodSeconds",
                        "tags", "propagateTags", "enableECSManagedTags", "enableExecuteCommand", "deploymentController"})
    if (auto* v = optField(stored, f)) r[f] = *v;
  if (auto role = optString(stored, "roleArn")) r["role"] = *role;
  return r;
}

}  // namespace berth::control
