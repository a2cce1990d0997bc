#pragma once
// What the service controller knows without reading the store: per service
// (cluster, name) the compact scheduler::ServiceTask of each of its tasks
// (tasks whose group is "service:<name>"), extracted from the task document
// once, when the cache applies it, so reconciles never parse task JSON; the
// services each cluster has; and which services need a reconcile (dirty).
//
// Fed by a StateCache observer: it runs under the cache's write lock, so it
// only copies a few fields and marks services dirty. A service is dirty when
// its document or one of its tasks changes, and every service of a cluster is
// when an instance of the cluster changes status, agentConnected or
// attributes (DAEMON placement and DRAINING replacement read them).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/state_cache.h"
#include "scheduler/service_plan.h"

namespace berth::control {

struct ServiceKey {
  std::string cluster;
  std::string name;
  auto operator<=>(const ServiceKey&) const = default;
};

// The fields of a stored task the service scheduler reads (task_ops.h layout).
scheduler::ServiceTask serviceTaskFromDoc(const nlohmann::json& task);
// "service:<name>" → name; nullopt for any other group.
std::optional<std::string> serviceNameOfGroup(const std::string& group);

class ServiceTaskIndex {
 public:
  // Subscribes to `cache` (replaying what it holds). The cache must outlive the index.
  explicit ServiceTaskIndex(StateCache& cache);
  ~ServiceTaskIndex();
  ServiceTaskIndex(const ServiceTaskIndex&) = delete;
  ServiceTaskIndex& operator=(const ServiceTaskIndex&) = delete;

  // A copy of the service's tasks (O(tasks of the service)).
  std::vector<scheduler::ServiceTask> tasksOf(const ServiceKey& service) const;
  // Services whose document is ACTIVE or DRAINING.
  std::vector<ServiceKey> liveServices() const;

  // Marks a service dirty (also used by the controller to come back later).
  void markDirty(const ServiceKey& service);
  // Waits until some service is dirty, wake() is called or `timeout` passes,
  // then takes and returns the dirty set.
  std::set<ServiceKey> waitDirty(std::chrono::milliseconds timeout);
  // Ends a waitDirty() early (shutdown).
  void wake();

 private:
  struct Service {
    bool live = false;  // document ACTIVE or DRAINING
    std::unordered_map<std::string, scheduler::ServiceTask> tasks;
  };
  void observe(const std::string& key, const CachedObject* before, const CachedObject* after);
  void observeTask(const std::string& cluster, const std::string& id, const CachedObject* before,
                   const CachedObject* after);
  void observeService(const std::string& cluster, const std::string& name, const CachedObject* after);
  void observeInstance(const std::string& cluster, const CachedObject* before, const CachedObject* after);
  void markDirtyLocked(const ServiceKey& service);

  StateCache& cache_;
  std::uint64_t observerId_ = 0;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;
  std::map<ServiceKey, Service> services_;
  std::set<ServiceKey> dirty_;
};

}  // namespace berth::control
