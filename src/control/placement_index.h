#pragma once
// The server's placement view: per cluster, a scheduler::ClusterSnapshot of
// every container instance (status, agent, attributes, remaining resources,
// task counts per group) kept in step with the StateCache through an observer,
// so placing a task reads no JSON and scans no tasks.
//
// Launches are serialized per cluster through launches() (a BatchCombiner
// lane): one batch places every queued launch against the snapshot, marking
// what it placed in the snapshot itself so later launches of the batch see
// it, and commits them in one transaction. When that commit lands the
// observer rewrites the touched instances from their documents; when it does
// not, resync() does. Two batches of a cluster never overlap, so nothing else
// places against those marks.
//
// Each cluster's snapshot has a data lock, held briefly by the observer (under
// the cache's write lock) and by read(). Never call into the StateCache while
// holding it (read()'s callback must not).
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "control/batch_combiner.h"
#include "control/resources.h"
#include "control/state_cache.h"
#include "scheduler/placement.h"

namespace berth::control {

// One cluster's snapshot, as the data lock's holder sees it.
struct ClusterPlacementView {
  scheduler::ClusterSnapshot& snapshot;
  scheduler::PlacementMemo& memo;
  // Per snapshot index: the instance's store key and the modRevision the
  // snapshot reflects (launches pin their instance writes to it).
  const std::vector<std::string>& instanceKeys;
  const std::vector<std::int64_t>& instanceRevisions;
  std::optional<std::size_t> indexOf(const std::string& instanceId) const;
  const std::unordered_map<std::string, std::size_t>& byId;
};

class PlacementIndex {
 public:
  // Subscribes to `cache` (replaying what it holds). The cache must outlive the index.
  explicit PlacementIndex(StateCache& cache);
  ~PlacementIndex();
  PlacementIndex(const PlacementIndex&) = delete;
  PlacementIndex& operator=(const PlacementIndex&) = delete;

  // The per-cluster lanes launches are serialized (and batched) on.
  BatchCombiner& launches() { return launches_; }
  // Runs `fn` with the cluster's snapshot under its data lock. `fn` must not
  // call into the StateCache. A cluster with no instances has an empty snapshot.
  void read(const std::string& cluster, const std::function<void(ClusterPlacementView&)>& fn);
  // Rebuilds these instances from their cached documents and task tallies,
  // dropping what a launch batch marked in the snapshot but did not commit.
  void resync(const std::string& cluster, const std::vector<std::string>& instanceIds);

  // Tasks not STOPPED on an instance: RUNNING and the rest (PENDING and
  // friends), as DescribeContainerInstances counts them.
  struct TaskCounts {
    std::int64_t running = 0;
    std::int64_t pending = 0;
  };
  TaskCounts taskCounts(const std::string& cluster, const std::string& instanceId);
  // The groups of the tasks (not STOPPED) on an instance (task:group in filters).
  std::set<std::string, std::less<>> taskGroups(const std::string& cluster, const std::string& instanceId);

 private:
  struct Cluster;
  Cluster& clusterLocked(const std::string& name);  // holds mu_
  Cluster* find(const std::string& name);
  void observe(const std::string& key, const CachedObject* before, const CachedObject* after);

  StateCache& cache_;
  BatchCombiner launches_;
  std::uint64_t observerId_ = 0;
  std::mutex mu_;  // guards clusters_ (the map, not the clusters)
  std::unordered_map<std::string, std::unique_ptr<Cluster>> clusters_;
};

// Conversions between the control plane's resource types and the scheduler's.
scheduler::Resources toScheduler(const InstanceResources& r);
scheduler::Resources toScheduler(const TaskDemand& d);

}  // namespace berth::control
