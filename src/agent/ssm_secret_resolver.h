#pragma once
// Resolves a task's container `secrets` from the server's SSM Parameter Store
// (GetParameters, WithDecryption) before its containers are created, as the
// ECS agent does with the execution role. valueFrom is a parameter name
// ("x", "/a/b"), optionally with a ":VERSION"/":LABEL" selector, or its ARN
// (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME; "parameter/a/b" is "/a/b").
// Names go at most 10 per call. A missing parameter fails the task with ECS's
// ResourceInitializationError wording, naming the parameters; Secrets Manager
// ARNs fail with a "not supported by Berth" error. Values are never logged
// and never appear in an error message.
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/server_client.h"
#include "agent/task_hooks.h"

namespace berth::agent {

// The one SSM call the resolver makes, so tests can fake the server.
class SsmParameterSource {
 public:
  virtual ~SsmParameterSource() = default;
  // GetParameters with `body` ({"Names": [...], "WithDecryption": true}); the GetParametersResult.
  virtual Result<nlohmann::json> getParameters(const nlohmann::json& body) = 0;
};

// SsmParameterSource over the agent's server connection (target AmazonSSM, signed as "ssm").
class ServerSsmParameterSource final : public SsmParameterSource {
 public:
  explicit ServerSsmParameterSource(ServerClient& client) : client_(client) {}
  Result<nlohmann::json> getParameters(const nlohmann::json& body) override {
    return client_.call(kSsmTarget, "GetParameters", body);
  }

 private:
  ServerClient& client_;
};

class SsmSecretResolver final : public SecretResolver {
 public:
  static constexpr std::size_t kMaxNamesPerCall = 10;  // GetParameters' limit

  // `region`: the server's region; an SSM ARN naming another region is refused.
  SsmSecretResolver(SsmParameterSource& source, std::string region) : source_(source), region_(std::move(region)) {}

  Result<std::vector<std::pair<std::string, std::string>>> resolve(const std::vector<ContainerSecret>& secrets,
                                                                     const TaskPlan& task) override;

 private:
  SsmParameterSource& source_;
  std::string region_;
};

// The GetParameters name for a valueFrom, or an error (Secrets Manager ARN,
// other region, malformed ARN). Exposed for tests.
Result<std::string> ssmNameForValueFrom(const std::string& valueFrom, const std::string& region);

}  // namespace berth::agent
