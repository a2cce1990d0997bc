#include "control/service_task_index.h"

#include <algorithm>

#include "control/json_fields.h"
#include "control/keys.h"

namespace berth::control {
namespace {

using nlohmann::json;

double timeOr0(const json& j, const char* field) {
  auto it = j.find(field);
  return it != j.end() && it->is_number() ? it->get<double>() : 0;
}

bool sameTask(const scheduler::ServiceTask& a, const scheduler::ServiceTask& b) {
  return a.id == b.id && a.deploymentId == b.deploymentId && a.lastStatus == b.lastStatus &&
         a.desiredStatus == b.desiredStatus && a.healthStatus == b.healthStatus && a.healthChecked == b.healthChecked &&
         a.instanceId == b.instanceId && a.createdAt == b.createdAt && a.startedAt == b.startedAt &&
         a.healthyAt == b.healthyAt && a.stoppedAt == b.stoppedAt && a.stopCode == b.stopCode &&
         a.stoppedReason == b.stoppedReason;
}

// "<prefix><cluster>/<rest>" → (cluster, rest); cluster names hold no '/'.
std::optional<std::pair<std::string, std::string>> splitScoped(const std::string& key, std::string_view prefix) {
  if (key.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  const auto slash = key.find('/', prefix.size());
  if (slash == std::string::npos) return std::nullopt;
  return std::make_pair(key.substr(prefix.size(), slash - prefix.size()), key.substr(slash + 1));
}

bool placementFactsDiffer(const json& a, const json& b) {
  for (const char* f : {"status", "agentConnected", "attributes"}) {
    auto ia = a.find(f), ib = b.find(f);
    const bool hasA = ia != a.end(), hasB = ib != b.end();
    if (hasA != hasB || (hasA && *ia != *ib)) return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> serviceNameOfGroup(const std::string& group) {
  constexpr std::string_view kPrefix = "service:";
  if (group.size() <= kPrefix.size() || group.compare(0, kPrefix.size(), kPrefix) != 0) return std::nullopt;
  return group.substr(kPrefix.size());
}

scheduler::ServiceTask serviceTaskFromDoc(const json& task) {
  scheduler::ServiceTask t;
  static const json kNone = json::object();
  auto berth = task.find("berth");
  const json& b = berth != task.end() ? *berth : kNone;
  t.id = stringOr(b, "id", "");
  t.deploymentId = stringOr(task, "startedBy", "");
  t.lastStatus = stringOr(task, "lastStatus", "");
  t.desiredStatus = stringOr(task, "desiredStatus", "");
  t.healthStatus = stringOr(task, "healthStatus", "UNKNOWN");
  const json essential = b.value("essential", json::array());
  for (const auto& name : b.value("healthChecked", json::array()))
    if (std::find(essential.begin(), essential.end(), name) != essential.end()) t.healthChecked = true;
  t.instanceId = stringOr(b, "instanceId", "");
  t.createdAt = timeOr0(task, "createdAt");
  t.startedAt = timeOr0(task, "startedAt");
  t.healthyAt = timeOr0(b, "healthyAt");
  t.stoppedAt = t.lastStatus == "STOPPED" ? timeOr0(task, "stoppedAt") : 0;
  t.stopCode = stringOr(task, "stopCode", "");
  t.stoppedReason = stringOr(task, "stoppedReason", "");
  return t;
}

ServiceTaskIndex::ServiceTaskIndex(StateCache& cache) : cache_(cache) {
  observerId_ = cache_.addObserver(
      [this](const std::string& key, const CachedObject* before, const CachedObject* after) { observe(key, before, after); });
}

ServiceTaskIndex::~ServiceTaskIndex() { cache_.removeObserver(observerId_); }

void ServiceTaskIndex::observe(const std::string& key, const CachedObject* before, const CachedObject* after) {
  if (auto t = splitScoped(key, keys::kTasks)) observeTask(t->first, t->second, before, after);
  else if (auto s = splitScoped(key, keys::kServices)) observeService(s->first, s->second, after);
  else if (auto i = splitScoped(key, keys::kContainerInstances)) observeInstance(i->first, before, after);
}

void ServiceTaskIndex::observeTask(const std::string& cluster, const std::string& id, const CachedObject* before,
                                   const CachedObject* after) {
  // A task's group never changes, so before and after name the same service.
  const CachedObject* any = after ? after : before;
  auto it = any->doc.find("group");
  if (it == any->doc.end() || !it->is_string()) return;
  auto name = serviceNameOfGroup(it->get_ref<const std::string&>());
  if (!name) return;
  ServiceKey key{cluster, *name};
  std::lock_guard lock(mu_);
  Service& service = services_[key];
  if (!after) {
    if (service.tasks.erase(id)) markDirtyLocked(key);
    return;
  }
  scheduler::ServiceTask task = serviceTaskFromDoc(after->doc);
  if (task.id.empty()) task.id = id;
  auto [pos, added] = service.tasks.try_emplace(id, task);
  if (!added) {
    if (sameTask(pos->second, task)) return;
    pos->second = std::move(task);
  }
  markDirtyLocked(key);
}

void ServiceTaskIndex::observeService(const std::string& cluster, const std::string& name, const CachedObject* after) {
  ServiceKey key{cluster, name};
  std::lock_guard lock(mu_);
  if (!after) {
    auto it = services_.find(key);
    if (it != services_.end()) {
      it->second.live = false;
      if (it->second.tasks.empty()) services_.erase(it);
    }
    return;
  }
  const std::string status = stringOr(after->doc, "status", "");
  services_[key].live = status == "ACTIVE" || status == "DRAINING";
  markDirtyLocked(key);
}

void ServiceTaskIndex::observeInstance(const std::string& cluster, const CachedObject* before, const CachedObject* after) {
  // Launches and stops rewrite remainingResources on every task: only what
  // placement and liveness read wakes the services.
  if (before && after && !placementFactsDiffer(before->doc, after->doc)) return;
  std::lock_guard lock(mu_);
  for (auto it = services_.lower_bound(ServiceKey{cluster, ""}); it != services_.end() && it->first.cluster == cluster;
       ++it)
    if (it->second.live) markDirtyLocked(it->first);
}

void ServiceTaskIndex::markDirtyLocked(const ServiceKey& service) {
  if (dirty_.insert(service).second && dirty_.size() == 1) cv_.notify_all();
}

void ServiceTaskIndex::markDirty(const ServiceKey& service) {
  std::lock_guard lock(mu_);
  markDirtyLocked(service);
}

std::vector<scheduler::ServiceTask> ServiceTaskIndex::tasksOf(const ServiceKey& service) const {
  std::vector<scheduler::ServiceTask> out;
  std::lock_guard lock(mu_);
  auto it = services_.find(service);
  if (it == services_.end()) return out;
  out.reserve(it->second.tasks.size());
  for (const auto& [id, t] : it->second.tasks) out.push_back(t);
  // Creation order, so plans (and the tests reading them) are reproducible.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.createdAt != b.createdAt ? a.createdAt < b.createdAt : a.id < b.id;
  });
  return out;
}

std::vector<ServiceKey> ServiceTaskIndex::liveServices() const {
  std::vector<ServiceKey> out;
  std::lock_guard lock(mu_);
  for (const auto& [key, service] : services_)
    if (service.live) out.push_back(key);
  return out;
}

std::set<ServiceKey> ServiceTaskIndex::waitDirty(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return !dirty_.empty() || woken_; });
  woken_ = false;
  return std::exchange(dirty_, {});
}

void ServiceTaskIndex::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

}  // namespace berth::control
