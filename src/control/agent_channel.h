#pragma once
// The server side of the agent's task channel (docs/dev/agent-protocol.md):
// PollTasks long polls (single-instance and batched) and agent liveness.
//
// Long polls are parked, not blocked: a poll with nothing to report registers
// a waiter {instances, sinceVersion, deadline, done} and returns; a change to
// a task of one of its instances (or to an instance's status) wakes it, seen
// through the InstanceTasks index (no cluster scan), and one channel thread
// answers woken and expired waiters. So 10,000 waiting instances hold no
// thread and cost nothing while idle.
//
// Liveness (docs/dev/agent-protocol.md, Liveness) — the exact rule:
//  - A heartbeat is the arrival (the start) of any poll, single or batched,
//    listing the instance. It is recorded in memory only (lastSeen), never
//    written to the store. The end of a poll is not one: a poll that ends at
//    its deadline says nothing about its agent (an agent killed mid-poll
//    would look alive up to maxWait longer), and a live agent starts its
//    next poll as soon as one ends.
//  - An instance is disconnected when no heartbeat came for disconnectAfter
//    (= min(60 s, lostAfter)): the sweep sets its stored agentConnected=false.
//  - It is lost when no heartbeat came for lostAfter (the server's
//    --instance-lost-timeout): the sweep stops every task on it that is not
//    STOPPED, releases their resources and leaves the instance registered
//    (lost_tasks.h), so its agent can come back.
//  - Both decisions read the last heartbeat time alone. A parked poll does
//    not keep an instance alive: a live agent's polls end and restart at
//    least every maxWait (20 s), while a poll of an agent that died stays
//    parked until its deadline; so the silence of a live agent never exceeds
//    maxWait plus one round trip, under the 30 s minimum lost timeout, and an
//    agent that dies is lost at most T (plus one sweep period) after it died.
//  - An instance not heard from since this server started is given the full
//    windows from the server's first sweep that sees it (a restarted server
//    must not declare every instance lost at once).
//  - A poll from an instance stored as disconnected sets agentConnected=true
//    (one transaction for all the instances of a batched poll); tasks stopped
//    while it was lost stay STOPPED and the poll shows them to the agent,
//    which stops their containers.
// Placement and DescribeContainerInstances read the stored flag, so they need
// no access to this object, and a restarted server starts from the last known
// state.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/ecs_context.h"
#include "control/instance_tasks.h"

namespace berth::control {

struct AgentChannelOptions {
  // Longest wait a poll may ask for (protocol: waitSeconds <= 20).
  std::chrono::seconds maxWait{20};
  // An agent not heard from for this long is marked disconnected (3 polls).
  // livenessOptions() keeps it <= lostAfter.
  std::chrono::seconds disconnectAfter{60};
  // Longest the channel thread sleeps between deadline checks (so a wait
  // clock that is not the system clock is still followed).
  std::chrono::milliseconds waitSlice{250};
  // Most instances one batched poll may list.
  std::size_t maxBatch = 10000;
  // An agent not heard from for this long is lost and its tasks are stopped.
  std::chrono::seconds lostAfter{180};
};

// The server's --instance-lost-timeout: the default and the smallest allowed
// (the agent's longest poll is 20 s, so a shorter timeout could declare a
// live agent lost between two of its polls).
inline constexpr std::chrono::seconds kDefaultInstanceLostTimeout{180};
inline constexpr std::chrono::seconds kMinInstanceLostTimeout{30};

// Options for a lost timeout: lostAfter = lostTimeout, disconnectAfter =
// min(60 s, lostTimeout).
AgentChannelOptions livenessOptions(std::chrono::seconds lostTimeout);

// What one liveness sweep did.
struct LivenessSweep {
  std::size_t disconnected = 0;   // instances newly marked agentConnected=false
  std::size_t lostInstances = 0;  // lost instances whose tasks it stopped (or tried to)
  std::size_t tasksStopped = 0;
};

class AgentChannel {
 public:
  // Answers a poll exactly once, possibly later and from the channel's thread.
  using PollDone = std::function<void(Result<nlohmann::json>)>;

  // `waitClock` times long-poll deadlines (tests pass a SystemClock while
  // ctx.clock is fake); `ctx.clock` times heartbeats and liveness. Builds its
  // own InstanceTasks index on ctx.cache and starts the channel thread.
  AgentChannel(EcsContext& ctx, const Clock& waitClock, AgentChannelOptions options = {});
  explicit AgentChannel(EcsContext& ctx, AgentChannelOptions options = {}) : AgentChannel(ctx, ctx.clock, options) {}
  ~AgentChannel();  // shutdown(), then stops the thread

  // BerthAgentService_V1.PollTasks.
  // Single form: {"cluster", "containerInstance", "sinceVersion",
  // "waitSeconds"} → {"version", "containerInstanceArn",
  // "containerInstanceStatus", "tasks"}. Answers at once when a task of the
  // instance changed after sinceVersion (or the instance is INACTIVE), else
  // after waitSeconds with version == sinceVersion. `tasks` is always the
  // instance's full set: every task not yet STOPPED, plus STOPPED tasks that
  // changed after sinceVersion; each is the DescribeTasks Task (with tags)
  // plus "taskDefinition" (the full TaskDefinition).
  // Batched form: "containerInstances" (1..maxBatch ARNs or ids of the
  // cluster) instead of "containerInstance" → {"version", "instances": [{
  // "containerInstanceArn", "containerInstanceStatus", "tasks"}]} listing only
  // the instances that changed (or are INACTIVE); after waitSeconds with no
  // change, version == sinceVersion and no instances.
  // Invalid input answers at once, before `done` could be stored.
  void pollTasks(const nlohmann::json& request, PollDone done);
  // Blocking wrapper (tests, tools): waits for the answer.
  Result<nlohmann::json> pollTasks(const nlohmann::json& request);

  // The liveness sweep (see the rule above); the server's housekeeping calls
  // it every 2 s. Cost: one pass over the cached container instance documents
  // (no task reads) plus, for each lost instance with a task change since its
  // last sweep, its tasks from the instance index.
  LivenessSweep sweepLiveness();
  // sweepLiveness().disconnected (lost instances included).
  std::size_t markDisconnectedAgents() { return sweepLiveness().disconnected; }

  // Answers every parked poll with no change and makes new polls answer at
  // once. Call before stopping the HTTP server. Idempotent.
  void shutdown();

  // Answers parked polls whose deadline (on the wait clock) has passed. The
  // channel thread calls it; tests on a fake wait clock call it after advance().
  void expireDue();

  // The context the channel serves (other agent operations use it too).
  const EcsContext& context() const { return ctx_; }

  std::optional<std::chrono::steady_clock::time_point> lastSeenForTest(const std::string& instanceArn) const;
  std::size_t parkedForTest() const;

 private:
  struct Presence {
    std::chrono::steady_clock::time_point lastSeen;
    // The instance index's latestRevision when its tasks were last stopped as
    // lost (-1: not since its last heartbeat): a lost instance is only looked
    // at again when one of its tasks changed after that.
    std::int64_t lostSweptRevision = -1;
  };
  // One listed instance of a poll.
  struct Target {
    std::string id;
    std::string arn;
    bool reconnect = false;  // stored agentConnected=false (and not INACTIVE) when the poll arrived
  };
  struct Waiter {
    std::uint64_t id = 0;
    std::string cluster;
    std::vector<Target> targets;
    bool batched = false;
    bool changedOnly = false;  // tasks: only those changed after `since`
    std::int64_t since = 0;
    std::chrono::steady_clock::time_point deadline;
    PollDone done;
    bool woken = false;  // queued in woken_ (guarded by mu_)
  };
  using WaiterPtr = std::shared_ptr<Waiter>;

  Result<WaiterPtr> parse(const nlohmann::json& request, std::chrono::milliseconds& wait) const;
  Status connectAgents(const Waiter& w) const;
  void heartbeat(const Waiter& w);
  // The answer as of now: the changed or INACTIVE instances (for the single
  // form its one instance with its full set), or nullopt when nothing changed
  // and `force` is false (force: the "no change" answer at a deadline).
  std::optional<nlohmann::json> answer(const Waiter& w, bool force) const;
  void finish(const WaiterPtr& w, nlohmann::json response);
  void park(const WaiterPtr& w);
  WaiterPtr takeLocked(std::uint64_t id);  // holds mu_; nullptr if already taken
  void onInstanceChanged(const std::string& cluster, const std::string& instanceId, std::int64_t revision);
  void answerWoken();
  void run();

  EcsContext& ctx_;
  const Clock& waitClock_;
  const AgentChannelOptions options_;
  InstanceTasks index_;

  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::unordered_map<std::string, Presence> presence_;  // by containerInstanceArn
  std::uint64_t nextWaiterId_ = 1;
  std::unordered_map<std::uint64_t, WaiterPtr> waiters_;
  std::unordered_map<std::string, std::vector<std::uint64_t>> waitersBySlot_;  // InstanceTasks::slot → waiters
  std::multimap<std::chrono::steady_clock::time_point, std::uint64_t> deadlines_;
  std::vector<std::uint64_t> woken_;  // waiters with a change, for the thread to answer
  bool threadStop_ = false;
  std::thread thread_;
};

}  // namespace berth::control
