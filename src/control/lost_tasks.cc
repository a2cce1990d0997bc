#include "control/lost_tasks.h"

#include <algorithm>

#include "control/committer.h"
#include "control/container_instance_ops.h"
#include "control/keys.h"
#include "control/resources.h"
#include "control/task_ops.h"

namespace berth::control {
namespace {

using nlohmann::json;

// A slice of one lost instance's tasks: [begin, end) of its taskKeys.
struct Slice {
  const LostInstance* instance;
  std::size_t begin;
  std::size_t end;
};

// Cuts the work into transactions of at most `maxTasks` tasks; small
// instances share a transaction, a large one is split over several.
std::vector<std::vector<Slice>> batches(const std::vector<LostInstance>& lost, std::size_t maxTasks) {
  std::vector<std::vector<Slice>> out(1);
  std::size_t inBatch = 0;
  for (const auto& inst : lost) {
    std::size_t from = 0;
    do {
      if (inBatch >= maxTasks) {
        out.emplace_back();
        inBatch = 0;
      }
      const std::size_t n = std::min(inst.taskKeys.size() - from, maxTasks - inBatch);
      out.back().push_back(Slice{&inst, from, from + n});
      from += n;
      inBatch += std::max<std::size_t>(n, 1);  // an instance with no tasks still costs a write
    } while (from < inst.taskKeys.size());
  }
  return out;
}

}  // namespace

std::string lostInstanceStopReason(const std::string& instanceId, std::int64_t silentSeconds) {
  return "Task stopped because its container instance " + instanceId +
         " was lost: its agent has not been heard from for " + std::to_string(silentSeconds) + " seconds.";
}

Result<std::size_t> stopTasksOfLostInstances(EcsContext& ctx, const std::vector<LostInstance>& lost,
                                             std::size_t maxTasksPerTxn) {
  maxTasksPerTxn = std::max<std::size_t>(maxTasksPerTxn, 1);
  std::size_t stopped = 0;
  for (const auto& batch : batches(lost, maxTasksPerTxn)) {
    std::size_t inThisTxn = 0;
    auto txn = commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
      const double now = ctx.clock.epochSeconds();
      inThisTxn = 0;
      store::TxnRequest txn;
      for (const auto& slice : batch) {
        const LostInstance& inst = *slice.instance;
        const std::string instanceKey = keys::containerInstance(inst.cluster, inst.instanceId);
        auto instance = ctx.cache.get(instanceKey);
        if (!instance || instance->doc.value("status", "") == "INACTIVE") continue;
        json instanceDoc = instance->doc;
        auto remaining = remainingResourcesOf(instanceDoc);
        const auto registered = registeredResourcesOf(instanceDoc);
        bool released = false;
        for (std::size_t i = slice.begin; i < slice.end; ++i) {
          const std::string& taskKey = inst.taskKeys[i];
          auto task = ctx.cache.get(taskKey);
          if (!task) continue;  // reaped meanwhile
          const json& b = task->doc.value("berth", json::object());
          if (b.value("instanceId", "") != inst.instanceId) continue;  // not this instance's (index raced a write)
          json doc = task->doc;
          if (!forceStopTaskDoc(doc, now, inst.reason)) continue;  // already STOPPED
          release(remaining, registered, TaskDemand::fromJson(b.value("reserved", json::object())));
          released = true;
          ++inThisTxn;
          txn.compares.push_back({taskKey, task->modRevision});
          txn.ops.push_back(store::Op::put(taskKey, doc.dump()));
        }
        if (!released && !instanceDoc.value("agentConnected", false)) continue;  // nothing to write
        if (released) setRemainingResources(instanceDoc, remaining);
        instanceDoc["agentConnected"] = false;
        instanceDoc["version"] = instanceDoc.value("version", std::int64_t{0}) + 1;
        txn.compares.push_back({instanceKey, instance->modRevision});
        txn.ops.push_back(store::Op::put(instanceKey, instanceDoc.dump()));
      }
      return txn;
    });
    if (!txn.ok()) return txn.takeError();
    stopped += inThisTxn;
  }
  return stopped;
}

}  // namespace berth::control
