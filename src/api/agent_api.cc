#include "api/agent_api.h"

#include "api/ecs_api.h"

namespace berth::api {

JsonService makeAgentService(control::AgentChannel& channel) {
  JsonService s;
  s.targetPrefix = kAgentTargetPrefix;
  s.signingName = "ecs";
  s.mapError = ecsError;
  s.operations = {
      {"PollTasks", [&channel](const nlohmann::json& req, const SigV4Identity&) { return channel.pollTasks(req); }},
  };
  return s;
}

}  // namespace berth::api
