#pragma once
// The agent's client for the server's public API: AWS JSON 1.1 over HTTP/1.1
// keep-alive, every request SigV4-signed (scope service "ecs", or "ecr" for the
// registry API). Thread-safe:
// concurrent calls use separate pooled connections, so a long poll never
// blocks a state report.
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/credentials.h"
#include "common/clock.h"
#include "common/result.h"

namespace berth::agent {

struct ServerEndpoint {
  std::string host;  // IP or name
  std::uint16_t port = 0;
  std::string region = "us-east-1";
  api::AwsCredentials credentials;
};

// Parses "http://host:port[/]" into an endpoint (https is not supported yet).
Result<ServerEndpoint> parseServerUrl(const std::string& url);

inline constexpr std::string_view kEcsTarget = "AmazonEC2ContainerServiceV20141113";
inline constexpr std::string_view kAgentTarget = "BerthAgentService_V1";
inline constexpr std::string_view kEcrTarget = "AmazonEC2ContainerRegistry_V20150921";
inline constexpr std::string_view kLogsTarget = "Logs_20140328";
inline constexpr std::string_view kSsmTarget = "AmazonSSM";

// The SigV4 scope service for a JSON 1.1 target prefix (the agent channel signs as "ecs").
constexpr std::string_view signingNameFor(std::string_view targetPrefix) {
  if (targetPrefix == kEcrTarget) return "ecr";
  if (targetPrefix == kLogsTarget) return "logs";
  if (targetPrefix == kSsmTarget) return "ssm";
  return "ecs";
}

class ServerClient {
 public:
  ServerClient(ServerEndpoint endpoint, const Clock& clock);
  ~ServerClient();

  // POSTs `body` to "<targetPrefix>.<operation>". On an AWS error response the
  // Error's context holds the AWS error type (e.g. "ClusterNotFoundException").
  // Transport failures are kUnavailable.
  Result<nlohmann::json> call(std::string_view targetPrefix, std::string_view operation, const nlohmann::json& body,
                              std::chrono::seconds timeout = std::chrono::seconds(30));

  const ServerEndpoint& endpoint() const { return endpoint_; }

  // Ends every call in flight (a long poll included) and makes later calls
  // fail fast with kUnavailable: used when the agent shuts down.
  void cancel();

 private:
  struct Connection;
  std::unique_ptr<Connection> takeConnection();
  void returnConnection(std::unique_ptr<Connection> c);

  ServerEndpoint endpoint_;
  const Clock& clock_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::set<Connection*> active_;
  bool cancelled_ = false;
};

}  // namespace berth::agent
