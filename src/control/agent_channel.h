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
// Liveness: each poll is a heartbeat recorded in memory (lastSeen, polls in
// flight, parked polls included) — no durable write per heartbeat. The stored
// instance's agentConnected changes only on a transition: a poll from
// instances marked disconnected sets it true (one transaction for all the
// instances of a batched poll); markDisconnectedAgents() sets it false for
// agents silent for longer than `disconnectAfter`. Placement and
// DescribeContainerInstances read the stored flag, so they need no access to
// this object, and a restarted server starts from the last known state.
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
  std::chrono::seconds disconnectAfter{60};
  // Longest the channel thread sleeps between deadline checks (so a wait
  // clock that is not the system clock is still followed).
  std::chrono::milliseconds waitSlice{250};
  // Most instances one batched poll may list.
  std::size_t maxBatch = 10000;
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

  // Sets agentConnected=false on instances whose agent has been silent longer
  // than disconnectAfter (an instance never seen since this server started
  // gets disconnectAfter from its first sweep). Returns how many were marked.
  std::size_t markDisconnectedAgents();

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
    int pollsInFlight = 0;
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
  void heartbeat(const Waiter& w, int inFlightDelta);
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
