#pragma once
// Tasks indexed by the container instance they are placed on, kept in step
// with the StateCache through its observer API. The agent channel reads an
// instance's task set from here instead of scanning the cluster's tasks, and
// learns which instances changed so it wakes only the long polls that wait
// for them.
//
// Per (cluster, container instance id) it keeps the keys of the tasks placed
// there (task documents carry berth.cluster and berth.instanceId), the
// latest modRevision of any of them, and the instance's ARN, status and
// agentConnected flag. Deleting a task (reaping a long-stopped
// one) removes its key but is not a change: the protocol shows a STOPPED task
// once, when it stops, and never again.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "control/state_cache.h"

namespace berth::control {

struct InstanceTaskSet {
  std::vector<std::string> taskKeys;  // keys::task(...), in key order
  std::int64_t latestRevision = 0;    // of any task on the instance (0: none yet)
};

// What a poller needs of the container instance document itself, mirrored so
// that a batched poll of 10,000 instances copies no documents.
struct InstanceView {
  bool registered = false;  // a container instance document exists
  std::string arn;
  std::string status;       // ACTIVE, DRAINING, INACTIVE, ...
  bool agentConnected = false;
  std::int64_t latestRevision = 0;  // as in InstanceTaskSet
};

class InstanceTasks {
 public:
  // Registers with the cache (replaying what it holds). The index's state is
  // shared with the observer, so destroying this object before the cache is
  // safe (the observer then does nothing useful but touches nothing freed).
  explicit InstanceTasks(StateCache& cache);
  ~InstanceTasks();
  InstanceTasks(const InstanceTasks&) = delete;
  InstanceTasks& operator=(const InstanceTasks&) = delete;

  InstanceTaskSet tasksOf(std::string_view cluster, std::string_view instanceId) const;
  std::int64_t latestRevision(std::string_view cluster, std::string_view instanceId) const;
  // One lock for many instances of one cluster (a batched poll).
  std::vector<InstanceView> views(std::string_view cluster, const std::vector<std::string>& instanceIds) const;

  // Called for every change that matters to an instance's poller: a task on
  // it written (revision = the task's modRevision), or the instance's own
  // status changing (registered, deregistered; revision = its modRevision).
  // It runs under the cache's write lock (see StateCache::addObserver): it
  // must be quick and must not call into the cache or into this index. One
  // listener; set it to nullptr before what it calls goes away.
  using Listener = std::function<void(const std::string& cluster, const std::string& instanceId, std::int64_t revision)>;
  void setListener(Listener listener);

  // The map key for (cluster, instance id), as the listener's callers may want one.
  static std::string slot(std::string_view cluster, std::string_view instanceId);

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace berth::control
