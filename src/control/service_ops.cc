#include "control/service_ops.h"

#include <algorithm>

#include "control/arn.h"
#include "control/cluster_ops.h"
#include "control/committer.h"
#include "control/deployment_docs.h"
#include "control/json_fields.h"
#include "control/keys.h"
#include "control/tags.h"
#include "control/pagination.h"
#include "control/service_spec.h"

namespace berth::control {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxDescribeServices = 10;
constexpr std::size_t kMaxClientTokenLength = 32;
constexpr std::size_t kReapBatch = 100;

Error invalid(std::string message) { return Error::make(ErrorCode::kInvalidParameter, std::move(message)); }
Error serviceNotFound() { return Error::make(ErrorCode::kServiceNotFound, "Service not found."); }
Error serviceNotActive() { return Error::make(ErrorCode::kServiceNotActive, "Service was not ACTIVE."); }

// "name", "arn:...:service/<cluster>/<name>" or the old "arn:...:service/<name>".
// nullopt when the ARN is of something else or of another cluster.
std::optional<std::string> serviceNameFromRef(const std::string& ref, const std::string& cluster) {
  if (ref.rfind("arn:", 0) != 0) return validServiceName(ref) ? std::optional<std::string>(ref) : std::nullopt;
  auto parsed = parseArn(ref);
  if (!parsed || parsed->service != "ecs" || parsed->resourceType != "service") return std::nullopt;
  std::string name = parsed->resource;
  if (auto slash = name.find('/'); slash != std::string::npos) {
    if (name.substr(0, slash) != cluster) return std::nullopt;
    name = name.substr(slash + 1);
  }
  return validServiceName(name) ? std::optional<std::string>(name) : std::nullopt;
}

// Writes the service-level members of `s` into a stored service document.
// DAEMON desiredCount belongs to the controller (the eligible instance count).
void applySpec(EcsContext& ctx, json& doc, const ServiceSpec& s, bool creating) {
  doc["serviceArn"] = serviceArn(ctx.account, s.cluster, s.name);
  doc["serviceName"] = s.name;
  doc["clusterArn"] = clusterArn(ctx.account, s.cluster);
  doc["loadBalancers"] = s.loadBalancers;
  doc["serviceRegistries"] = json::array();
  if (s.schedulingStrategy == "REPLICA" || creating) doc["desiredCount"] = s.desiredCount;
  doc.erase("launchType");
  doc.erase("capacityProviderStrategy");
  // ECS shows launchType or capacityProviderStrategy, whichever the service uses.
  if (s.launchType) doc["launchType"] = *s.launchType;
  else doc["capacityProviderStrategy"] = s.capacityProviderStrategy;
  doc.erase("platformVersion");
  doc.erase("platformFamily");
  if (s.platformVersion) {
    doc["platformVersion"] = *s.platformVersion;
    doc["platformFamily"] = "Linux";
  }
  doc["taskDefinition"] = s.taskDefinitionArn;
  doc["deploymentConfiguration"] = s.deploymentConfiguration;
  doc["placementConstraints"] = s.placementConstraints;
  doc["placementStrategy"] = s.placementStrategy;
  if (s.networkConfiguration) doc["networkConfiguration"] = *s.networkConfiguration;
  else doc.erase("networkConfiguration");
  if (s.healthCheckGracePeriodSeconds) doc["healthCheckGracePeriodSeconds"] = *s.healthCheckGracePeriodSeconds;
  else doc.erase("healthCheckGracePeriodSeconds");
  if (s.roleArn) doc["roleArn"] = *s.roleArn;
  else doc.erase("roleArn");
  doc["schedulingStrategy"] = s.schedulingStrategy;
  doc["deploymentController"] = {{"type", "ECS"}};
  doc["tags"] = s.tags;
  doc["propagateTags"] = s.propagateTags;
  doc["enableECSManagedTags"] = s.enableECSManagedTags;
  doc["enableExecuteCommand"] = s.enableExecuteCommand;
}

json newServiceDoc(EcsContext& ctx, const ServiceSpec& s, const std::string& clientToken, double now) {
  json doc = {{"status", "ACTIVE"}, {"runningCount", 0}, {"pendingCount", 0}, {"events", json::array()},
              {"createdAt", now}, {"createdBy", ctx.callerArn()}};
  applySpec(ctx, doc, s, true);
  doc["deployments"] = json::array({newDeploymentDoc(s, newDeploymentId(ctx.random), now)});
  doc["berth"] = {
      {"cluster", s.cluster},
      {"name", s.name},
      {"updatedAt", now},
      {"lastSteadyStateEventAt", 0},
      {"launchesThrottledUntil", 0},
      {"clientToken", clientToken},
      {"revision", 0},
  };
  return doc;
}

// Whether an update changes what the service's tasks are (reference
// ecs-services.md §2): then it needs a new deployment; otherwise it resizes
// or retunes the PRIMARY in place.
bool needsNewDeployment(const json& stored, const ServiceSpec& s) {
  auto member = [&](const char* f) { return stored.contains(f) ? stored[f] : json(); };
  json network = s.networkConfiguration ? *s.networkConfiguration : json();
  json launchType = s.launchType ? json(*s.launchType) : json();
  json providers = s.launchType ? json() : s.capacityProviderStrategy;
  json platform = s.platformVersion ? json(*s.platformVersion) : json();
  return member("taskDefinition") != s.taskDefinitionArn || member("networkConfiguration") != network ||
         member("placementConstraints") != s.placementConstraints || member("placementStrategy") != s.placementStrategy ||
         member("launchType") != launchType || member("capacityProviderStrategy") != providers ||
         member("loadBalancers") != s.loadBalancers || member("platformVersion") != platform;
}

// Settings that only affect tasks started from now on: the PRIMARY's launch
// request picks them up without a new deployment.
void refreshLaunchSettings(json& deployment, const ServiceSpec& s) {
  json& launch = deployment["berth"]["launchRequest"];
  launch["tags"] = propagatedTaskTags(s);
  launch["enableECSManagedTags"] = s.enableECSManagedTags;
  launch["enableExecuteCommand"] = s.enableExecuteCommand;
}

// UpdateService members laid over the stored service's own.
json mergedSpecRequest(const json& stored, const json& request) {
  json merged = specRequestOf(stored);
  if (stored.value("schedulingStrategy", "REPLICA") == "DAEMON") merged.erase("desiredCount");
  for (const char* f : {"desiredCount", "taskDefinition", "platformVersion", "networkConfiguration",
                        "placementConstraints", "placementStrategy", "healthCheckGracePeriodSeconds",
                        "enableExecuteCommand", "enableECSManagedTags", "propagateTags", "loadBalancers"})
    if (auto* v = optField(request, f)) merged[f] = *v;
  if (auto* cps = optField(request, "capacityProviderStrategy"); cps && cps->is_array() && !cps->empty()) {
    merged["capacityProviderStrategy"] = *cps;
    merged.erase("launchType");
  }
  // Unspecified deploymentConfiguration members keep their current values.
  if (auto* dc = optField(request, "deploymentConfiguration"); dc && dc->is_object()) {
    json config = merged.value("deploymentConfiguration", json::object());
    for (auto it = dc->begin(); it != dc->end(); ++it)
      if (!it.value().is_null()) config[it.key()] = it.value();
    merged["deploymentConfiguration"] = config;
  }
  return merged;
}

// Whether any task of the service is not STOPPED (tasks carry group "service:<name>").
bool hasUnstoppedTasks(const EcsContext& ctx, const std::string& cluster, const std::string& name) {
  const std::string group = "service:" + name;
  bool found = false;
  ctx.cache.scan(keys::clusterScoped(keys::kTasks, cluster), "", [&](const std::string&, const CachedObject& o) {
    if (o.doc.value("group", "") == group && o.doc.value("lastStatus", "") != "STOPPED") found = true;
    return !found;
  });
  return found;
}

struct FoundService {
  std::string key;
  CachedObject object;
};

Result<FoundService> findService(const EcsContext& ctx, const std::string& cluster, const json& request) {
  std::string ref = stringOr(request, "service", "");
  if (ref.empty()) return invalid("Service can not be blank.");
  auto name = serviceNameFromRef(ref, cluster);
  if (!name) return serviceNotFound();
  std::string key = keys::service(cluster, *name);
  auto obj = ctx.cache.get(key);
  if (!obj) return serviceNotFound();
  return FoundService{key, *obj};
}

void bumpRevision(json& doc, double now) {
  json& b = doc["berth"];
  b["updatedAt"] = now;
  b["revision"] = b.value("revision", std::int64_t{0}) + 1;
}

}  // namespace

std::string serviceArn(const AccountInfo& a, std::string_view cluster, std::string_view name) {
  return ecsArn(a, "service", std::string(cluster) + "/" + std::string(name));
}

std::string newDeploymentId(Random& random) {
  std::string id = "ecs-svc/";
  id.push_back(static_cast<char>('1' + random.next() % 9));
  for (int i = 1; i < 19; ++i) id.push_back(static_cast<char>('0' + random.next() % 10));
  return id;
}

json renderService(const json& stored, bool includeTags) {
  json out = stored;
  out.erase("berth");
  if (!includeTags) out.erase("tags");
  if (out.contains("deployments"))
    for (auto& d : out["deployments"]) d.erase("berth");
  return out;
}

Result<json> createService(EcsContext& ctx, const json& request) {
  auto cluster = resolveActiveCluster(ctx, request);
  if (!cluster.ok()) return cluster.takeError();
  std::string clientToken = stringOr(request, "clientToken", "");
  if (clientToken.size() > kMaxClientTokenLength) return invalid("clientToken can be up to 32 characters long.");
  for (unsigned char c : clientToken)
    if (c < 0x20 || c > 0x7e) return invalid("clientToken may contain only printable ASCII characters.");
  auto spec = validateServiceSpec(ctx, *cluster, request, SpecRules{});
  if (!spec.ok()) return spec.takeError();
  const double now = ctx.clock.epochSeconds();
  const std::string key = keys::service(*cluster, spec->name);
  json doc = newServiceDoc(ctx, *spec, clientToken, now);
  json result = doc;
  auto txn = commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    result = doc;
    auto existing = ctx.cache.get(key);
    if (existing) {
      std::string status = existing->doc.value("status", "");
      if (status == "DRAINING") return invalid("Unable to Start a service that is still Draining.");
      if (status != "INACTIVE") {
        // The same clientToken asks again for the service it made.
        if (!clientToken.empty() && existing->doc["berth"].value("clientToken", "") == clientToken) {
          result = existing->doc;
          return store::TxnRequest{};
        }
        return invalid("Creation of service was not idempotent.");
      }
    }
    // An INACTIVE service of that name is replaced; the cluster must still be there.
    store::TxnRequest t{{{key, existing ? existing->modRevision : 0}, pinned(ctx.cache, keys::cluster(*cluster))},
                        {store::Op::put(key, doc.dump())}};
    return t;
  });
  if (!txn.ok()) return txn.takeError();
  return json{{"service", renderService(result, true)}};
}

Result<json> updateService(EcsContext& ctx, const json& request) {
  auto cluster = resolveActiveCluster(ctx, request);
  if (!cluster.ok()) return cluster.takeError();
  const double now = ctx.clock.epochSeconds();
  const bool force = request.value("forceNewDeployment", false);
  json result;
  auto txn = commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    auto found = findService(ctx, *cluster, request);
    if (!found.ok()) return found.takeError();
    const json& stored = found->object.doc;
    if (stored.value("status", "") != "ACTIVE") return serviceNotActive();
    const bool daemon = stored.value("schedulingStrategy", "REPLICA") == "DAEMON";
    if (daemon && optField(request, "desiredCount"))
      return invalid("The daemon scheduling strategy does not support a desired count for services.");
    SpecRules rules{.requireActiveTaskDefinition = optField(request, "taskDefinition") != nullptr,
                    .checkDesiredCount = false};
    auto spec = validateServiceSpec(ctx, *cluster, mergedSpecRequest(stored, request), rules);
    if (!spec.ok()) return spec.takeError();

    json doc = stored;
    const bool redeploy = force || needsNewDeployment(stored, *spec);
    applySpec(ctx, doc, *spec, false);
    json& deployments = doc["deployments"];
    if (redeploy) {
      if (!deployments.empty()) {
        deployments[0]["status"] = "ACTIVE";
        deployments[0]["updatedAt"] = now;
      }
      json fresh = newDeploymentDoc(*spec, newDeploymentId(ctx.random), now);
      if (daemon) fresh["desiredCount"] = stored.value("desiredCount", 0);
      deployments.insert(deployments.begin(), fresh);
    } else if (!deployments.empty()) {
      json& primary = deployments[0];
      if (!daemon && primary.value("desiredCount", std::int64_t{-1}) != spec->desiredCount) {
        primary["desiredCount"] = spec->desiredCount;
        primary["updatedAt"] = now;
      }
      refreshLaunchSettings(primary, *spec);
    }
    bumpRevision(doc, now);
    result = doc;
    return store::TxnRequest{{{found->key, found->object.modRevision}}, {store::Op::put(found->key, doc.dump())}};
  });
  if (!txn.ok()) return txn.takeError();
  return json{{"service", renderService(result, false)}};
}

Result<json> deleteService(EcsContext& ctx, const json& request) {
  auto cluster = resolveActiveCluster(ctx, request);
  if (!cluster.ok()) return cluster.takeError();
  const double now = ctx.clock.epochSeconds();
  const bool force = request.value("force", false);
  json result;
  auto txn = commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    auto found = findService(ctx, *cluster, request);
    if (!found.ok()) return found.takeError();
    const json& stored = found->object.doc;
    result = stored;
    const std::string status = stored.value("status", "");
    if (status == "DRAINING") return store::TxnRequest{};  // already being deleted
    if (status != "ACTIVE") return serviceNotActive();
    if (stored.value("schedulingStrategy", "REPLICA") == "REPLICA" && stored.value("desiredCount", 0) > 0 && !force)
      return invalid("The service cannot be stopped while it is scaled above 0.");
    json doc = stored;
    doc["desiredCount"] = 0;
    if (!doc["deployments"].empty()) {
      doc["deployments"][0]["desiredCount"] = 0;
      doc["deployments"][0]["updatedAt"] = now;
    }
    // With nothing left to stop there is no draining to wait for.
    if (hasUnstoppedTasks(ctx, *cluster, stored.value("serviceName", ""))) {
      doc["status"] = "DRAINING";
    } else {
      doc["status"] = "INACTIVE";
      doc["berth"]["inactiveAt"] = now;
    }
    bumpRevision(doc, now);
    result = doc;
    return store::TxnRequest{{{found->key, found->object.modRevision}}, {store::Op::put(found->key, doc.dump())}};
  });
  if (!txn.ok()) return txn.takeError();
  return json{{"service", renderService(result, false)}};
}

Result<json> describeServices(EcsContext& ctx, const json& request) {
  auto cluster = resolveActiveCluster(ctx, request);
  if (!cluster.ok()) return cluster.takeError();
  auto includeTags = includesTags(request);
  if (!includeTags.ok()) return includeTags.takeError();
  json refs = arrayOrEmpty(request, "services");
  if (refs.empty()) return invalid("Services cannot be empty.");
  if (refs.size() > kMaxDescribeServices)
    return invalid("Too many services specified. You can describe up to 10 services in a single call.");
  json services = json::array(), failures = json::array();
  for (const auto& r : refs) {
    std::string ref = r.is_string() ? r.get<std::string>() : "";
    auto name = serviceNameFromRef(ref, *cluster);
    std::optional<CachedObject> obj;
    if (name) obj = ctx.cache.get(keys::service(*cluster, *name));
    if (!obj) {
      failures.push_back({{"arn", name ? serviceArn(ctx.account, *cluster, *name) : ref}, {"reason", "MISSING"}});
      continue;
    }
    services.push_back(renderService(obj->doc, *includeTags));
  }
  return json{{"services", services}, {"failures", failures}};
}

Result<json> listServices(EcsContext& ctx, const json& request) {
  auto cluster = resolveActiveCluster(ctx, request);
  if (!cluster.ok()) return cluster.takeError();
  auto page = pageRequestFrom(request, 10, 100);
  if (!page.ok()) return page.takeError();
  auto launchType = optString(request, "launchType");
  if (launchType && *launchType != "EC2" && *launchType != "FARGATE" && *launchType != "EXTERNAL")
    return invalid("Invalid launch type '" + *launchType + "'. Valid values: EC2, FARGATE, EXTERNAL.");
  auto strategy = optString(request, "schedulingStrategy");
  if (strategy && *strategy != "REPLICA" && *strategy != "DAEMON")
    return invalid("Invalid schedulingStrategy '" + *strategy + "'. Valid values: REPLICA, DAEMON.");
  std::string scope = "ListServices/" + *cluster + "/" + launchType.value_or("") + "/" + strategy.value_or("");
  auto result = paginate(ctx.cache, keys::clusterScoped(keys::kServices, *cluster), scope, *page,
                         [&](const std::string&, const CachedObject& o) -> std::optional<json> {
                           const json& d = o.doc;
                           // DRAINING and INACTIVE services are hidden from ListServices.
                           if (d.value("status", "") != "ACTIVE") return std::nullopt;
                           if (launchType && stringOr(d, "launchType", "") != *launchType) return std::nullopt;
                           if (strategy && d.value("schedulingStrategy", "") != *strategy) return std::nullopt;
                           return d.value("serviceArn", "");
                         });
  if (!result.ok()) return result.takeError();
  json out = {{"serviceArns", result->items}};
  if (result->nextToken) out["nextToken"] = *result->nextToken;
  return out;
}

Result<std::int64_t> reapInactiveServices(EcsContext& ctx, std::chrono::system_clock::time_point now,
                                          std::chrono::seconds retention) {
  const double nowEpoch = std::chrono::duration<double>(now.time_since_epoch()).count();
  const double cutoff = nowEpoch - static_cast<double>(retention.count());
  std::vector<std::string> candidates;
  ctx.cache.scan(std::string(keys::kServices), "", [&](const std::string& key, const CachedObject& o) {
    if (o.doc.value("status", "") == "INACTIVE") candidates.push_back(key);
    return true;
  });
  std::int64_t reaped = 0;
  for (std::size_t start = 0; start < candidates.size(); start += kReapBatch) {
    std::int64_t batchCount = 0;
    auto txn = commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
      store::TxnRequest txn;
      batchCount = 0;
      for (std::size_t i = start; i < std::min(candidates.size(), start + kReapBatch); ++i) {
        auto obj = ctx.cache.get(candidates[i]);
        if (!obj || obj->doc.value("status", "") != "INACTIVE") continue;
        const json& b = obj->doc.value("berth", json::object());
        txn.compares.push_back({candidates[i], obj->modRevision});
        if (!b.contains("inactiveAt")) {
          // Made INACTIVE without a timestamp: the retention starts now.
          json doc = obj->doc;
          doc["berth"]["inactiveAt"] = nowEpoch;
          txn.ops.push_back(store::Op::put(candidates[i], doc.dump()));
        } else if (b.value("inactiveAt", nowEpoch) <= cutoff) {
          txn.ops.push_back(store::Op::del(candidates[i]));
          ++batchCount;
        } else {
          txn.compares.pop_back();
        }
      }
      return txn;
    });
    if (!txn.ok()) return txn.takeError();
    reaped += batchCount;
  }
  return reaped;
}

}  // namespace berth::control
