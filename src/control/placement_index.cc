#include "control/placement_index.h"

#include <algorithm>

#include "control/container_instance_ops.h"
#include "control/keys.h"

namespace berth::control {
namespace {

using nlohmann::json;

// "ecs/tasks/<cluster>/<id>" → {cluster, id}; nullopt for other keys.
std::optional<std::pair<std::string, std::string>> splitScopedKey(const std::string& key, std::string_view prefix) {
  if (key.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  auto rest = std::string_view(key).substr(prefix.size());
  auto slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  return std::pair{std::string(rest.substr(0, slash)), std::string(rest.substr(slash + 1))};
}

std::vector<int> sortedPorts(const std::set<int>& s) { return std::vector<int>(s.begin(), s.end()); }

// What an instance document says, minus the task-derived parts.
scheduler::Instance instanceFromDoc(const json& doc, const std::string& id) {
  scheduler::Instance in;
  in.arn = doc.value("containerInstanceArn", "");
  in.id = id;
  in.ec2InstanceId = doc.value("ec2InstanceId", "");
  in.status = doc.value("status", "");
  in.agentConnected = doc.value("agentConnected", false);
  if (auto it = doc.find("versionInfo"); it != doc.end() && it->is_object()) in.agentVersion = it->value("agentVersion", "");
  if (auto it = doc.find("registeredAt"); it != doc.end() && it->is_number()) in.registeredAt = it->get<double>();
  if (auto it = doc.find("attributes"); it != doc.end() && it->is_array()) {
    for (const auto& a : *it) {
      auto v = a.find("value");
      in.attributes.emplace_back(a.value("name", ""), v != a.end() && v->is_string() ? v->get<std::string>() : "");
    }
    std::sort(in.attributes.begin(), in.attributes.end());
  }
  in.remaining = toScheduler(remainingResourcesOf(doc));
  return in;
}

bool sameRegistrationFacts(const scheduler::Instance& a, const scheduler::Instance& b) {
  return a.attributes == b.attributes && a.ec2InstanceId == b.ec2InstanceId && a.agentVersion == b.agentVersion &&
         a.registeredAt == b.registeredAt;
}

void addGroupCount(std::vector<std::pair<scheduler::GroupId, int>>& counts, scheduler::GroupId g, int delta) {
  for (auto it = counts.begin(); it != counts.end(); ++it) {
    if (it->first != g) continue;
    it->second += delta;
    if (it->second <= 0) counts.erase(it);
    return;
  }
  if (delta > 0) counts.emplace_back(g, delta);
}

}  // namespace

struct PlacementIndex::Cluster {
  struct TaskEntry {
    std::string instanceId;
    scheduler::GroupId group = 0;
    bool live = false;     // not STOPPED: counts against its instance
    bool running = false;  // lastStatus RUNNING
  };
  // Task-derived facts per instance id; kept even while the instance is not
  // (yet) in the snapshot, since a txn may write tasks before their instance.
  struct Tally {
    std::vector<std::pair<scheduler::GroupId, int>> groups;
    std::int64_t running = 0;
    std::int64_t pending = 0;
  };

  std::mutex dataMu;
  scheduler::ClusterSnapshot snapshot;
  scheduler::PlacementMemo memo;
  std::vector<std::string> keys;
  std::vector<std::int64_t> revisions;
  std::unordered_map<std::string, std::size_t> byId;
  std::unordered_map<std::string, TaskEntry> tasks;  // by task id
  std::unordered_map<std::string, Tally> tallies;    // by instance id
  std::uint64_t nextAttributesVersion = 1;           // unique per cluster, so memo entries never alias

  void refreshTaskFacts(const std::string& instanceId) {
    auto it = byId.find(instanceId);
    if (it == byId.end()) return;
    auto& in = snapshot.instances[it->second];
    auto t = tallies.find(instanceId);
    if (t == tallies.end()) {
      in.groupCounts.clear();
      in.runningTasksCount = 0;
    } else {
      in.groupCounts = t->second.groups;
      in.runningTasksCount = static_cast<int>(t->second.running);
    }
  }

  void count(const TaskEntry& e, int sign) {
    if (!e.live) return;
    auto& t = tallies[e.instanceId];
    addGroupCount(t.groups, e.group, sign);
    (e.running ? t.running : t.pending) += sign;
    if (t.groups.empty() && t.running == 0 && t.pending == 0) tallies.erase(e.instanceId);
  }

  void putTask(const std::string& id, const json& doc) {
    TaskEntry e;
    if (auto b = doc.find("berth"); b != doc.end() && b->is_object()) e.instanceId = b->value("instanceId", "");
    e.group = snapshot.internGroup(doc.value("group", ""));
    const std::string status = doc.value("lastStatus", "");
    e.live = status != "STOPPED";
    e.running = status == "RUNNING";
    auto old = tasks.find(id);
    std::string oldInstance;
    if (old != tasks.end()) {
      count(old->second, -1);
      oldInstance = old->second.instanceId;
      old->second = e;
    } else {
      tasks.emplace(id, e);
    }
    count(e, +1);
    refreshTaskFacts(e.instanceId);
    if (!oldInstance.empty() && oldInstance != e.instanceId) refreshTaskFacts(oldInstance);
  }

  void deleteTask(const std::string& id) {
    auto it = tasks.find(id);
    if (it == tasks.end()) return;
    count(it->second, -1);
    std::string instanceId = it->second.instanceId;
    tasks.erase(it);
    refreshTaskFacts(instanceId);
  }

  void putInstance(const std::string& id, const std::string& key, const json& doc, std::int64_t revision) {
    scheduler::Instance in = instanceFromDoc(doc, id);
    auto it = byId.find(id);
    if (it == byId.end()) {
      in.attributesVersion = nextAttributesVersion++;
      byId.emplace(id, snapshot.instances.size());
      snapshot.instances.push_back(std::move(in));
      keys.push_back(key);
      revisions.push_back(revision);
    } else {
      auto& current = snapshot.instances[it->second];
      in.attributesVersion = sameRegistrationFacts(in, current) ? current.attributesVersion : nextAttributesVersion++;
      current = std::move(in);
      revisions[it->second] = revision;
    }
    refreshTaskFacts(id);
  }

  void deleteInstance(const std::string& id) {
    auto it = byId.find(id);
    if (it == byId.end()) return;
    const std::size_t i = it->second, last = snapshot.instances.size() - 1;
    byId.erase(it);
    if (i != last) {
      snapshot.instances[i] = std::move(snapshot.instances[last]);
      keys[i] = std::move(keys[last]);
      revisions[i] = revisions[last];
      byId[snapshot.instances[i].id] = i;
    }
    snapshot.instances.pop_back();
    keys.pop_back();
    revisions.pop_back();
  }
};

std::optional<std::size_t> ClusterPlacementView::indexOf(const std::string& instanceId) const {
  auto it = byId.find(instanceId);
  if (it == byId.end()) return std::nullopt;
  return it->second;
}

PlacementIndex::PlacementIndex(StateCache& cache) : cache_(cache) {
  observerId_ = cache.addObserver([this](const std::string& key, const CachedObject* before, const CachedObject* after) {
    observe(key, before, after);
  });
}

PlacementIndex::~PlacementIndex() { cache_.removeObserver(observerId_); }

PlacementIndex::Cluster& PlacementIndex::clusterLocked(const std::string& name) {
  auto& c = clusters_[name];
  if (!c) c = std::make_unique<Cluster>();
  return *c;
}

PlacementIndex::Cluster* PlacementIndex::find(const std::string& name) {
  std::lock_guard lock(mu_);
  return &clusterLocked(name);  // clusters are never removed: the pointer stays valid
}

void PlacementIndex::observe(const std::string& key, const CachedObject*, const CachedObject* after) {
  const bool isTask = key.compare(0, keys::kTasks.size(), keys::kTasks) == 0;
  const bool isInstance = !isTask && key.compare(0, keys::kContainerInstances.size(), keys::kContainerInstances) == 0;
  if (!isTask && !isInstance) return;
  auto parts = splitScopedKey(key, isTask ? keys::kTasks : keys::kContainerInstances);
  if (!parts) return;
  Cluster* c = find(parts->first);
  std::lock_guard lock(c->dataMu);
  if (isTask) {
    if (after) c->putTask(parts->second, after->doc);
    else c->deleteTask(parts->second);
  } else {
    if (after) c->putInstance(parts->second, key, after->doc, after->modRevision);
    else c->deleteInstance(parts->second);
  }
}

void PlacementIndex::resync(const std::string& cluster, const std::vector<std::string>& instanceIds) {
  std::vector<std::optional<CachedObject>> docs;  // read before taking the data lock
  for (const auto& id : instanceIds) docs.push_back(cache_.get(keys::containerInstance(cluster, id)));
  Cluster* c = find(cluster);
  std::lock_guard lock(c->dataMu);
  for (std::size_t n = 0; n < instanceIds.size(); ++n) {
    const auto& id = instanceIds[n];
    auto it = c->byId.find(id);
    if (!docs[n]) continue;  // deleted: the observer removes it
    // The observer may have applied a newer write since the read above.
    if (it != c->byId.end() && docs[n]->modRevision < c->revisions[it->second]) continue;
    c->putInstance(id, keys::containerInstance(cluster, id), docs[n]->doc, docs[n]->modRevision);
  }
}

void PlacementIndex::read(const std::string& cluster, const std::function<void(ClusterPlacementView&)>& fn) {
  Cluster* c = find(cluster);
  std::lock_guard lock(c->dataMu);
  ClusterPlacementView view{c->snapshot, c->memo, c->keys, c->revisions, c->byId};
  fn(view);
}

PlacementIndex::TaskCounts PlacementIndex::taskCounts(const std::string& cluster, const std::string& instanceId) {
  Cluster* c = find(cluster);
  std::lock_guard lock(c->dataMu);
  auto it = c->tallies.find(instanceId);
  if (it == c->tallies.end()) return {};
  return {it->second.running, it->second.pending};
}

std::set<std::string, std::less<>> PlacementIndex::taskGroups(const std::string& cluster, const std::string& instanceId) {
  Cluster* c = find(cluster);
  std::lock_guard lock(c->dataMu);
  std::set<std::string, std::less<>> out;
  auto it = c->tallies.find(instanceId);
  if (it == c->tallies.end()) return out;
  // Groups are few (one per service or family): a reverse scan of the interned names is cheap.
  for (const auto& [name, id] : c->snapshot.groupIds)
    for (const auto& [g, n] : it->second.groups)
      if (g == id && n > 0) out.insert(name);
  return out;
}

scheduler::Resources toScheduler(const InstanceResources& r) {
  scheduler::Resources out;
  out.cpu = r.cpu;
  out.memory = r.memory;
  out.ports = sortedPorts(r.ports);
  out.portsUdp = sortedPorts(r.portsUdp);
  out.gpus = static_cast<std::int64_t>(r.gpus.size());
  return out;
}

scheduler::Resources toScheduler(const TaskDemand& d) {
  scheduler::Resources out;
  out.cpu = d.cpu;
  out.memory = d.memory;
  out.ports = sortedPorts(d.ports);
  out.portsUdp = sortedPorts(d.portsUdp);
  out.gpus = d.gpus;
  return out;
}

}  // namespace berth::control
