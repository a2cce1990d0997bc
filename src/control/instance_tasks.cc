#include "control/instance_tasks.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>

#include "control/keys.h"

namespace berth::control {
namespace {

struct Placement {
  std::string cluster;
  std::string instanceId;
  bool operator==(const Placement&) const = default;
};

// Where a task document says it runs (newTaskDoc writes berth.cluster and
// berth.instanceId); nullopt for a task not placed on an instance.
std::optional<Placement> placementOf(const CachedObject* o) {
  if (!o) return std::nullopt;
  auto b = o->doc.find("berth");
  if (b == o->doc.end() || !b->is_object()) return std::nullopt;
  auto cluster = b->find("cluster");
  auto instance = b->find("instanceId");
  if (cluster == b->end() || instance == b->end() || !cluster->is_string() || !instance->is_string()) return std::nullopt;
  if (instance->get_ref<const std::string&>().empty()) return std::nullopt;
  return Placement{cluster->get<std::string>(), instance->get<std::string>()};
}

std::string statusOf(const CachedObject* o) {
  if (!o) return "";
  auto s = o->doc.find("status");
  return s != o->doc.end() && s->is_string() ? s->get<std::string>() : "";
}

// "ecs/instances/<cluster>/<id>" → (cluster, id).
std::optional<Placement> instanceFromKey(std::string_view key) {
  key.remove_prefix(keys::kContainerInstances.size());
  auto slash = key.rfind('/');
  if (slash == std::string_view::npos) return std::nullopt;
  return Placement{std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
}

}  // namespace

struct InstanceTasks::State {
  struct Entry {
    std::set<std::string> taskKeys;
    std::int64_t latestRevision = 0;
    bool registered = false;
    std::string arn;
    std::string status;
    bool agentConnected = false;
  };
  std::mutex mu;
  std::unordered_map<std::string, Entry> bySlot;
  Listener listener;

  // Holds mu.
  void notify(const Placement& p, std::int64_t revision) {
    if (listener) listener(p.cluster, p.instanceId, revision);
  }

  void onChange(const std::string& key, const CachedObject* before, const CachedObject* after) {
    if (key.starts_with(keys::kTasks)) {
      onTask(key, before, after);
    } else if (key.starts_with(keys::kContainerInstances)) {
      auto p = instanceFromKey(key);
      if (!p) return;
      std::lock_guard lock(mu);
      auto& e = bySlot[slot(p->cluster, p->instanceId)];
      e.registered = after != nullptr;
      e.arn = after ? after->doc.value("containerInstanceArn", "") : "";
      e.status = statusOf(after);
      e.agentConnected = after && after->doc.value("agentConnected", false);
      // Resources, attributes, agentConnected: not the poller's business.
      if (statusOf(before) != statusOf(after)) notify(*p, after ? after->modRevision : before->modRevision);
    }
  }

  void onTask(const std::string& key, const CachedObject* before, const CachedObject* after) {
    auto was = placementOf(before);
    auto now = placementOf(after);
    std::lock_guard lock(mu);
    if (was && !(now && *now == *was)) {
      auto it = bySlot.find(slot(was->cluster, was->instanceId));
      if (it != bySlot.end()) {
        it->second.taskKeys.erase(key);
        // Keep an entry with a revision: a moved-away task is a change the old
        // instance must see; an empty entry costs one small map node.
        if (after) it->second.latestRevision = std::max(it->second.latestRevision, after->modRevision);
        if (after) notify(*was, after->modRevision);
      }
    }
    if (now) {
      auto& e = bySlot[slot(now->cluster, now->instanceId)];
      e.taskKeys.insert(key);
      e.latestRevision = std::max(e.latestRevision, after->modRevision);
      notify(*now, after->modRevision);
    }
  }
};

std::string InstanceTasks::slot(std::string_view cluster, std::string_view instanceId) {
  return std::string(cluster).append("/").append(instanceId);
}

InstanceTasks::InstanceTasks(StateCache& cache) : state_(std::make_shared<State>()) {
  cache.addObserver([state = state_](const std::string& key, const CachedObject* before, const CachedObject* after) {
    state->onChange(key, before, after);
  });
}

InstanceTasks::~InstanceTasks() { setListener(nullptr); }

InstanceTaskSet InstanceTasks::tasksOf(std::string_view cluster, std::string_view instanceId) const {
  std::lock_guard lock(state_->mu);
  auto it = state_->bySlot.find(slot(cluster, instanceId));
  if (it == state_->bySlot.end()) return {};
  return InstanceTaskSet{{it->second.taskKeys.begin(), it->second.taskKeys.end()}, it->second.latestRevision};
}

std::int64_t InstanceTasks::latestRevision(std::string_view cluster, std::string_view instanceId) const {
  std::lock_guard lock(state_->mu);
  auto it = state_->bySlot.find(slot(cluster, instanceId));
  return it == state_->bySlot.end() ? 0 : it->second.latestRevision;
}

std::vector<InstanceView> InstanceTasks::views(std::string_view cluster, const std::vector<std::string>& ids) const {
  std::vector<InstanceView> out(ids.size());
  std::string key = slot(cluster, "");
  const std::size_t base = key.size();
  std::lock_guard lock(state_->mu);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    key.resize(base);
    key.append(ids[i]);
    auto it = state_->bySlot.find(key);
    if (it == state_->bySlot.end()) continue;
    const auto& e = it->second;
    out[i] = InstanceView{e.registered, e.arn, e.status, e.agentConnected, e.latestRevision};
  }
  return out;
}

void InstanceTasks::setListener(Listener listener) {
  std::lock_guard lock(state_->mu);
  state_->listener = std::move(listener);
}

}  // namespace berth::control
