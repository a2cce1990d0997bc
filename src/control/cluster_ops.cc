#include "control/cluster_ops.h"

#include <regex>
#include <set>

#include "control/arn.h"
#include "control/committer.h"
#include "control/json_fields.h"
#include "control/keys.h"
#include "control/pagination.h"
#include "control/tags.h"

namespace berth::control {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxDescribeClusters = 100;

Error invalid(std::string message) { return Error::make(ErrorCode::kInvalidParameter, std::move(message)); }

bool validClusterName(const std::string& n) {
  if (n.empty() || n.size() > 255) return false;
  for (unsigned char c : n)
    if (!std::isalnum(c) && c != '-' && c != '_') return false;
  return true;
}

Result<json> validateSettings(const json& settings) {
  json out = json::array();
  for (const auto& s : settings) {
    std::string name = stringOr(s, "name", "");
    std::string value = stringOr(s, "value", "");
    if (name != "containerInsights")
      return invalid("Invalid cluster setting name '" + name + "'. Valid names: containerInsights.");
    if (value != "enabled" && value != "disabled" && value != "enhanced")
      return invalid("Invalid value '" + value + "' for cluster setting containerInsights. Valid values: enabled, disabled, enhanced.");
    bool replaced = false;
    for (auto& o : out)
      if (o["name"] == name) { o["value"] = value; replaced = true; }
    if (!replaced) out.push_back({{"name", name}, {"value", value}});
  }
  return out;
}

// Capacity providers a cluster may name. FARGATE and FARGATE_SPOT always exist.
Result<json> validateCapacityProviders(const json& providers) {
  json out = json::array();
  std::set<std::string> seen;
  for (const auto& p : providers) {
    std::string name = p.is_string() ? p.get<std::string>() : "";
    if (name != "FARGATE" && name != "FARGATE_SPOT")
      return invalid("The specified capacity provider '" + name + "' is not in an ACTIVE state. Specify a valid capacity provider and try again.");
    if (seen.insert(name).second) out.push_back(name);
  }
  return out;
}

Result<json> validateStrategy(const json& strategy, const json& providers) {
  json out = json::array();
  int withBase = 0;
  for (const auto& item : strategy) {
    std::string cp = stringOr(item, "capacityProvider", "");
    bool known = false;
    for (const auto& p : providers) known = known || p == cp;
    if (!known)
      return invalid("The capacity provider '" + cp + "' is not associated with the cluster. Add it to the cluster's capacity providers first.");
    std::int64_t weight = item.value("weight", 0);
    std::int64_t base = item.value("base", 0);
    if (weight < 0 || weight > 1000) return invalid("The capacity provider strategy weight must be between 0 and 1000.");
    if (base < 0 || base > 100000) return invalid("The capacity provider strategy base must be between 0 and 100000.");
    if (base > 0) ++withBase;
    out.push_back({{"capacityProvider", cp}, {"weight", weight}, {"base", base}});
  }
  if (withBase > 1) return invalid("Only one capacity provider in a strategy can have a base defined.");
  return out;
}

// Keeps only the listed members of a request object, dropping nulls, so what
// is stored (and echoed by every later response) is exactly the model's shape.
json pickMembers(const json& src, std::initializer_list<const char*> members) {
  json out = json::object();
  if (!src.is_object()) return out;
  for (const char* m : members)
    if (auto it = src.find(m); it != src.end() && !it->is_null()) out[m] = *it;
  return out;
}

// ClusterConfiguration: executeCommandConfiguration is its only member.
Result<json> sanitizeConfiguration(const json& request) {
  json exec = pickMembers(request.value("executeCommandConfiguration", json::object()),
                          {"kmsKeyId", "logging", "logConfiguration"});
  if (exec.contains("logging")) {
    std::string logging = exec["logging"].is_string() ? exec["logging"].get<std::string>() : "";
    if (logging != "NONE" && logging != "DEFAULT" && logging != "OVERRIDE")
      return invalid("Invalid executeCommandConfiguration logging '" + logging + "'. Valid values: NONE, DEFAULT, OVERRIDE.");
  }
  if (exec.contains("logConfiguration"))
    exec["logConfiguration"] = pickMembers(exec["logConfiguration"], {"cloudWatchLogGroupName", "cloudWatchEncryptionEnabled",
                                                                      "s3BucketName", "s3EncryptionEnabled", "s3KeyPrefix"});
  json out = json::object();
  if (request.contains("executeCommandConfiguration") && !request["executeCommandConfiguration"].is_null())
    out["executeCommandConfiguration"] = exec;
  return out;
}

// Settings are a list keyed by name: later values replace earlier ones.
void mergeSettings(json& into, const json& settings) {
  if (!into.is_array()) into = json::array();
  for (const auto& item : settings) {
    bool replaced = false;
    for (auto& d : into)
      if (d["name"] == item["name"]) { d["value"] = item["value"]; replaced = true; }
    if (!replaced) into.push_back(item);
  }
}

struct ClusterCounts {
  std::int64_t instances = 0, runningTasks = 0, pendingTasks = 0, activeServices = 0;
  std::int64_t runningEc2 = 0, runningFargate = 0, pendingEc2 = 0, pendingFargate = 0;
  std::int64_t activeEc2Services = 0, activeFargateServices = 0, drainingEc2Services = 0, drainingFargateServices = 0;
};

ClusterCounts countClusterObjects(const StateCache& cache, const std::string& name) {
  ClusterCounts c;
  // Deregistered instances stay describable (status INACTIVE) for a while but no longer count.
  cache.scan(keys::clusterScoped(keys::kContainerInstances, name), "", [&](const std::string&, const CachedObject& o) {
    if (stringOr(o.doc, "status", "") != "INACTIVE") ++c.instances;
    return true;
  });
  cache.scan(keys::clusterScoped(keys::kTasks, name), "", [&](const std::string&, const CachedObject& o) {
    std::string status = stringOr(o.doc, "lastStatus", "");
    bool fargate = stringOr(o.doc, "launchType", "") == "FARGATE";
    if (status == "RUNNING") { ++c.runningTasks; ++(fargate ? c.runningFargate : c.runningEc2); }
    else if (status != "STOPPED" && status != "DELETED") { ++c.pendingTasks; ++(fargate ? c.pendingFargate : c.pendingEc2); }
    return true;
  });
  cache.scan(keys::clusterScoped(keys::kServices, name), "", [&](const std::string&, const CachedObject& o) {
    std::string status = stringOr(o.doc, "status", "");
    bool fargate = stringOr(o.doc, "launchType", "") == "FARGATE";
    if (status == "ACTIVE") { ++c.activeServices; ++(fargate ? c.activeFargateServices : c.activeEc2Services); }
    else if (status == "DRAINING") { ++(fargate ? c.drainingFargateServices : c.drainingEc2Services); }
    return true;
  });
  return c;
}

struct Includes {
  bool attachments = false, configurations = false, settings = false, statistics = false, tags = false;
  static Includes all() { return {true, true, true, true, true}; }
};

// The Cluster shape as AWS returns it. Mutations return every field;
// DescribeClusters adds optional parts only when `include` asks for them.
json renderCluster(const EcsContext& ctx, const json& stored, const Includes& inc) {
  const std::string name = stored.value("clusterName", "");
  auto counts = countClusterObjects(ctx.cache, name);
  json c = {
      {"clusterArn", stored.value("clusterArn", "")},
      {"clusterName", name},
      {"status", stored.value("status", "ACTIVE")},
      {"registeredContainerInstancesCount", counts.instances},
      {"runningTasksCount", counts.runningTasks},
      {"pendingTasksCount", counts.pendingTasks},
      {"activeServicesCount", counts.activeServices},
      {"capacityProviders", stored.value("capacityProviders", json::array())},
      {"defaultCapacityProviderStrategy", stored.value("defaultCapacityProviderStrategy", json::array())},
  };
  if (inc.statistics) {
    c["statistics"] = json::array({
        {{"name", "runningEC2TasksCount"}, {"value", std::to_string(counts.runningEc2)}},
        {{"name", "runningFargateTasksCount"}, {"value", std::to_string(counts.runningFargate)}},
        {{"name", "pendingEC2TasksCount"}, {"value", std::to_string(counts.pendingEc2)}},
        {{"name", "pendingFargateTasksCount"}, {"value", std::to_string(counts.pendingFargate)}},
        {{"name", "activeEC2ServiceCount"}, {"value", std::to_string(counts.activeEc2Services)}},
        {{"name", "activeFargateServiceCount"}, {"value", std::to_string(counts.activeFargateServices)}},
        {{"name", "drainingEC2ServiceCount"}, {"value", std::to_string(counts.drainingEc2Services)}},
        {{"name", "drainingFargateServiceCount"}, {"value", std::to_string(counts.drainingFargateServices)}},
    });
  }
  if (inc.tags) c["tags"] = stored.value("tags", json::array());
  if (inc.settings) c["settings"] = stored.value("settings", json::array());
  if (inc.configurations && stored.contains("configuration")) c["configuration"] = stored["configuration"];
  if (inc.attachments) {
    c["attachments"] = json::array();
    if (!stored.value("capacityProviders", json::array()).empty()) c["attachmentsStatus"] = "UPDATE_COMPLETE";
  }
  if (stored.contains("serviceConnectDefaults")) c["serviceConnectDefaults"] = stored["serviceConnectDefaults"];
  return c;
}

Result<json> parseIncludes(const json& request, Includes& inc) {
  for (const auto& v : arrayOrEmpty(request, "include")) {
    std::string s = v.is_string() ? v.get<std::string>() : "";
    if (s == "ATTACHMENTS") inc.attachments = true;
    else if (s == "CONFIGURATIONS") inc.configurations = true;
    else if (s == "SETTINGS") inc.settings = true;
    else if (s == "STATISTICS") inc.statistics = true;
    else if (s == "TAGS") inc.tags = true;
    else return invalid("Invalid include value '" + s + "'. Valid values: ATTACHMENTS, CONFIGURATIONS, SETTINGS, STATISTICS, TAGS.");
  }
  return json();
}

// The stored document of an ACTIVE cluster named by request[field].
Result<std::pair<std::string, CachedObject>> activeCluster(const EcsContext& ctx, const json& request,
                                                           const char* field) {
  auto name = clusterNameFromRef(stringOr(request, field, ""), ctx.account);
  if (!name) return clusterNotFound();
  auto obj = ctx.cache.get(keys::cluster(*name));
  if (!obj || obj->doc.value("status", "") != "ACTIVE") return clusterNotFound();
  return std::make_pair(*name, *obj);
}

// Applies `mutate` to an ACTIVE cluster's stored document and commits it.
Result<json> mutateCluster(EcsContext& ctx, const json& request, const char* field,
                           const std::function<Status(json&)>& mutate) {
  json updated;
  auto txn = commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    auto found = activeCluster(ctx, request, field);
    if (!found.ok()) return found.takeError();
    auto& [name, obj] = *found;
    updated = obj.doc;
    auto st = mutate(updated);
    if (!st.ok()) return st.takeError();
    return store::TxnRequest{{{keys::cluster(name), obj.modRevision}}, {store::Op::put(keys::cluster(name), updated.dump())}};
  });
  if (!txn.ok()) return txn.takeError();
  return json{{"cluster", renderCluster(ctx, updated, Includes::all())}};
}

}  // namespace

Error clusterNotFound() { return Error::make(ErrorCode::kClusterNotFound, "Cluster not found."); }

Result<std::string> resolveActiveCluster(const EcsContext& ctx, const json& request, const char* field) {
  auto found = activeCluster(ctx, request, field);
  if (!found.ok()) return found.takeError();
  return found->first;
}

Result<json> createCluster(EcsContext& ctx, const json& request) {
  std::string name = stringOr(request, "clusterName", "default");
  if (!validClusterName(name))
    return invalid("Cluster name is invalid. Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.");
  auto tags = validateTags(request.value("tags", json()));
  if (!tags.ok()) return tags.takeError();
  json settings = json::array({{{"name", "containerInsights"}, {"value", "disabled"}}});
  if (auto* s = optField(request, "settings")) {
    auto v = validateSettings(*s);
    if (!v.ok()) return v.takeError();
    mergeSettings(settings, *v);
  }
  auto providers = validateCapacityProviders(arrayOrEmpty(request, "capacityProviders"));
  if (!providers.ok()) return providers.takeError();
  auto strategy = validateStrategy(arrayOrEmpty(request, "defaultCapacityProviderStrategy"), *providers);
  if (!strategy.ok()) return strategy.takeError();

  json stored = {
      {"clusterArn", clusterArn(ctx.account, name)},
      {"clusterName", name},
      {"status", "ACTIVE"},
      {"settings", settings},
      {"tags", *tags},
      {"capacityProviders", *providers},
      {"defaultCapacityProviderStrategy", *strategy},
  };
  if (auto* c = optField(request, "configuration")) {
    auto configuration = sanitizeConfiguration(*c);
    if (!configuration.ok()) return configuration.takeError();
    stored["configuration"] = *configuration;
  }
  if (auto* s = optField(request, "serviceConnectDefaults")) stored["serviceConnectDefaults"] = pickMembers(*s, {"namespace"});

  json result;
  auto txn = commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    const auto key = keys::cluster(name);
    auto existing = ctx.cache.get(key);
    // CreateCluster is idempotent: an ACTIVE cluster of that name is returned as it is.
    if (existing && existing->doc.value("status", "") == "ACTIVE") {
      result = existing->doc;
      return store::TxnRequest{{{key, existing->modRevision}}, {}};
    }
    result = stored;
    return store::TxnRequest{{pinned(ctx.cache, key)}, {store::Op::put(key, stored.dump())}};
  });
  if (!txn.ok()) return txn.takeError();
  return json{{"cluster", renderCluster(ctx, result, Includes::all())}};
}

Result<json> describeClusters(EcsContext& ctx, const json& request) {
  Includes inc;
  auto incOk = parseIncludes(request, inc);
  if (!incOk.ok()) return incOk.takeError();
  json refs = arrayOrEmpty(request, "clusters");
  if (refs.empty()) refs.push_back("default");
  if (refs.size() > kMaxDescribeClusters)
    return invalid("Too many clusters specified. You can describe up to 100 clusters in a single call.");
  json clusters = json::array(), failures = json::array();
  for (const auto& r : refs) {
    std::string ref = r.is_string() ? r.get<std::string>() : "";
    auto name = clusterNameFromRef(ref, ctx.account);
    std::optional<CachedObject> obj;
    if (name) obj = ctx.cache.get(keys::cluster(*name));
    if (!obj) {
      failures.push_back({{"arn", name ? clusterArn(ctx.account, *name) : ref}, {"reason", "MISSING"}});
      continue;
    }
    clusters.push_back(renderCluster(ctx, obj->doc, inc));
  }
  return json{{"clusters", clusters}, {"failures", failures}};
}

Result<json> listClusters(EcsContext& ctx, const json& request) {
  auto page = pageRequestFrom(request);
  if (!page.ok()) return page.takeError();
  auto result = paginate(ctx.cache, std::string(keys::kClusters), "ListClusters", *page,
                         [](const std::string&, const CachedObject& o) -> std::optional<json> {
                           if (o.doc.value("status", "") != "ACTIVE") return std::nullopt;
                           return o.doc.value("clusterArn", "");
                         });
  if (!result.ok()) return result.takeError();
  json out = {{"clusterArns", result->items}};
  if (result->nextToken) out["nextToken"] = *result->nextToken;
  return out;
}

Result<json> updateCluster(EcsContext& ctx, const json& request) {
  json settings;
  if (auto* s = optField(request, "settings")) {
    auto v = validateSettings(*s);
    if (!v.ok()) return v.takeError();
    settings = *v;
  }
  return mutateCluster(ctx, request, "cluster", [&](json& doc) -> Status {
    mergeSettings(doc["settings"], settings);
    if (auto* c = optField(request, "configuration")) {
      auto configuration = sanitizeConfiguration(*c);
      if (!configuration.ok()) return configuration.takeError();
      doc["configuration"] = *configuration;
    }
    if (auto* s = optField(request, "serviceConnectDefaults")) doc["serviceConnectDefaults"] = pickMembers(*s, {"namespace"});
    return okStatus();
  });
}

Result<json> updateClusterSettings(EcsContext& ctx, const json& request) {
  auto* s = optField(request, "settings");
  if (!s) return invalid("settings must be specified.");
  auto v = validateSettings(*s);
  if (!v.ok()) return v.takeError();
  json settings = *v;
  return mutateCluster(ctx, request, "cluster", [&](json& doc) -> Status {
    mergeSettings(doc["settings"], settings);
    return okStatus();
  });
}

Result<json> deleteCluster(EcsContext& ctx, const json& request) {
  if (!optString(request, "cluster")) return invalid("cluster must be specified.");
  return mutateCluster(ctx, request, "cluster", [&](json& doc) -> Status {
    auto counts = countClusterObjects(ctx.cache, doc.value("clusterName", ""));
    std::int64_t draining = counts.drainingEc2Services + counts.drainingFargateServices;
    if (counts.activeServices + draining > 0)
      return Error::make(ErrorCode::kClusterContainsServices, "The Cluster cannot be deleted while Services are active.");
    if (counts.runningTasks + counts.pendingTasks > 0)
      return Error::make(ErrorCode::kClusterContainsTasks, "The Cluster cannot be deleted while Tasks are active.");
    if (counts.instances > 0)
      return Error::make(ErrorCode::kClusterContainsContainerInstances,
                         "The Cluster cannot be deleted while Container Instances are active or draining.");
    doc["status"] = "INACTIVE";
    return okStatus();
  });
}

}  // namespace berth::control
