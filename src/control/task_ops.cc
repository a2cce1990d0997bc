#include "control/task_ops.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "common/log.h"
#include "control/arn.h"
#include "control/cluster_ops.h"
#include "control/committer.h"
#include "control/container_instance_ops.h"
#include "control/json_fields.h"
#include "control/launch_checks.h"
#include "control/keys.h"
#include "control/pagination.h"
#include "control/placement_index.h"
#include "control/resources.h"
#include "control/tags.h"
#include "control/task_definition_ops.h"
#include "control/task_reports.h"
#include "control/task_state.h"

namespace berth::control {
namespace {

using nlohmann::json;

constexpr int kMaxRunTaskCount = 10;
constexpr std::size_t kMaxStartTaskInstances = 10;
constexpr std::size_t kMaxDescribeTasks = 100;
constexpr std::size_t kMaxGroupLength = 255;
constexpr std::size_t kMaxStartedByLength = 128;
constexpr std::size_t kMaxReasonLength = 255;
constexpr std::size_t kReapBatch = 100;
constexpr const char* kUserStopReason = "Task stopped by user";
constexpr const char* kEssentialExitReason = "Essential container in task exited";

Error invalid(std::string message) { return Error::make(ErrorCode::kInvalidParameter, std::move(message)); }
Error client(std::string message) { return Error::make(ErrorCode::kClient, std::move(message)); }
Error taskNotFound() { return invalid("The referenced task was not found."); }


std::optional<std::int64_t> intField(const json& j, const char* f) {
  auto* v = optField(j, f);
  if (!v || !v->is_number_integer()) return std::nullopt;
  return v->get<std::int64_t>();
}

std::optional<double> timeField(const json& j, const char* f) {
  auto* v = optField(j, f);
  if (!v || !v->is_number()) return std::nullopt;
  return v->get<double>();
}

bool setIfAbsent(json& doc, const char* field, const json& value) {
  if (doc.contains(field) && !doc[field].is_null()) return false;
  doc[field] = value;
  return true;
}

bool setIfDifferent(json& doc, const char* field, const json& value) {
  auto it = doc.find(field);
  if (it != doc.end() && *it == value) return false;
  doc[field] = value;
  return true;
}

std::string truncated(std::string s) {
  if (s.size() > kMaxReasonLength) s.resize(kMaxReasonLength);
  return s;
}

// Whether an essential container of the task has a health check (then the
// task counts as healthy only once its healthStatus is HEALTHY).
bool essentialHealthChecked(const json& task) {
  const json& b = task.value("berth", json::object());
  const json essential = b.value("essential", json::array());
  for (const auto& name : b.value("healthChecked", json::array()))
    if (std::find(essential.begin(), essential.end(), name) != essential.end()) return true;
  return false;
}

// berth.healthyAt (task_ops.h): set once, the first time the task counts as
// healthy for the service scheduler. Returns whether it was set now.
bool markHealthyIfFirst(json& task, double now) {
  json& b = task["berth"];
  if (b.contains("healthyAt") || task.value("desiredStatus", "") == "STOPPED") return false;
  const bool healthy = essentialHealthChecked(task) ? task.value("healthStatus", "") == "HEALTHY"
                                                    : task.value("lastStatus", "") == "RUNNING";
  if (!healthy) return false;
  b["healthyAt"] = now;
  return true;
}

// --- launching (RunTask / StartTask) -------------------------------------

struct LaunchPlan {
  std::string cluster;
  std::string taskDefinitionKey;
  json taskDefinition;
  std::string family;
  std::string launchType = "EC2";
  std::optional<std::string> capacityProviderName;
  std::string group;
  std::optional<std::string> startedBy;
  json tags = json::array();
  json overrides;  // Task.overrides as DescribeTasks shows it
  TaskDemand demand;
  scheduler::PlacementRequest placement;  // constraints, strategies, group, demand (count set per launch)
  bool awsvpc = false;
  std::string subnetId;  // awsvpc: the subnet the task's ENI attachment names
  bool enableExecuteCommand = false;
};

const json* findContainerOverride(const json& overrides, const std::string& name) {
  // Iterate the request's own array: a pointer into a copy would dangle.
  const json* list = optField(overrides, "containerOverrides");
  if (!list || !list->is_array()) return nullptr;
  for (const auto& o : *list)
    if (stringOr(o, "name", "") == name) return &o;
  return nullptr;
}

Result<json> normalizeOverrides(const json& td, const json& requested) {
  json out = json::object();
  std::set<std::string> names;
  for (const auto& c : arrayOrEmpty(td, "containerDefinitions")) names.insert(stringOr(c, "name", ""));
  for (const auto& o : arrayOrEmpty(requested, "containerOverrides")) {
    std::string name = stringOr(o, "name", "");
    if (!names.count(name))
      return invalid("Override for container named " + name + " is not a container in the TaskDefinition.");
    for (const char* f : {"cpu", "memory", "memoryReservation"}) {
      auto v = intField(o, f);
      if (v && *v < 0) return invalid(std::string("Container override ") + f + " for " + name + " must not be negative.");
    }
  }
  // ECS lists an override entry for every container, empty when none was given.
  json containerOverrides = json::array();
  for (const auto& c : arrayOrEmpty(td, "containerDefinitions")) {
    std::string name = stringOr(c, "name", "");
    const json* given = findContainerOverride(requested, name);
    json entry = given ? *given : json::object();
    entry["name"] = name;
    containerOverrides.push_back(entry);
  }
  out["containerOverrides"] = containerOverrides;
  out["inferenceAcceleratorOverrides"] = arrayOrEmpty(requested, "inferenceAcceleratorOverrides");
  for (const char* f : {"cpu", "memory", "taskRoleArn", "executionRoleArn"})
    if (auto v = optString(requested, f)) out[f] = *v;
  if (auto* e = optField(requested, "ephemeralStorage")) out["ephemeralStorage"] = *e;
  return out;
}

// Placement constraints (task definition + request, ≤ 10 combined; the task
// definition may only carry memberOf) and strategies (≤ 5), as the scheduler
// takes them, validated with ECS's messages.
Status parsePlacement(const json& request, const json& td, scheduler::PlacementRequest& out) {
  json requested = arrayOrEmpty(request, "placementConstraints");
  json fromDefinition = arrayOrEmpty(td, "placementConstraints");
  if (requested.size() + fromDefinition.size() > scheduler::kMaxConstraints)
    return invalid("You can specify up to 10 placement constraints per task (task definition and request combined).");
  auto addConstraints = [&](const json& list, bool fromTaskDefinition) -> Status {
    for (const auto& c : list) {
      auto expression = optString(c, "expression");
      auto parsed = scheduler::parseConstraint(stringOr(c, "type", ""),
                                               expression ? std::optional<std::string_view>(*expression) : std::nullopt,
                                               fromTaskDefinition);
      if (!parsed.ok()) return parsed.takeError();
      out.constraints.push_back(std::move(*parsed));
    }
    return okStatus();
  };
  if (auto st = addConstraints(fromDefinition, true); !st.ok()) return st;
  if (auto st = addConstraints(requested, false); !st.ok()) return st;
  json strategies = arrayOrEmpty(request, "placementStrategy");
  if (strategies.size() > scheduler::kMaxStrategies) return invalid("You can specify up to 5 placement strategies.");
  for (const auto& s : strategies) {
    auto field = optString(s, "field");
    auto parsed = scheduler::parseStrategy(stringOr(s, "type", ""),
                                           field ? std::optional<std::string_view>(*field) : std::nullopt);
    if (!parsed.ok()) return parsed.takeError();
    out.strategies.push_back(std::move(*parsed));
  }
  // Standalone tasks with no strategy are placed randomly (ECS scheduling guide).
  if (out.strategies.empty()) out.strategies.push_back(scheduler::Strategy{scheduler::Strategy::Type::kRandom, ""});
  return okStatus();
}

// Who launches: RunTask/StartTask, or a service's scheduler (which may keep
// launching a task definition revision deregistered after the deployment
// was made, as ECS services do).
enum class Launcher { kUser, kService };

Result<LaunchPlan> prepareLaunch(EcsContext& ctx, const json& request, Launcher launcher = Launcher::kUser) {
  LaunchPlan p;
  auto cluster = resolveActiveCluster(ctx, request);
  if (!cluster.ok()) return cluster.takeError();
  p.cluster = *cluster;

  auto td = resolveLaunchTaskDefinition(ctx, request, /*requireActive=*/launcher == Launcher::kUser);
  if (!td.ok()) return td.takeError();
  p.taskDefinition = std::move(td->taskDefinition);
  p.taskDefinitionKey = std::move(td->key);
  p.family = p.taskDefinition.value("family", "");

  auto target = checkLaunchTarget(ctx, p.cluster, request, p.taskDefinition);
  if (!target.ok()) return target.takeError();
  p.launchType = target->effectiveLaunchType;
  p.capacityProviderName = target->capacityProviderName;

  auto network = checkNetworkConfiguration(request, p.taskDefinition, p.launchType);
  if (!network.ok()) return network.takeError();
  p.awsvpc = network->has_value();
  if (p.awsvpc) p.subnetId = (**network)["awsvpcConfiguration"]["subnets"].front().get<std::string>();

  p.group = stringOr(request, "group", "family:" + p.family);
  if (p.group.empty() || p.group.size() > kMaxGroupLength) return invalid("group must be 1-255 characters long.");
  if (auto s = optString(request, "startedBy")) {
    if (s->empty() || s->size() > kMaxStartedByLength) return invalid("startedBy must be 1-128 characters long.");
    for (unsigned char c : *s)
      if (!std::isalnum(c) && c != '-' && c != '_' && c != '/')
        return invalid("startedBy may contain only letters, numbers, hyphens (-), underscores (_) and forward slashes (/).");
    p.startedBy = *s;
  }
  auto tags = validateTags(request.value("tags", json()));
  if (!tags.ok()) return tags.takeError();
  p.tags = *tags;
  // ECS managed tags (the aws: prefix is reserved for them, so they are added
  // after validation): the cluster, and the service for service tasks.
  if (request.value("enableECSManagedTags", false)) {
    p.tags.push_back({{"key", "aws:ecs:clusterName"}, {"value", p.cluster}});
    if (p.group.rfind("service:", 0) == 0)
      p.tags.push_back({{"key", "aws:ecs:serviceName"}, {"value", p.group.substr(8)}});
  }
  json requested = request.value("overrides", json::object());
  if (!requested.is_object()) requested = json::object();
  auto overrides = normalizeOverrides(p.taskDefinition, requested);
  if (!overrides.ok()) return overrides.takeError();
  p.overrides = *overrides;
  auto placement = parsePlacement(request, p.taskDefinition, p.placement);
  if (!placement.ok()) return placement.takeError();
  auto demand = taskDemand(p.taskDefinition, requested);
  if (!demand.ok()) return demand.takeError();
  p.demand = *demand;
  p.placement.demand = toScheduler(p.demand);
  p.placement.group = p.group;
  p.enableExecuteCommand = request.value("enableExecuteCommand", false);
  return p;
}

json newTaskDoc(EcsContext& ctx, const LaunchPlan& p, const std::string& id, const std::string& instanceId,
                const json& instanceDoc, const TaskDemand& reserved, double now) {
  const std::string arn = taskArn(ctx.account, p.cluster, id);
  json containers = json::array(), essential = json::array();
  auto gpuCursor = reserved.gpuIds.begin();
  for (const auto& c : arrayOrEmpty(p.taskDefinition, "containerDefinitions")) {
    const std::string name = stringOr(c, "name", "");
    const json* ov = findContainerOverride(p.overrides, name);
    auto pick = [&](const char* f) -> std::optional<std::int64_t> {
      if (ov)
        if (auto v = intField(*ov, f)) return v;
      return intField(c, f);
    };
    json container = {
        {"containerArn", ecsArn(ctx.account, "container", p.cluster + "/" + id + "/" + ctx.random.uuid())},
        {"taskArn", arn},
        {"name", name},
        {"image", stringOr(c, "image", "")},
        {"lastStatus", "PENDING"},
        {"networkInterfaces", json::array()},
        {"healthStatus", "UNKNOWN"},
        {"cpu", std::to_string(pick("cpu").value_or(0))},
    };
    if (auto m = pick("memory")) container["memory"] = std::to_string(*m);
    if (auto m = pick("memoryReservation")) container["memoryReservation"] = std::to_string(*m);
    // The instance GPUs this container gets, in order, from the task's share.
    for (const auto& rr : arrayOrEmpty(c, "resourceRequirements")) {
      if (stringOr(rr, "type", "") != "GPU") continue;
      const int want = std::atoi(stringOr(rr, "value", "0").c_str());
      json ids = json::array();
      while (static_cast<int>(ids.size()) < want && gpuCursor != reserved.gpuIds.end()) ids.push_back(*gpuCursor++);
      container["gpuIds"] = ids;
    }
    containers.push_back(container);
    if (c.value("essential", true)) essential.push_back(name);
  }
  json attributes = json::array();
  if (auto arch = instanceAttribute(instanceDoc, "ecs.cpu-architecture"))
    attributes.push_back({{"name", "ecs.cpu-architecture"}, {"value", *arch}});
  json attachments = json::array();
  if (p.awsvpc) attachments.push_back(newEniAttachment(ctx.random.uuid(), p.subnetId));
  json task = {
      {"attachments", attachments},
      {"attributes", attributes},
      {"clusterArn", clusterArn(ctx.account, p.cluster)},
      {"containerInstanceArn", instanceDoc.value("containerInstanceArn", "")},
      {"containers", containers},
      {"cpu", std::to_string(p.demand.cpu)},
      {"memory", std::to_string(p.demand.memory)},
      {"createdAt", now},
      {"desiredStatus", "RUNNING"},
      {"enableExecuteCommand", p.enableExecuteCommand},
      {"group", p.group},
      {"healthStatus", "UNKNOWN"},
      {"lastStatus", taskStatusName(initialTaskStatus(p.awsvpc))},
      {"launchType", p.launchType},
      {"overrides", p.overrides},
      {"tags", p.tags},
      {"taskArn", arn},
      {"taskDefinitionArn", p.taskDefinition.value("taskDefinitionArn", "")},
      {"version", 1},
  };
  if (auto az = instanceAttribute(instanceDoc, "ecs.availability-zone")) task["availabilityZone"] = *az;
  if (p.startedBy) task["startedBy"] = *p.startedBy;
  if (p.capacityProviderName) task["capacityProviderName"] = *p.capacityProviderName;
  if (p.launchType == "FARGATE") {
    task["platformVersion"] = "1.4.0";
    task["platformFamily"] = "Linux";
    task["ephemeralStorage"] = {{"sizeInGiB", 20}};
  }
  task["berth"] = {
      {"cluster", p.cluster},
      {"id", id},
      {"instanceId", instanceId},
      {"reserved", reserved.toJson()},
      {"essential", essential},
      {"healthChecked", healthCheckedContainers(p.taskDefinition)},
      {"taskDefinitionKey", p.taskDefinitionKey},
      {"family", p.family},
      {"agentReported", false},
  };
  return task;
}

// One RunTask/StartTask waiting in its cluster's launch lane.
struct LaunchJob : BatchJob {
  const LaunchPlan* plan = nullptr;
  bool explicitInstances = false;
  int count = 1;
  std::vector<std::string> namedIds;  // StartTask: the instances that exist
  json missing = json::array();       // StartTask: failures for the ones that don't
  // Filled by the batch.
  Status status = okStatus();
  json tasks = json::array();
  json failures = json::array();
};

// Where a job's tasks go, decided under the snapshot's data lock.
struct JobPlacement {
  std::vector<std::size_t> instances;  // snapshot index per placed task
  std::vector<std::pair<std::string, std::string>> rejections;  // (instance ARN, reason)
  json failures = json::array();  // failures naming no instance
  std::optional<Error> error;
};

// Places one job against the snapshot and marks its tasks in it (resources,
// group counts), so the next job of the batch places around them.
// Whether a cluster has any registered (not INACTIVE) and any ACTIVE instance.
struct ClusterStatus {
  bool anyRegistered = false;
  bool anyActive = false;
};

ClusterStatus clusterStatus(const scheduler::ClusterSnapshot& snapshot) {
  ClusterStatus st;
  for (const auto& in : snapshot.instances) {
    st.anyRegistered |= in.status != "INACTIVE";
    st.anyActive |= in.status == "ACTIVE";
  }
  return st;
}

JobPlacement placeJob(EcsContext& ctx, LaunchJob& job, ClusterPlacementView& view, const ClusterStatus& cluster) {
  JobPlacement out;
  const LaunchPlan& plan = *job.plan;
  scheduler::PlacementRequest request = plan.placement;
  if (job.explicitInstances) {
    // StartTask: one task on each named instance; no strategies, no distinctInstance.
    request.strategies.clear();
    std::erase_if(request.constraints,
                  [](const scheduler::Constraint& c) { return c.type == scheduler::Constraint::Type::kDistinctInstance; });
    for (const auto& id : job.namedIds)
      if (auto i = view.indexOf(id)) request.onlyInstances.push_back(*i);
    if (request.onlyInstances.empty()) return out;
    request.count = static_cast<int>(request.onlyInstances.size());
  } else {
    if (!cluster.anyRegistered) {
      out.error = invalid("No Container Instances were found in your cluster.");
      return out;
    }
    if (!cluster.anyActive) {
      out.failures.push_back({{"reason", "MISSING"},
                              {"detail", "No ACTIVE container instance in cluster " + plan.cluster + " (all are DRAINING)."}});
      return out;
    }
    request.count = job.count;
  }
  auto result = scheduler::place(request, view.snapshot, ctx.random, &view.memo);
  const scheduler::GroupId group = view.snapshot.internGroup(plan.group);
  for (std::size_t i : result.placed) {
    scheduler::reserve(view.snapshot.instances[i], request.demand, group);
    out.instances.push_back(i);
  }
  for (const auto& r : result.rejections) {
    // RunTask leaves DRAINING instances out of its failures (they take no new tasks).
    if (!job.explicitInstances && r.reason == "INACTIVE") continue;
    out.rejections.emplace_back(view.snapshot.instances[r.instance].arn, r.reason);
  }
  return out;
}

// Runs one batch of launches of a cluster: places every job (in order) against
// the snapshot, then commits all their tasks and the instances' reduced
// remainingResources in one transaction, pinned to the instance revisions
// placement saw. A write that lands in between (an agent report on a chosen
// instance) fails the compare and the batch is placed again.
void runLaunchBatch(EcsContext& ctx, const std::string& cluster, std::vector<BatchJob*>& batch, double now) {
  std::vector<LaunchJob*> jobs;
  for (auto* b : batch) jobs.push_back(static_cast<LaunchJob*>(b));
  std::vector<std::string> touched;  // instance ids marked in the snapshot by the last attempt
  auto txn = commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    if (!touched.empty()) ctx.placement->resync(cluster, touched);
    touched.clear();
    struct Chosen {
      std::string key, id;
      std::int64_t revision = 0;
    };
    std::vector<Chosen> chosen;                           // distinct instances, first-use order
    std::vector<std::vector<std::size_t>> slotsPerJob;    // per job, per task: index into chosen
    std::vector<JobPlacement> placements;
    ctx.placement->read(cluster, [&](ClusterPlacementView& view) {
      std::unordered_map<std::size_t, std::size_t> slotOf;
      // Placing marks resources and groups, never statuses: one look serves every job.
      const ClusterStatus status = clusterStatus(view.snapshot);
      for (auto* job : jobs) {
        placements.push_back(placeJob(ctx, *job, view, status));
        auto& slots = slotsPerJob.emplace_back();
        for (std::size_t i : placements.back().instances) {
          auto [it, added] = slotOf.emplace(i, chosen.size());
          if (added) chosen.push_back({view.instanceKeys[i], view.snapshot.instances[i].id, view.instanceRevisions[i]});
          slots.push_back(it->second);
        }
      }
    });
    for (const auto& c : chosen) touched.push_back(c.id);

    store::TxnRequest txn;
    std::vector<json> docs;  // per chosen instance
    std::vector<InstanceResources> remaining;
    for (const auto& c : chosen) {
      auto obj = ctx.cache.get(c.key);
      docs.push_back(obj ? obj->doc : json());
      remaining.push_back(obj ? remainingResourcesOf(obj->doc) : InstanceResources{});
      // Pinned to what placement saw: if the instance changed since (or is
      // gone), the compare fails and the batch is placed again.
      txn.compares.push_back({c.key, c.revision});
    }
    for (std::size_t j = 0; j < jobs.size(); ++j) {
      LaunchJob& job = *jobs[j];
      job.tasks = json::array();
      job.failures = job.missing;
      job.status = okStatus();
      if (placements[j].error) {
        job.status = *placements[j].error;
        continue;
      }
      for (const auto& f : placements[j].failures) job.failures.push_back(f);
      std::set<std::pair<std::string, std::string>> seen;
      for (const auto& [arn, reason] : placements[j].rejections)
        if (seen.emplace(arn, reason).second) job.failures.push_back({{"arn", arn}, {"reason", reason}});
      for (std::size_t slot : slotsPerJob[j]) {
        // The snapshot and the document agree unless accounting is broken;
        // the document is what commits, so it has the last word.
        if (auto why = shortfall(remaining[slot], job.plan->demand)) {
          log::error("placement chose an instance its document says is full", {{"instance", chosen[slot].key}, {"reason", *why}});
          json item = {{"arn", docs[slot].value("containerInstanceArn", "")}, {"reason", *why}};
          if (seen.emplace(item["arn"], *why).second) job.failures.push_back(item);
          continue;
        }
        TaskDemand taken = reserve(remaining[slot], job.plan->demand);
        const std::string id = ctx.random.ecsId();
        json doc = newTaskDoc(ctx, *job.plan, id, chosen[slot].id, docs[slot], taken, now);
        const std::string key = keys::task(cluster, id);
        txn.compares.push_back({key, 0});
        txn.ops.push_back(store::Op::put(key, doc.dump()));
        job.tasks.push_back(renderTask(doc, true));
      }
    }
    for (std::size_t slot = 0; slot < chosen.size(); ++slot) {
      json& doc = docs[slot];
      if (doc.is_null()) continue;
      setRemainingResources(doc, remaining[slot]);
      doc["version"] = doc.value("version", std::int64_t{0}) + 1;
      txn.ops.push_back(store::Op::put(chosen[slot].key, doc.dump()));
    }
    return txn;
  });
  if (!txn.ok()) {
    ctx.placement->resync(cluster, touched);
    for (auto* job : jobs) job->status = txn.error();
  }
}

// Queues a prepared job in its cluster's launch lane (batched with every
// concurrent launch of the cluster) and answers in RunTask's shape.
Result<json> submitLaunch(EcsContext& ctx, LaunchJob& job) {
  const double now = ctx.clock.epochSeconds();
  const std::string cluster = job.plan->cluster;
  ctx.placement->launches().submit(cluster, job,
                                   [&](std::vector<BatchJob*>& batch) { runLaunchBatch(ctx, cluster, batch, now); });
  if (!job.status.ok()) return job.status.error();
  return json{{"tasks", job.tasks}, {"failures", job.failures}};
}

Result<json> launch(EcsContext& ctx, const json& request, bool explicitInstances) {
  auto plan = prepareLaunch(ctx, request);
  if (!plan.ok()) return plan.takeError();
  LaunchJob job;
  job.plan = &*plan;
  job.explicitInstances = explicitInstances;
  if (explicitInstances) {
    json refs = arrayOrEmpty(request, "containerInstances");
    if (refs.empty()) return invalid("containerInstances must contain at least one container instance.");
    if (refs.size() > kMaxStartTaskInstances) return invalid("You can specify up to 10 container instances.");
    for (const auto& r : refs) {
      std::string ref = r.is_string() ? r.get<std::string>() : "";
      auto id = containerInstanceIdFromRef(ref, plan->cluster);
      std::optional<CachedObject> obj;
      if (id) obj = ctx.cache.get(keys::containerInstance(plan->cluster, *id));
      if (!obj || obj->doc.value("status", "") == "INACTIVE") {
        job.missing.push_back({{"arn", id ? containerInstanceArn(ctx.account, plan->cluster, *id) : ref}, {"reason", "MISSING"}});
        continue;
      }
      job.namedIds.push_back(*id);
    }
    if (job.namedIds.empty()) return json{{"tasks", json::array()}, {"failures", job.missing}};
  } else if (auto c = optField(request, "count")) {
    if (!c->is_number_integer() || c->get<std::int64_t>() < 1 || c->get<std::int64_t>() > kMaxRunTaskCount)
      return invalid("count must be between 1 and 10.");
    job.count = c->get<int>();
  }
  return submitLaunch(ctx, job);
}

// --- finding tasks ------------------------------------------------------

struct FoundTask {
  std::string key;
  CachedObject object;
};

std::optional<FoundTask> findTask(const EcsContext& ctx, const std::string& cluster, const std::string& ref) {
  auto id = taskIdFromRef(ref, cluster);
  if (!id) return std::nullopt;
  auto key = keys::task(cluster, *id);
  auto obj = ctx.cache.get(key);
  if (!obj) return std::nullopt;
  return FoundTask{key, *obj};
}

// Gives a task's reservation back to its instance inside `txn` (no-op if the
// instance is gone or INACTIVE: deregistration already reset its resources).
void releaseInto(const EcsContext& ctx, const json& task, store::TxnRequest& txn) {
  const json& b = task.value("berth", json::object());
  const std::string key = keys::containerInstance(b.value("cluster", ""), b.value("instanceId", ""));
  auto obj = ctx.cache.get(key);
  if (!obj || obj->doc.value("status", "") == "INACTIVE") return;
  json doc = obj->doc;
  auto remaining = remainingResourcesOf(doc);
  release(remaining, registeredResourcesOf(doc), TaskDemand::fromJson(b.value("reserved", json::object())));
  setRemainingResources(doc, remaining);
  doc["version"] = doc.value("version", std::int64_t{0}) + 1;
  txn.compares.push_back({key, obj->modRevision});
  txn.ops.push_back(store::Op::put(key, doc.dump()));
}

// Host ports the agent bound that placement did not reserve (dynamic host
// ports) join the task's reservation and the instance's in-use ports inside
// `txn`, pinned to the instance revision read here, so the STOPPED release
// gives them back like static ones. Returns whether the task changed.
bool reserveBoundPortsInto(const EcsContext& ctx, json& task, store::TxnRequest& txn) {
  if (task.value("lastStatus", "") == "STOPPED") return false;
  json& b = task["berth"];
  const std::string key = keys::containerInstance(b.value("cluster", ""), b.value("instanceId", ""));
  auto obj = ctx.cache.get(key);
  if (!obj || obj->doc.value("status", "") == "INACTIVE") return false;
  auto remaining = remainingResourcesOf(obj->doc);
  TaskDemand extra;
  for (const auto& c : task["containers"]) {
    // Each container's new ports count against the ones before it too.
    TaskDemand more = unreservedBoundPorts(c.value("networkBindings", json::array()), remaining);
    reserve(remaining, more);
    addPorts(extra, more);
  }
  if (!hasPorts(extra)) return false;
  TaskDemand reserved = TaskDemand::fromJson(b.value("reserved", json::object()));
  addPorts(reserved, extra);
  b["reserved"] = reserved.toJson();
  json doc = obj->doc;
  setRemainingResources(doc, remaining);
  doc["version"] = doc.value("version", std::int64_t{0}) + 1;
  txn.compares.push_back({key, obj->modRevision});
  txn.ops.push_back(store::Op::put(key, doc.dump()));
  return true;
}

bool instanceAgentConnected(const EcsContext& ctx, const json& task) {
  const json& b = task.value("berth", json::object());
  auto obj = ctx.cache.get(keys::containerInstance(b.value("cluster", ""), b.value("instanceId", "")));
  return obj && obj->doc.value("status", "") != "INACTIVE" && obj->doc.value("agentConnected", false);
}

// Reservations of several stopped tasks given back in one transaction: each
// instance document is read once, released into as often as needed and
// written once (pinned to the revision it was read at).
class InstanceReleases {
 public:
  explicit InstanceReleases(const EcsContext& ctx) : ctx_(ctx) {}

  void add(const json& task) {
    const json& b = task.value("berth", json::object());
    const std::string key = keys::containerInstance(b.value("cluster", ""), b.value("instanceId", ""));
    auto it = byKey_.find(key);
    if (it == byKey_.end()) {
      auto obj = ctx_.cache.get(key);
      // Gone or INACTIVE: deregistration already reset its resources.
      if (!obj || obj->doc.value("status", "") == "INACTIVE") return;
      Pending p{obj->modRevision, obj->doc, remainingResourcesOf(obj->doc), registeredResourcesOf(obj->doc)};
      it = byKey_.emplace(key, std::move(p)).first;
    }
    release(it->second.remaining, it->second.registered, TaskDemand::fromJson(b.value("reserved", json::object())));
  }

  void appendTo(store::TxnRequest& txn) {
    for (auto& [key, p] : byKey_) {
      setRemainingResources(p.doc, p.remaining);
      p.doc["version"] = p.doc.value("version", std::int64_t{0}) + 1;
      txn.compares.push_back({key, p.revision});
      txn.ops.push_back(store::Op::put(key, p.doc.dump()));
    }
  }

 private:
  struct Pending {
    std::int64_t revision = 0;
    json doc;
    InstanceResources remaining;
    InstanceResources registered;
  };
  const EcsContext& ctx_;
  std::map<std::string, Pending> byKey_;
};

// --- agent reports ------------------------------------------------------

// A container change from the agent; returns whether anything changed.
bool applyContainerChange(json& container, const json& change, ContainerStatus reported, bool hasStatus) {
  bool changed = false;
  if (hasStatus) {
    auto current = parseContainerStatus(container.value("lastStatus", "PENDING")).value_or(ContainerStatus::kPending);
    if (containerAdvances(current, reported)) {
      container["lastStatus"] = std::string(containerStatusName(reported));
      changed = true;
    }
  }
  if (auto v = optString(change, "runtimeId"); v && !v->empty()) changed |= setIfDifferent(container, "runtimeId", *v);
  if (auto v = optString(change, "imageDigest"); v && !v->empty()) changed |= setIfDifferent(container, "imageDigest", *v);
  if (auto v = intField(change, "exitCode")) changed |= setIfDifferent(container, "exitCode", *v);
  if (auto v = optString(change, "reason"); v && !v->empty()) changed |= setIfDifferent(container, "reason", truncated(*v));
  if (auto* nb = optField(change, "networkBindings"); nb && nb->is_array())
    changed |= setIfDifferent(container, "networkBindings", *nb);
  // Health may move either way (HEALTHY -> UNHEALTHY -> HEALTHY), unlike statuses.
  if (auto v = optString(change, "healthStatus"); v && validHealthStatus(*v))
    changed |= setIfDifferent(container, "healthStatus", *v);
  return changed;
}

json* findContainer(json& task, const std::string& name) {
  for (auto& c : task["containers"])
    if (c.value("name", "") == name) return &c;
  return nullptr;
}

struct ParsedContainerChange {
  const json* change;  // points into the list given to parseContainerChanges
  std::string name;
  std::optional<ContainerStatus> status;
};

Result<std::vector<ParsedContainerChange>> parseContainerChanges(const json& list) {
  std::vector<ParsedContainerChange> out;
  for (const auto& c : list) {
    ParsedContainerChange p{&c, stringOr(c, "containerName", ""), std::nullopt};
    if (p.name.empty()) return invalid("Every container state change needs a containerName.");
    if (auto s = optString(c, "status"); s && !s->empty()) {
      p.status = parseContainerStatus(*s);
      if (!p.status) return invalid("Invalid container status '" + *s + "'. Valid values: PENDING, RUNNING, STOPPED.");
    }
    if (auto h = optString(c, "healthStatus"); h && !validHealthStatus(*h))
      return invalid("Invalid container healthStatus '" + *h + "'. Valid values: HEALTHY, UNHEALTHY, UNKNOWN.");
    out.push_back(p);
  }
  return out;
}

bool validStopCode(const std::string& code) {
  for (const char* c : {"TaskFailedToStart", "EssentialContainerExited", "UserInitiated", "ServiceSchedulerInitiated",
                        "SpotInterruption", "TerminationNotice"})
    if (code == c) return true;
  return false;
}

// Applies an agent's SubmitTaskStateChange to a stored task. Statuses never
// move backward; first-reported timestamps win. Returns whether the document
// changed; `reachedStopped` tells the caller to release the reservation.
bool applyTaskChange(json& task, const json& request, std::optional<TaskStatus> reported,
                     const std::vector<ParsedContainerChange>& containers, double now, const std::string& region,
                     bool& reachedStopped) {
  bool changed = false;
  reachedStopped = false;
  json& b = task["berth"];
  if (!b.value("agentReported", false)) {
    b["agentReported"] = true;
    changed = true;
  }
  for (const auto& c : containers) {
    json* container = findContainer(task, c.name);
    if (!container) {
      log::warn("agent reported an unknown container; ignored", {{"task", task.value("taskArn", "")}, {"container", c.name}});
      continue;
    }
    changed |= applyContainerChange(*container, *c.change, c.status.value_or(ContainerStatus::kPending), c.status.has_value());
  }
  changed |= setIfDifferent(task, "healthStatus", deriveTaskHealth(task));
  if (auto* ni = optField(request, "networkInterface"); ni && ni->is_object())
    changed |= applyNetworkInterface(task, *ni, region);
  for (const char* f : {"pullStartedAt", "pullStoppedAt", "executionStoppedAt"})
    if (auto t = timeField(request, f)) changed |= setIfAbsent(task, f, *t);

  if (reported) {
    auto current = parseTaskStatus(task.value("lastStatus", "PENDING")).value_or(TaskStatus::kPending);
    auto step = nextTaskStatus(current, *reported, StatusSource::kAgent);
    if (step.accepted) {
      changed = true;
      task["lastStatus"] = std::string(taskStatusName(step.next));
      // A task that jumps from PENDING straight to STOPPED (e.g. a failed pull)
      // never ran: ECS gives it no startedAt. The agent sends startedAt when
      // containers really started, so trust that over the status jump.
      auto agentStartedAt = timeField(request, "startedAt");
      if (step.reachedRunning && (step.next == TaskStatus::kRunning || agentStartedAt)) {
        setIfAbsent(task, "startedAt", agentStartedAt.value_or(now));
        setIfAbsent(task, "connectivity", "CONNECTED");
        setIfAbsent(task, "connectivityAt", now);
      }
      std::string stopCode = stringOr(request, "stopCode", "");
      if (step.reachedStopping || step.reachedStopped) {
        setIfAbsent(task, "stoppingAt", timeField(request, "stoppingAt").value_or(now));
        // The task is going down; it will not come back to RUNNING.
        task["desiredStatus"] = "STOPPED";
        if (validStopCode(stopCode)) setIfAbsent(task, "stopCode", stopCode);
      }
      if (step.reachedStopped) {
        reachedStopped = true;
        task["stoppedAt"] = now;
        deleteEniAttachments(task);
        setIfAbsent(task, "executionStoppedAt", now);
        bool essentialExited = false;
        for (auto& c : task["containers"]) {
          if (c.value("lastStatus", "") != "STOPPED") c["lastStatus"] = "STOPPED";
          for (const auto& e : b.value("essential", json::array()))
            if (e == c.value("name", "") && c.contains("exitCode")) essentialExited = true;
        }
        if (!task.contains("stopCode")) {
          if (!task.contains("startedAt") && !essentialExited) task["stopCode"] = "TaskFailedToStart";
          else task["stopCode"] = "EssentialContainerExited";
        }
        if (!task.contains("stoppedReason")) {
          std::string reason = stringOr(request, "reason", "");
          if (!reason.empty()) task["stoppedReason"] = truncated(reason);
          else if (task["stopCode"] == "EssentialContainerExited") task["stoppedReason"] = kEssentialExitReason;
          else task["stoppedReason"] = "Task failed to start";
        }
      }
    }
  }
  changed |= markHealthyIfFirst(task, now);
  if (changed) task["version"] = task.value("version", std::int64_t{0}) + 1;
  return changed;
}

Result<std::string> clusterFor(const EcsContext& ctx, const json& request) { return resolveActiveCluster(ctx, request); }

}  // namespace

std::string taskArn(const AccountInfo& a, std::string_view cluster, std::string_view id) {
  return ecsArn(a, "task", std::string(cluster) + "/" + std::string(id));
}

std::optional<std::string> taskIdFromRef(std::string_view ref, std::string_view cluster) {
  return clusterScopedIdFromRef(ref, cluster, "task");
}

json renderTask(const json& stored, bool includeTags) {
  json out = stored;
  out.erase("berth");
  if (!includeTags) out.erase("tags");
  return out;
}

bool forceStopTaskDoc(json& task, double now, const std::string& reason) {
  if (task.value("lastStatus", "") == "STOPPED") return false;
  task["lastStatus"] = "STOPPED";
  task["desiredStatus"] = "STOPPED";
  for (auto& c : task["containers"]) c["lastStatus"] = "STOPPED";
  setIfAbsent(task, "stoppingAt", now);
  setIfAbsent(task, "executionStoppedAt", now);
  task["stoppedAt"] = now;
  setIfAbsent(task, "stoppedReason", truncated(reason));
  deleteEniAttachments(task);
  task["version"] = task.value("version", std::int64_t{0}) + 1;
  return true;
}

Result<json> runTask(EcsContext& ctx, const json& request) { return launch(ctx, request, false); }
Result<json> startTask(EcsContext& ctx, const json& request) { return launch(ctx, request, true); }

Result<json> stopTask(EcsContext& ctx, const json& request) {
  auto cluster = clusterFor(ctx, request);
  if (!cluster.ok()) return cluster.takeError();
  std::string ref = stringOr(request, "task", "");
  if (ref.empty()) return invalid("task must be specified.");
  std::string reason = stringOr(request, "reason", "");
  if (reason.size() > kMaxReasonLength) return invalid("reason can be up to 255 characters long.");
  if (reason.empty()) reason = kUserStopReason;
  const double now = ctx.clock.epochSeconds();
  json result;
  auto txn = commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    auto found = findTask(ctx, *cluster, ref);
    if (!found) return taskNotFound();
    json doc = found->object.doc;
    result = doc;
    if (doc.value("desiredStatus", "") == "STOPPED" || doc.value("lastStatus", "") == "STOPPED")
      return store::TxnRequest{};  // already stopping: StopTask is idempotent
    doc["desiredStatus"] = "STOPPED";
    setIfAbsent(doc, "stoppingAt", now);
    doc["stopCode"] = "UserInitiated";
    doc["stoppedReason"] = reason;
    doc["version"] = doc.value("version", std::int64_t{0}) + 1;
    store::TxnRequest txn{{{found->key, found->object.modRevision}}, {}};
    // No agent has started it and none is connected to pick up the stop: it
    // goes straight to STOPPED and frees its resources now.
    auto status = parseTaskStatus(doc.value("lastStatus", "")).value_or(TaskStatus::kPending);
    if (serverMayStopDirectly(status) && !doc["berth"].value("agentReported", false) &&
        !instanceAgentConnected(ctx, doc)) {
      forceStopTaskDoc(doc, now, reason);
      releaseInto(ctx, doc, txn);
    }
    txn.ops.insert(txn.ops.begin(), store::Op::put(found->key, doc.dump()));
    result = doc;
    return txn;
  });
  if (!txn.ok()) return txn.takeError();
  return json{{"task", renderTask(result, true)}};
}

Result<json> describeTasks(EcsContext& ctx, const json& request) {
  auto cluster = clusterFor(ctx, request);
  if (!cluster.ok()) return cluster.takeError();
  auto includeTags = includesTags(request);
  if (!includeTags.ok()) return includeTags.takeError();
  json refs = arrayOrEmpty(request, "tasks");
  if (refs.empty()) return invalid("Tasks cannot be empty.");
  if (refs.size() > kMaxDescribeTasks) return invalid("Too many tasks specified. You can describe up to 100 tasks in a single call.");
  json tasks = json::array(), failures = json::array();
  for (const auto& r : refs) {
    std::string ref = r.is_string() ? r.get<std::string>() : "";
    auto found = findTask(ctx, *cluster, ref);
    if (!found) {
      auto id = taskIdFromRef(ref, *cluster);
      failures.push_back({{"arn", id ? taskArn(ctx.account, *cluster, *id) : ref}, {"reason", "MISSING"}});
      continue;
    }
    tasks.push_back(renderTask(found->object.doc, *includeTags));
  }
  return json{{"tasks", tasks}, {"failures", failures}};
}

Result<json> listTasks(EcsContext& ctx, const json& request) {
  auto cluster = clusterFor(ctx, request);
  if (!cluster.ok()) return cluster.takeError();
  auto page = pageRequestFrom(request);
  if (!page.ok()) return page.takeError();
  std::string desired = stringOr(request, "desiredStatus", "RUNNING");
  if (desired != "RUNNING" && desired != "PENDING" && desired != "STOPPED")
    return invalid("Invalid desiredStatus '" + desired + "'. Valid values: RUNNING, PENDING, STOPPED.");
  std::optional<std::string> instanceId;
  if (auto ref = optString(request, "containerInstance"); ref && !ref->empty()) {
    instanceId = containerInstanceIdFromRef(*ref, *cluster);
    if (!instanceId) return invalid("Invalid containerInstance '" + *ref + "': give a container instance ID or ARN of cluster " + *cluster + ".");
  }
  auto family = optString(request, "family");
  auto startedBy = optString(request, "startedBy");
  auto serviceName = optString(request, "serviceName");
  auto launchType = optString(request, "launchType");
  if (family && serviceName) return invalid("family and serviceName cannot both be specified.");
  std::string scope = "ListTasks/" + *cluster + "/" + desired + "/" + instanceId.value_or("") + "/" + family.value_or("") +
                      "/" + startedBy.value_or("") + "/" + serviceName.value_or("") + "/" + launchType.value_or("");
  auto result = paginate(ctx.cache, keys::clusterScoped(keys::kTasks, *cluster), scope, *page,
                         [&](const std::string&, const CachedObject& o) -> std::optional<json> {
                           const json& d = o.doc;
                           const json& b = d.value("berth", json::object());
                           if (d.value("desiredStatus", "") != desired) return std::nullopt;
                           if (instanceId && b.value("instanceId", "") != *instanceId) return std::nullopt;
                           if (family && b.value("family", "") != *family) return std::nullopt;
                           if (startedBy && d.value("startedBy", "") != *startedBy) return std::nullopt;
                           if (serviceName && d.value("group", "") != "service:" + *serviceName) return std::nullopt;
                           if (launchType && d.value("launchType", "") != *launchType) return std::nullopt;
                           return d.value("taskArn", "");
                         });
  if (!result.ok()) return result.takeError();
  json out = {{"taskArns", result->items}};
  if (result->nextToken) out["nextToken"] = *result->nextToken;
  return out;
}

Result<json> submitTaskStateChange(EcsContext& ctx, const json& request) {
  auto cluster = clusterFor(ctx, request);
  if (!cluster.ok()) return cluster.takeError();
  std::string ref = stringOr(request, "task", "");
  if (ref.empty()) return invalid("task must be specified.");
  std::optional<TaskStatus> reported;
  if (auto s = optString(request, "status"); s && !s->empty()) {
    reported = parseTaskStatus(*s);
    if (!reported) return invalid("Invalid task status '" + *s + "'.");
  }
  const json containerList = arrayOrEmpty(request, "containers");  // outlives the parsed pointers into it
  auto containers = parseContainerChanges(containerList);
  if (!containers.ok()) return containers.takeError();
  const double now = ctx.clock.epochSeconds();
  auto txn = commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    auto found = findTask(ctx, *cluster, ref);
    if (!found) return taskNotFound();
    json doc = found->object.doc;
    bool reachedStopped = false;
    bool changed = applyTaskChange(doc, request, reported, *containers, now, ctx.account.region, reachedStopped);
    store::TxnRequest txn{{{found->key, found->object.modRevision}}, {}};
    if (reachedStopped) releaseInto(ctx, doc, txn);
    else changed |= reserveBoundPortsInto(ctx, doc, txn);
    if (!changed) return store::TxnRequest{};
    txn.ops.insert(txn.ops.begin(), store::Op::put(found->key, doc.dump()));
    return txn;
  });
  if (!txn.ok()) return txn.takeError();
  return json{{"acknowledgment", "ACK"}};
}

Result<json> submitContainerStateChange(EcsContext& ctx, const json& request) {
  auto cluster = clusterFor(ctx, request);
  if (!cluster.ok()) return cluster.takeError();
  std::string ref = stringOr(request, "task", "");
  if (ref.empty()) return invalid("task must be specified.");
  const json single = json::array({request});  // outlives the parsed pointers into it
  auto parsed = parseContainerChanges(single);
  if (!parsed.ok()) return parsed.takeError();
  const auto& change = parsed->front();
  auto txn = commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    auto found = findTask(ctx, *cluster, ref);
    if (!found) return taskNotFound();
    json doc = found->object.doc;
    json* container = findContainer(doc, change.name);
    if (!container) return invalid("Container " + change.name + " is not part of task " + ref + ".");
    bool changed = applyContainerChange(*container, request, change.status.value_or(ContainerStatus::kPending),
                                        change.status.has_value());
    changed |= setIfDifferent(doc, "healthStatus", deriveTaskHealth(doc));
    changed |= markHealthyIfFirst(doc, ctx.clock.epochSeconds());
    if (!doc["berth"].value("agentReported", false)) {
      doc["berth"]["agentReported"] = true;
      changed = true;
    }
    if (changed) doc["version"] = doc.value("version", std::int64_t{0}) + 1;
    store::TxnRequest txn{{{found->key, found->object.modRevision}}, {}};
    changed |= reserveBoundPortsInto(ctx, doc, txn);
    if (!changed) return store::TxnRequest{};
    txn.ops.insert(txn.ops.begin(), store::Op::put(found->key, doc.dump()));
    return txn;
  });
  if (!txn.ok()) return txn.takeError();
  return json{{"acknowledgment", "ACK"}};
}

Result<json> launchServiceTasks(EcsContext& ctx, const json& launchRequest, int count,
                                const std::vector<std::string>& onlyInstanceIds) {
  json request = launchRequest;
  // The service default (CreateService fills it in; a request without one
  // must not fall back to RunTask's random placement).
  if (arrayOrEmpty(request, "placementStrategy").empty())
    request["placementStrategy"] = json::array({{{"type", "spread"}, {"field", "attribute:ecs.availability-zone"}},
                                                {{"type", "spread"}, {"field", "instanceId"}}});
  auto plan = prepareLaunch(ctx, request, Launcher::kService);
  if (!plan.ok()) return plan.takeError();
  LaunchJob job;
  job.plan = &*plan;
  if (!onlyInstanceIds.empty()) {
    // DAEMON: one task on each named instance that fits, like StartTask.
    // Instances the snapshot does not know are skipped by placement.
    job.explicitInstances = true;
    job.namedIds = onlyInstanceIds;
  } else {
    if (count <= 0) return json{{"tasks", json::array()}, {"failures", json::array()}};
    job.count = count;
  }
  return submitLaunch(ctx, job);
}

namespace {
// Tasks per stop transaction: large enough that a 1,000-task rollout stops in
// a few commits, small enough that a conflicting agent report retries little.
constexpr std::size_t kSchedulerStopChunk = 200;
}  // namespace

Result<std::int64_t> stopTasksForScheduler(EcsContext& ctx, const std::string& cluster,
                                           const std::vector<std::pair<std::string, std::string>>& idAndReason) {
  const double now = ctx.clock.epochSeconds();
  std::int64_t stopped = 0;
  for (std::size_t start = 0; start < idAndReason.size(); start += kSchedulerStopChunk) {
    const std::size_t end = std::min(idAndReason.size(), start + kSchedulerStopChunk);
    std::int64_t chunkStopped = 0;
    // Only this chunk is rebuilt when an agent report (or anything else)
    // lands on one of its tasks or instances in between.
    auto txn = commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
      chunkStopped = 0;
      store::TxnRequest txn;
      InstanceReleases releases(ctx);
      std::map<std::string, bool> connected;  // instance key -> agent connected
      for (std::size_t i = start; i < end; ++i) {
        const auto& [id, reason] = idAndReason[i];
        const std::string key = keys::task(cluster, id);
        auto obj = ctx.cache.get(key);
        if (!obj) continue;
        json doc = std::move(obj->doc);
        if (doc.value("desiredStatus", "") == "STOPPED" || doc.value("lastStatus", "") == "STOPPED") continue;
        const std::string why = truncated(reason.empty() ? std::string("Scaling activity initiated by service scheduler") : reason);
        doc["desiredStatus"] = "STOPPED";
        setIfAbsent(doc, "stoppingAt", now);
        doc["stopCode"] = "ServiceSchedulerInitiated";
        doc["stoppedReason"] = why;
        doc["version"] = doc.value("version", std::int64_t{0}) + 1;
        // As StopTask: no agent has started it and none is connected to pick
        // up the stop, so it goes straight to STOPPED and frees its resources.
        auto status = parseTaskStatus(doc.value("lastStatus", "")).value_or(TaskStatus::kPending);
        if (serverMayStopDirectly(status) && !doc["berth"].value("agentReported", false)) {
          const json& b = doc["berth"];
          const std::string instanceKey = keys::containerInstance(b.value("cluster", ""), b.value("instanceId", ""));
          auto c = connected.find(instanceKey);
          if (c == connected.end()) c = connected.emplace(instanceKey, instanceAgentConnected(ctx, doc)).first;
          if (!c->second) {
            forceStopTaskDoc(doc, now, why);
            releases.add(doc);
          }
        }
        txn.compares.push_back({key, obj->modRevision});
        txn.ops.push_back(store::Op::put(key, doc.dump()));
        ++chunkStopped;
      }
      releases.appendTo(txn);
      return txn;
    });
    if (!txn.ok()) return txn.takeError();
    stopped += chunkStopped;
  }
  return stopped;
}

Result<std::int64_t> reapStoppedTasks(EcsContext& ctx, std::chrono::system_clock::time_point now,
                                      std::chrono::seconds retention) {
  const double cutoff = std::chrono::duration<double>((now - retention).time_since_epoch()).count();
  auto expired = [&](const std::string& key, const json& doc) {
    if (key.rfind(keys::kTasks, 0) == 0)
      return doc.value("lastStatus", "") == "STOPPED" && doc.value("stoppedAt", cutoff + 1) <= cutoff;
    return doc.value("status", "") == "INACTIVE" &&
           doc.value("berth", json::object()).value("deregisteredAt", cutoff + 1) <= cutoff;
  };
  std::vector<std::string> candidates;
  for (auto prefix : {keys::kTasks, keys::kContainerInstances}) {
    ctx.cache.scan(std::string(prefix), "", [&](const std::string& key, const CachedObject& o) {
      if (expired(key, o.doc)) candidates.push_back(key);
      return true;
    });
  }
  std::int64_t reaped = 0;
  for (std::size_t start = 0; start < candidates.size(); start += kReapBatch) {
    std::int64_t batchCount = 0;
    auto txn = commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
      store::TxnRequest txn;
      batchCount = 0;
      for (std::size_t i = start; i < std::min(candidates.size(), start + kReapBatch); ++i) {
        auto obj = ctx.cache.get(candidates[i]);
        if (!obj || !expired(candidates[i], obj->doc)) continue;
        txn.compares.push_back({candidates[i], obj->modRevision});
        txn.ops.push_back(store::Op::del(candidates[i]));
        ++batchCount;
      }
      return txn;
    });
    if (!txn.ok()) return txn.takeError();
    reaped += batchCount;
  }
  return reaped;
}

}  // namespace berth::control
