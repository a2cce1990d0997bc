#pragma once
// Stopping the tasks of a lost container instance (docs/dev/agent-protocol.md,
// Liveness): when an agent has not been heard from for the lost timeout, the
// server takes its word for nothing any more. Every task placed on the
// instance that is not STOPPED becomes STOPPED in the server's record
// (forceStopTaskDoc: containers STOPPED, stoppedReason as given, no stopCode —
// none of ECS's codes describes a lost instance), its reservation goes back to
// the instance, and the instance stays registered with agentConnected=false,
// so a returning agent reconnects and stops the orphaned containers itself.
#include <cstddef>
#include <string>
#include <vector>

#include "control/ecs_context.h"

namespace berth::control {

struct LostInstance {
  std::string cluster;
  std::string instanceId;
  std::vector<std::string> taskKeys;  // keys::task(...) of tasks placed on it (any status)
  std::string reason;                 // stoppedReason for its tasks
};

// The stoppedReason of a task on a lost instance.
std::string lostInstanceStopReason(const std::string& instanceId, std::int64_t silentSeconds);

// Marks the listed tasks STOPPED (those already STOPPED or gone are skipped),
// releases their resources and sets agentConnected=false on each instance
// that is still registered (an INACTIVE one is left alone: deregistration has
// dealt with it). Writes in batched transactions of at most `maxTasksPerTxn`
// tasks, each pinned with compare-on-revision on every document it writes
// (and rebuilt on conflict), so an instance's tasks and its remaining
// resources change together. Idempotent. Returns how many tasks it stopped.
Result<std::size_t> stopTasksOfLostInstances(EcsContext& ctx, const std::vector<LostInstance>& lost,
                                             std::size_t maxTasksPerTxn = 200);

}  // namespace berth::control
