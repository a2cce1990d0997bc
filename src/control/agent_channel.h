#pragma once
// The server side of the agent's task channel (docs/dev/agent-protocol.md):
// PollTasks long polls and agent liveness.
//
// Liveness: each poll is a heartbeat recorded in memory (lastSeen, polls in
// flight) — no durable write per heartbeat. The stored instance's
// agentConnected changes only on a transition: a poll from an instance marked
// disconnected sets it true; markDisconnectedAgents() sets it false for
// agents silent for longer than `disconnectAfter`. Placement and
// DescribeContainerInstances read the stored flag, so they need no access to
// this object, and a restarted server starts from the last known state.
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "control/ecs_context.h"

namespace berth::control {

struct AgentChannelOptions {
  // Longest wait a poll may ask for (protocol: waitSeconds <= 20).
  std::chrono::seconds maxWait{20};
  // An agent not heard from for this long is marked disconnected (3 polls).
  std::chrono::seconds disconnectAfter{60};
  // Waits are sliced so shutdown() ends them promptly.
  std::chrono::milliseconds waitSlice{250};
};

class AgentChannel {
 public:
  // `waitClock` times long-poll deadlines (tests pass a SystemClock while
  // ctx.clock is fake); `ctx.clock` times heartbeats and liveness.
  AgentChannel(EcsContext& ctx, const Clock& waitClock, AgentChannelOptions options = {});
  explicit AgentChannel(EcsContext& ctx, AgentChannelOptions options = {}) : AgentChannel(ctx, ctx.clock, options) {}

  // BerthAgentService_V1.PollTasks. Request {"cluster", "containerInstance",
  // "sinceVersion", "waitSeconds"}; response {"version", "containerInstanceArn",
  // "containerInstanceStatus", "tasks"}. Returns at once when a task of the
  // instance changed after sinceVersion (or the instance is INACTIVE), else
  // after waitSeconds with version == sinceVersion. `tasks` is always the
  // instance's full set: every task not yet STOPPED, plus STOPPED tasks that
  // changed after sinceVersion; each is the DescribeTasks Task (with tags)
  // plus "taskDefinition" (the full TaskDefinition).
  Result<nlohmann::json> pollTasks(const nlohmann::json& request);

  // Sets agentConnected=false on instances whose agent has been silent longer
  // than disconnectAfter (an instance never seen since this server started
  // gets disconnectAfter from its first sweep). Returns how many were marked.
  std::size_t markDisconnectedAgents();

  // Ends every poll in progress (they answer with no change) and makes new
  // polls answer at once. Call before stopping the HTTP server.
  void shutdown();

  // The context the channel serves (other agent operations use it too).
  const EcsContext& context() const { return ctx_; }

  std::optional<std::chrono::steady_clock::time_point> lastSeenForTest(const std::string& instanceArn) const;

 private:
  struct Presence {
    std::chrono::steady_clock::time_point lastSeen;
    int pollsInFlight = 0;
  };
  void heartbeat(const std::string& arn, int inFlightDelta);

  EcsContext& ctx_;
  const Clock& waitClock_;
  const AgentChannelOptions options_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::unordered_map<std::string, Presence> presence_;  // by containerInstanceArn
};

}  // namespace berth::control
