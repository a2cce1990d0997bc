#include "control/container_instance_ops.h"

#include <cctype>

#include "control/arn.h"
#include "control/cluster_ops.h"
#include "control/committer.h"
#include "control/instance_facts.h"
#include "control/json_fields.h"
#include "control/keys.h"
#include "control/placement_index.h"
#include "control/pagination.h"
#include "control/tags.h"
#include "control/task_ops.h"
#include "control/task_state.h"

namespace berth::control {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxDescribeInstances = 100;
constexpr std::size_t kMaxUpdateStateInstances = 10;
constexpr std::size_t kMaxAttributeLength = 128;

Error invalid(std::string message) { return Error::make(ErrorCode::kInvalidParameter, std::move(message)); }
Error client(std::string message) { return Error::make(ErrorCode::kClient, std::move(message)); }


// Attribute names: 1-128 of [A-Za-z0-9-_/.]; values 1-128 chars, no leading or
// trailing whitespace (reference/ecs-scheduling.md §2).
Result<json> validateAttributes(const json& attributes) {
  json out = json::array();
  for (const auto& a : attributes) {
    std::string name = stringOr(a, "name", "");
    if (name.empty() || name.size() > kMaxAttributeLength)
      return invalid("Attribute names must be 1-128 characters long.");
    for (unsigned char c : name)
      if (!std::isalnum(c) && c != '-' && c != '_' && c != '/' && c != '.' && c != '@')
        return invalid("Attribute name '" + name + "' contains an invalid character.");
    json item = {{"name", name}};
    if (auto v = optString(a, "value")) {
      if (v->empty() || v->size() > kMaxAttributeLength)
        return invalid("Attribute values must be 1-128 characters long (attribute '" + name + "').");
      if (std::isspace(static_cast<unsigned char>(v->front())) || std::isspace(static_cast<unsigned char>(v->back())))
        return invalid("Attribute value for '" + name + "' must not start or end with whitespace.");
      item["value"] = *v;
    }
    bool replaced = false;
    for (auto& o : out)
      if (o["name"] == name) { o = item; replaced = true; }
    if (!replaced) out.push_back(item);
  }
  return out;
}

// `base` with every attribute of `updates` set (same name → new value).
json mergeAttributes(json base, const json& updates) {
  if (!base.is_array()) base = json::array();
  for (const auto& u : updates) {
    bool replaced = false;
    for (auto& b : base)
      if (b["name"] == u["name"]) { b = u; replaced = true; }
    if (!replaced) base.push_back(u);
  }
  return base;
}

// instanceIdentityDocument: the JSON string EC2 would sign; the agent sends
// instanceId, availabilityZone and instanceType (agent-protocol.md). It names
// the ec2InstanceId and fills ecs.availability-zone / ecs.instance-type when the
// attributes do not already say.
struct IdentityDocument {
  std::optional<std::string> instanceId, availabilityZone, instanceType;
};

Result<IdentityDocument> parseIdentityDocument(const json& request) {
  IdentityDocument out;
  auto text = optString(request, "instanceIdentityDocument");
  if (!text || text->empty()) return out;
  auto doc = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return invalid("instanceIdentityDocument must be a JSON object.");
  auto field = [&](const char* name) -> Result<std::optional<std::string>> {
    auto* v = optField(doc, name);
    if (!v) return std::optional<std::string>();
    if (!v->is_string() || v->get<std::string>().empty() || v->get<std::string>().size() > kMaxAttributeLength)
      return invalid(std::string("instanceIdentityDocument.") + name + " must be a non-empty string of up to 128 characters.");
    return std::optional<std::string>(v->get<std::string>());
  };
  auto id = field("instanceId");
  if (!id.ok()) return id.takeError();
  auto az = field("availabilityZone");
  if (!az.ok()) return az.takeError();
  auto type = field("instanceType");
  if (!type.ok()) return type.takeError();
  out.instanceId = *id;
  out.availabilityZone = *az;
  out.instanceType = *type;
  return out;
}

void addAttributeIfAbsent(json& attributes, const std::string& name, const std::optional<std::string>& value) {
  if (!value) return;
  for (const auto& a : attributes)
    if (a.value("name", "") == name) return;
  attributes.push_back({{"name", name}, {"value", *value}});
}

json renderInstance(const json& stored, const PlacementIndex::TaskCounts& counts, bool includeTags) {
  json out = stored;
  out.erase("berth");
  if (!includeTags) out.erase("tags");
  out["runningTasksCount"] = counts.running;
  out["pendingTasksCount"] = counts.pending;
  return out;
}

// The instance's RUNNING and other not-STOPPED task counts, from the
// placement index (kept from the task documents; no task scan).
PlacementIndex::TaskCounts countsOf(const EcsContext& ctx, const std::string& cluster, const json& stored) {
  return ctx.placement->taskCounts(cluster, stored.value("berth", json::object()).value("id", ""));
}

json renderOne(const EcsContext& ctx, const std::string& cluster, const json& stored, bool includeTags) {
  return renderInstance(stored, countsOf(ctx, cluster, stored), includeTags);
}

// The demands of a cluster's tasks on one instance that still hold resources.
TaskDemand liveDemandOn(const StateCache& cache, const std::string& cluster, const std::string& instanceId,
                        std::vector<std::pair<std::string, CachedObject>>* liveTasks = nullptr) {
  TaskDemand total;
  cache.scan(keys::clusterScoped(keys::kTasks, cluster), "", [&](const std::string& key, const CachedObject& o) {
    const json& b = o.doc.value("berth", json::object());
    if (b.value("instanceId", "") != instanceId || o.doc.value("lastStatus", "") == "STOPPED") return true;
    auto d = TaskDemand::fromJson(b.value("reserved", json::object()));
    total.cpu += d.cpu;
    total.memory += d.memory;
    total.ports.insert(d.ports.begin(), d.ports.end());
    total.portsUdp.insert(d.portsUdp.begin(), d.portsUdp.end());
    if (liveTasks) liveTasks->emplace_back(key, o);
    return true;
  });
  return total;
}

struct FoundInstance {
  std::string cluster, id, key;
  CachedObject object;
};

// A registered-or-INACTIVE instance named by `ref` in `cluster`.
std::optional<FoundInstance> findInstance(const EcsContext& ctx, const std::string& cluster, const std::string& ref) {
  auto id = containerInstanceIdFromRef(ref, cluster);
  if (!id) return std::nullopt;
  auto key = keys::containerInstance(cluster, *id);
  auto obj = ctx.cache.get(key);
  if (!obj) return std::nullopt;
  return FoundInstance{cluster, *id, key, *obj};
}

bool wantsTags(const json& request, Status& st) {
  bool tags = false;
  for (const auto& v : arrayOrEmpty(request, "include")) {
    std::string s = v.is_string() ? v.get<std::string>() : "";
    if (s == "TAGS") tags = true;
    else if (s != "CONTAINER_INSTANCE_HEALTH") {
      st = invalid("Invalid include value '" + s + "'. Valid values: TAGS, CONTAINER_INSTANCE_HEALTH.");
      return false;
    }
  }
  return tags;
}

// --- ListContainerInstances filter -------------------------------------
// `filter` is a cluster query language expression (reference/ecs-scheduling.md
// §5), evaluated against each stored instance document. Task facts
// (runningTasksCount, task:group) are read from the placement index, and only
// when the expression asks for them.
struct InstanceFilter {
  scheduler::Expression expression;
};

Result<std::optional<InstanceFilter>> parseFilter(const std::string& expression) {
  if (expression.find_first_not_of(" \t\r\n") == std::string::npos) return std::optional<InstanceFilter>();
  auto parsed = scheduler::Expression::parse(expression);
  if (!parsed.ok()) return parsed.takeError();
  return std::optional<InstanceFilter>(InstanceFilter{std::move(*parsed)});
}

bool matches(const EcsContext& ctx, const std::string& cluster, const InstanceFilter& f, const json& doc) {
  if (!f.expression.readsTasks()) return f.expression.matches(InstanceDocFacts(doc, nullptr));
  const InstanceTaskFacts tasks = taskFactsOf(*ctx.placement, cluster, doc);
  return f.expression.matches(InstanceDocFacts(doc, &tasks));
}

}  // namespace

std::string containerInstanceArn(const AccountInfo& a, std::string_view cluster, std::string_view id) {
  return ecsArn(a, "container-instance", std::string(cluster) + "/" + std::string(id));
}

std::optional<std::string> containerInstanceIdFromRef(std::string_view ref, std::string_view cluster) {
  return clusterScopedIdFromRef(ref, cluster, "container-instance");
}

std::string ec2InstanceIdFor(std::string_view id) { return "i-" + std::string(id.substr(0, 17)); }

InstanceResources registeredResourcesOf(const json& doc) {
  auto r = parseResources(doc.value("registeredResources", json::array()));
  return r.ok() ? *r : InstanceResources{};
}

InstanceResources remainingResourcesOf(const json& doc) {
  auto r = parseResources(doc.value("remainingResources", json::array()));
  return r.ok() ? *r : InstanceResources{};
}

void setRemainingResources(json& doc, const InstanceResources& remaining) {
  doc["remainingResources"] = renderResources(remaining);
}

std::optional<std::string> instanceAttribute(const json& doc, std::string_view name) {
  for (const auto& a : doc.value("attributes", json::array()))
    if (a.value("name", "") == name) return a.value("value", "");
  return std::nullopt;
}

Status setAgentConnected(EcsContext& ctx, const std::string& cluster, const std::string& id, bool connected) {
  const auto key = keys::containerInstance(cluster, id);
  auto txn = commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    auto obj = ctx.cache.get(key);
    if (!obj || obj->doc.value("status", "") == "INACTIVE")
      return Error::make(ErrorCode::kNotFound, "The container instance is not registered.", key);
    if (obj->doc.value("agentConnected", false) == connected) return store::TxnRequest{};
    json doc = obj->doc;
    doc["agentConnected"] = connected;
    doc["version"] = doc.value("version", std::int64_t{0}) + 1;
    return store::TxnRequest{{{key, obj->modRevision}}, {store::Op::put(key, doc.dump())}};
  });
  if (!txn.ok()) return txn.takeError();
  return okStatus();
}

Result<json> registerContainerInstance(EcsContext& ctx, const json& request) {
  auto cluster = resolveActiveCluster(ctx, request);
  if (!cluster.ok()) return cluster.takeError();
  auto* total = optField(request, "totalResources");
  if (!total) return invalid("totalResources must be specified: CPU and MEMORY at least.");
  auto registered = parseResources(*total);
  if (!registered.ok()) return registered.takeError();
  auto attributes = validateAttributes(arrayOrEmpty(request, "attributes"));
  if (!attributes.ok()) return attributes.takeError();
  auto tags = validateTags(request.value("tags", json()));
  if (!tags.ok()) return tags.takeError();
  auto identity = parseIdentityDocument(request);
  if (!identity.ok()) return identity.takeError();
  addAttributeIfAbsent(*attributes, "ecs.availability-zone", identity->availabilityZone);
  addAttributeIfAbsent(*attributes, "ecs.instance-type", identity->instanceType);
  json versionInfo = json::object();
  if (auto* v = optField(request, "versionInfo"); v && v->is_object()) versionInfo = *v;

  std::optional<std::string> reuseId;
  if (auto ref = optString(request, "containerInstanceArn"); ref && !ref->empty()) {
    reuseId = containerInstanceIdFromRef(*ref, *cluster);
    if (!reuseId) return invalid("containerInstanceArn '" + *ref + "' is not a container instance of cluster " + *cluster + ".");
  }
  const std::string id = reuseId ? *reuseId : ctx.random.ecsId();
  const std::string key = keys::containerInstance(*cluster, id);
  const double now = ctx.clock.epochSeconds();

  json stored;
  auto txn = commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    auto existing = ctx.cache.get(key);
    if (reuseId) {
      // Re-registration keeps identity (the agent restarted). A deregistered
      // instance cannot come back: deregistration is final, as in ECS.
      if (!existing || existing->doc.value("status", "") == "INACTIVE")
        return client("The container instance " + containerInstanceArn(ctx.account, *cluster, id) +
                      " is not registered with cluster " + *cluster +
                      " (it was deregistered or never existed). Register without containerInstanceArn to join as a new instance.");
      stored = existing->doc;
      // Remaining = new totals less what live tasks hold, so accounting stays exact.
      auto held = liveDemandOn(ctx.cache, *cluster, id);
      InstanceResources remaining = *registered;
      remaining.cpu -= held.cpu;
      remaining.memory -= held.memory;
      remaining.ports.insert(held.ports.begin(), held.ports.end());
      remaining.portsUdp.insert(held.portsUdp.begin(), held.portsUdp.end());
      stored["registeredResources"] = renderResources(*registered);
      setRemainingResources(stored, remaining);
      stored["versionInfo"] = versionInfo;
      stored["attributes"] = mergeAttributes(stored.value("attributes", json::array()), *attributes);
      auto merged = mergeTags(stored.value("tags", json::array()), *tags);
      if (!merged.ok()) return merged.takeError();
      stored["tags"] = *merged;
      if (identity->instanceId) stored["ec2InstanceId"] = *identity->instanceId;
      stored["agentConnected"] = true;
      stored["version"] = stored.value("version", std::int64_t{0}) + 1;
      return store::TxnRequest{{{key, existing->modRevision}}, {store::Op::put(key, stored.dump())}};
    }
    stored = {
        {"containerInstanceArn", containerInstanceArn(ctx.account, *cluster, id)},
        {"ec2InstanceId", identity->instanceId ? *identity->instanceId : ec2InstanceIdFor(id)},
        {"version", 1},
        {"versionInfo", versionInfo},
        {"registeredResources", renderResources(*registered)},
        {"remainingResources", renderResources(*registered)},
        {"status", "ACTIVE"},
        {"agentConnected", true},
        {"attributes", *attributes},
        {"registeredAt", now},
        {"attachments", json::array()},
        {"tags", *tags},
        {"berth", {{"cluster", *cluster}, {"id", id}}},
    };
    return store::TxnRequest{{{key, 0}}, {store::Op::put(key, stored.dump())}};
  });
  if (!txn.ok()) return txn.takeError();
  return json{{"containerInstance", renderOne(ctx, *cluster, stored, true)}};
}

Result<json> deregisterContainerInstance(EcsContext& ctx, const json& request) {
  auto cluster = resolveActiveCluster(ctx, request);
  if (!cluster.ok()) return cluster.takeError();
  auto ref = optString(request, "containerInstance");
  if (!ref || ref->empty()) return invalid("containerInstance must be specified.");
  const bool force = request.value("force", false);
  const double now = ctx.clock.epochSeconds();
  json stored;
  auto txn = commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    auto found = findInstance(ctx, *cluster, *ref);
    if (!found || found->object.doc.value("status", "") == "INACTIVE")
      return invalid("The referenced container instance " + *ref + " was not found in cluster " + *cluster + ".");
    std::vector<std::pair<std::string, CachedObject>> live;
    liveDemandOn(ctx.cache, *cluster, found->id, &live);
    if (!live.empty() && !force) return invalid("Found running tasks on the instance.");
    store::TxnRequest txn;
    stored = found->object.doc;
    txn.compares.push_back({found->key, found->object.modRevision});
    // Forced: the instance is gone from the cluster, so its tasks are lost;
    // the server marks them STOPPED (agent-protocol.md, Ownership).
    for (auto& [taskKey, task] : live) {
      json doc = task.doc;
      if (!forceStopTaskDoc(doc, now, "Container instance deregistered with force.")) continue;
      txn.compares.push_back({taskKey, task.modRevision});
      txn.ops.push_back(store::Op::put(taskKey, doc.dump()));
    }
    setRemainingResources(stored, registeredResourcesOf(stored));
    stored["status"] = "INACTIVE";
    stored["agentConnected"] = false;
    stored["version"] = stored.value("version", std::int64_t{0}) + 1;
    stored["berth"]["deregisteredAt"] = now;
    txn.ops.push_back(store::Op::put(found->key, stored.dump()));
    return txn;
  });
  if (!txn.ok()) return txn.takeError();
  return json{{"containerInstance", renderOne(ctx, *cluster, stored, true)}};
}

Result<json> describeContainerInstances(EcsContext& ctx, const json& request) {
  auto cluster = resolveActiveCluster(ctx, request);
  if (!cluster.ok()) return cluster.takeError();
  Status st = okStatus();
  bool includeTags = wantsTags(request, st);
  if (!st.ok()) return st.takeError();
  json refs = arrayOrEmpty(request, "containerInstances");
  if (refs.empty()) return invalid("containerInstances must contain at least one container instance.");
  if (refs.size() > kMaxDescribeInstances)
    return invalid("Too many container instances specified. You can describe up to 100 container instances in a single call.");
  json instances = json::array(), failures = json::array();
  for (const auto& r : refs) {
    std::string ref = r.is_string() ? r.get<std::string>() : "";
    auto found = findInstance(ctx, *cluster, ref);
    if (!found) {
      auto id = containerInstanceIdFromRef(ref, *cluster);
      failures.push_back({{"arn", id ? containerInstanceArn(ctx.account, *cluster, *id) : ref}, {"reason", "MISSING"}});
      continue;
    }
    const json& doc = found->object.doc;
    instances.push_back(renderInstance(doc, countsOf(ctx, *cluster, doc), includeTags));
  }
  return json{{"containerInstances", instances}, {"failures", failures}};
}

Result<json> listContainerInstances(EcsContext& ctx, const json& request) {
  auto cluster = resolveActiveCluster(ctx, request);
  if (!cluster.ok()) return cluster.takeError();
  auto page = pageRequestFrom(request);
  if (!page.ok()) return page.takeError();
  auto status = optString(request, "status");
  if (status && *status != "ACTIVE" && *status != "DRAINING" && *status != "REGISTERING" &&
      *status != "DEREGISTERING" && *status != "REGISTRATION_FAILED")
    return invalid("Invalid status '" + *status + "'. Valid values: ACTIVE, DRAINING, REGISTERING, DEREGISTERING, REGISTRATION_FAILED.");
  const std::string expression = stringOr(request, "filter", "");
  auto filter = parseFilter(expression);
  if (!filter.ok()) return filter.takeError();
  const std::string prefix = keys::clusterScoped(keys::kContainerInstances, *cluster);
  auto result = paginate(ctx.cache, prefix,
                         "ListContainerInstances/" + status.value_or("*") + "/" + expression + "/" + prefix, *page,
                         [&](const std::string&, const CachedObject& o) -> std::optional<json> {
                           std::string s = o.doc.value("status", "");
                           // Without a status filter every status but INACTIVE is listed (ECS API docs).
                           if (status ? s != *status : s == "INACTIVE") return std::nullopt;
                           if (*filter && !matches(ctx, *cluster, **filter, o.doc)) return std::nullopt;
                           return o.doc.value("containerInstanceArn", "");
                         });
  if (!result.ok()) return result.takeError();
  json out = {{"containerInstanceArns", result->items}};
  if (result->nextToken) out["nextToken"] = *result->nextToken;
  return out;
}

Result<json> updateContainerInstancesState(EcsContext& ctx, const json& request) {
  auto cluster = resolveActiveCluster(ctx, request);
  if (!cluster.ok()) return cluster.takeError();
  std::string status = stringOr(request, "status", "");
  if (status != "ACTIVE" && status != "DRAINING")
    return invalid("Container instances can only be set to ACTIVE or DRAINING, not '" + status + "'.");
  json refs = arrayOrEmpty(request, "containerInstances");
  if (refs.empty()) return invalid("containerInstances must contain at least one container instance.");
  if (refs.size() > kMaxUpdateStateInstances)
    return invalid("You can update up to 10 container instances in a single call.");
  json updated = json::array(), failures = json::array();
  std::vector<json> docs;
  for (const auto& r : refs) {
    std::string ref = r.is_string() ? r.get<std::string>() : "";
    std::optional<std::string> failure;
    json doc;
    auto txn = commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
      failure.reset();
      auto found = findInstance(ctx, *cluster, ref);
      if (!found || found->object.doc.value("status", "") == "INACTIVE") {
        failure = "MISSING";
        return store::TxnRequest{};
      }
      doc = found->object.doc;
      if (doc.value("status", "") == status) return store::TxnRequest{};
      doc["status"] = status;
      doc["version"] = doc.value("version", std::int64_t{0}) + 1;
      return store::TxnRequest{{{found->key, found->object.modRevision}}, {store::Op::put(found->key, doc.dump())}};
    });
    if (!txn.ok()) return txn.takeError();
    if (failure) {
      auto id = containerInstanceIdFromRef(ref, *cluster);
      failures.push_back({{"arn", id ? containerInstanceArn(ctx.account, *cluster, *id) : ref}, {"reason", *failure}});
      continue;
    }
    docs.push_back(doc);
  }
  for (const auto& d : docs) updated.push_back(renderInstance(d, countsOf(ctx, *cluster, d), false));
  return json{{"containerInstances", updated}, {"failures", failures}};
}

}  // namespace berth::control
