#include "api/agent_api.h"

#include "api/ecs_api.h"
#include "control/task_role_grant.h"

namespace berth::api {

JsonService makeAgentService(control::AgentChannel& channel, TaskCredentialIssuer* issuer) {
  JsonService s;
  s.targetPrefix = kAgentTargetPrefix;
  s.signingName = "ecs";
  s.mapError = ecsError;
  // A long poll: parked in the channel without holding an HTTP worker.
  s.asyncOperations = {
      {"PollTasks",
       [&channel](const nlohmann::json& req, const SigV4Identity&, JsonDone done) {
         channel.pollTasks(req, std::move(done));
       }},
  };
  if (issuer != nullptr) {
    s.operations.emplace(
        "GetTaskCredentials",
        [&channel, issuer](const nlohmann::json& req, const SigV4Identity&) -> Result<nlohmann::json> {
          auto grant = control::taskRoleForAgent(channel.context(), req);
          if (!grant.ok()) return grant.takeError();
          auto c = issuer->mint(grant->taskArn, grant->roleArn, kTaskCredentialLifetime);
          const auto exp = std::chrono::duration_cast<std::chrono::seconds>(c.expiration.time_since_epoch()).count();
          return nlohmann::json{{"taskArn", grant->taskArn},
                                {"roleArn", grant->roleArn},
                                {"credentials",
                                 {{"accessKeyId", c.accessKeyId},
                                  {"secretAccessKey", c.secretAccessKey},
                                  {"sessionToken", c.sessionToken},
                                  {"expiration", exp}}}};
        });
  }
  return s;
}

}  // namespace berth::api
