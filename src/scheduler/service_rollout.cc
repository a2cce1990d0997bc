// One round of the service scheduler's starts and stops (reference/
// ecs-services.md §2, §6; ecs-scheduling.md §7): replace tasks that are lost,
// unhealthy or on instances going away, bring the PRIMARY deployment to its
// desired count and drain older deployments, never going above maxTotal live
// tasks nor (by our stops) below minHealthy healthy tasks.
#include <algorithm>
#include <map>
#include <set>

#include "scheduler/service_plan.h"
#include "scheduler/service_plan_internal.h"

namespace berth::scheduler::detail {
namespace {

// Why a task that keeps running may still have to go; lower goes first.
enum class StopRank { kInstanceGoing = 0, kOldDeployment = 1, kExcess = 2 };

struct Candidate {
  const ServiceTask* task = nullptr;
  StopRank rank = StopRank::kOldDeployment;
};

// Shared state of one round: the tasks already chosen to stop and how many
// tasks of the service each instance keeps.
class Round {
 public:
  explicit Round(const RoundInput& in) : in_(in) {
    for (const auto& i : in.input->instances) instances_[i.id] = &i;
    for (const auto& t : in.input->tasks) {
      if (!isLive(t)) continue;
      ++live_;
      if (isStopping(t)) ++stopping_;
      else ++load_[t.instanceId];
    }
  }

  const ServiceInstance* instance(const std::string& id) const {
    auto it = instances_.find(id);
    return it == instances_.end() ? nullptr : it->second;
  }
  bool usable(const std::string& instanceId) const {
    const ServiceInstance* i = instance(instanceId);
    return i && i->usable && !i->draining;
  }

  // Live tasks that still want to run and that this round has not stopped.
  std::vector<const ServiceTask*> kept() const {
    std::vector<const ServiceTask*> out;
    for (const auto& t : in_.input->tasks)
      if (isLive(t) && !isStopping(t) && !stopped_.contains(t.id)) out.push_back(&t);
    return out;
  }

  void stop(const ServiceTask& t, std::string reason) {
    if (!stopped_.insert(t.id).second) return;
    --load_[t.instanceId];
    result.stops.push_back({t.id, std::move(reason)});
  }

  // Stops that happen whatever the bounds say: tasks that never got going on
  // an instance that is going away, and tasks failing their health checks
  // past the grace period (they are not healthy, so the floor is unaffected).
  void stopLostAndUnhealthy() {
    const ServiceInput& input = *in_.input;
    for (const ServiceTask* t : kept()) {
      if (!usable(t->instanceId) && t->lastStatus != "RUNNING") {
        stop(*t, instanceStopReason(instance(t->instanceId), t->instanceId));
      } else if (isUnhealthy(*t) &&
                 input.now - t->startedAt >= input.settings.healthCheckGracePeriodSeconds) {
        stop(*t, kHealthCheckStopReason);
      }
    }
  }

  // ECS prefers to stop tasks on the busiest instance, then the newest.
  bool preferToStop(const ServiceTask& a, const ServiceTask& b) const {
    int la = load(a.instanceId), lb = load(b.instanceId);
    if (la != lb) return la > lb;
    if (a.createdAt != b.createdAt) return a.createdAt > b.createdAt;
    return a.id < b.id;
  }

  // Candidates that are not healthy go at once; healthy ones one by one while
  // the healthy count stays at or above minHealthy.
  void stopWithinFloor(std::vector<Candidate> candidates) {
    auto reasonFor = [&](const Candidate& c) {
      if (c.rank == StopRank::kInstanceGoing)
        return instanceStopReason(instance(c.task->instanceId), c.task->instanceId);
      return scalingStopReason(in_.primary->id);
    };
    std::stable_sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
      return isPending(*a.task) && !isPending(*b.task);
    });
    std::vector<Candidate> healthy;
    for (const auto& c : candidates) {
      if (isHealthy(*c.task)) healthy.push_back(c);
      else stop(*c.task, reasonFor(c));
    }
    int healthyCount = 0;
    for (const ServiceTask* t : kept())
      if (isHealthy(*t)) ++healthyCount;
    while (!healthy.empty() && healthyCount - 1 >= in_.minHealthy) {
      auto best = std::min_element(healthy.begin(), healthy.end(), [&](const Candidate& a, const Candidate& b) {
        if (a.rank != b.rank) return a.rank < b.rank;
        return preferToStop(*a.task, *b.task);
      });
      stop(*best->task, reasonFor(*best));
      healthy.erase(best);
      --healthyCount;
    }
  }

  // The tasks to stop among `tasks` so that `keep` remain: pending first,
  // then not yet healthy, then by preferToStop (counting the ones already
  // picked as gone, so a scale-in spreads over the busiest instances).
  std::vector<const ServiceTask*> excess(std::vector<const ServiceTask*> tasks, int keep) {
    auto badness = [](const ServiceTask& t) { return isPending(t) ? 0 : isHealthy(t) ? 2 : 1; };
    std::vector<const ServiceTask*> out;
    std::map<std::string, int> savedLoad = load_;
    while (static_cast<int>(tasks.size()) > keep) {
      auto pick = std::min_element(tasks.begin(), tasks.end(), [&](const ServiceTask* a, const ServiceTask* b) {
        if (badness(*a) != badness(*b)) return badness(*a) < badness(*b);
        return preferToStop(*a, *b);
      });
      --load_[(*pick)->instanceId];
      out.push_back(*pick);
      tasks.erase(pick);
    }
    load_ = std::move(savedLoad);
    return out;
  }

  // Nothing to do this round although the deployment has work left, and
  // nothing under way (pending, stopping, awaiting health) that could unblock it.
  bool stuck(bool workLeft) const {
    if (!workLeft || !result.launches.empty() || !result.stops.empty()) return false;
    if (!in_.launchesAllowed || !in_.drainOld || stopping_ > 0) return false;
    for (const ServiceTask* t : kept())
      if (!isHealthy(*t)) return false;
    return true;
  }

  int live() const { return live_; }
  bool hasLiveTaskOn(const std::string& instanceId) const {
    for (const auto& t : in_.input->tasks)
      if (isLive(t) && t.instanceId == instanceId) return true;
    return false;
  }

  RoundResult result;

 private:
  int load(const std::string& instanceId) const {
    auto it = load_.find(instanceId);
    return it == load_.end() ? 0 : it->second;
  }

  const RoundInput& in_;
  std::map<std::string, const ServiceInstance*> instances_;
  std::map<std::string, int> load_;  // kept tasks per instance
  std::set<std::string> stopped_;
  int live_ = 0;
  int stopping_ = 0;
};

}  // namespace

RoundResult planReplicaRound(const RoundInput& in) {
  Round round(in);
  round.stopLostAndUnhealthy();
  const std::string& primaryId = in.primary->id;

  std::vector<Candidate> candidates;
  std::vector<const ServiceTask*> primaryKept;
  for (const ServiceTask* t : round.kept()) {
    if (!round.usable(t->instanceId)) candidates.push_back({t, StopRank::kInstanceGoing});
    else if (t->deploymentId != primaryId) candidates.push_back({t, StopRank::kOldDeployment});
    else primaryKept.push_back(t);
  }
  int primaryWanted = static_cast<int>(primaryKept.size());
  for (const ServiceTask* t : round.excess(primaryKept, in.desired))
    candidates.push_back({t, StopRank::kExcess});
  bool workLeft = !candidates.empty() || primaryWanted < in.desired;
  if (!in.drainOld) std::erase_if(candidates, [](const Candidate& c) { return c.rank != StopRank::kInstanceGoing; });
  round.stopWithinFloor(std::move(candidates));

  int launch = std::min(in.desired - primaryWanted, in.maxTotal - round.live());
  if (in.launchesAllowed && launch > 0) round.result.launches.push_back({primaryId, launch, {}});
  round.result.stuck = round.stuck(workLeft);
  return std::move(round.result);
}

// DAEMON: one PRIMARY task on every eligible instance; tasks elsewhere stop
// at once, older deployments' tasks are swapped within the floor (the new
// task starts only once the old one on that instance is STOPPED).
RoundResult planDaemonRound(const RoundInput& in) {
  const ServiceInput& input = *in.input;
  Round round(in);
  for (const ServiceTask* t : round.kept()) {
    const ServiceInstance* i = round.instance(t->instanceId);
    if (!round.usable(t->instanceId)) round.stop(*t, instanceStopReason(i, t->instanceId));
    else if (!i->daemonEligible) round.stop(*t, placementConstraintStopReason(t->instanceId));
  }
  round.stopLostAndUnhealthy();
  const std::string& primaryId = in.primary->id;

  std::map<std::string, std::vector<const ServiceTask*>> primaryByInstance;
  std::vector<Candidate> candidates;
  for (const ServiceTask* t : round.kept()) {
    if (input.settings.deleting || t->deploymentId != primaryId)
      candidates.push_back({t, StopRank::kOldDeployment});
    else primaryByInstance[t->instanceId].push_back(t);
  }
  for (const auto& [instanceId, tasks] : primaryByInstance)
    for (const ServiceTask* t : round.excess(tasks, 1)) candidates.push_back({t, StopRank::kExcess});

  std::vector<std::string> launchOn;
  bool missing = false;
  if (!input.settings.deleting) {
    for (const auto& i : input.instances) {
      if (!i.daemonEligible || !round.usable(i.id) || primaryByInstance.contains(i.id)) continue;
      missing = true;
      if (!round.hasLiveTaskOn(i.id)) launchOn.push_back(i.id);
    }
  }
  std::sort(launchOn.begin(), launchOn.end());
  bool workLeft = !candidates.empty() || missing;
  if (!in.drainOld) candidates.clear();
  round.stopWithinFloor(std::move(candidates));
  if (in.launchesAllowed && !launchOn.empty())
    round.result.launches.push_back({primaryId, 0, std::move(launchOn)});
  round.result.stuck = round.stuck(workLeft);
  return std::move(round.result);
}

}  // namespace berth::scheduler::detail
