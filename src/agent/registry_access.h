#pragma once
// How the agent reaches Berth's own registry. Task definitions name images the
// way ECR users write them — "<account>.dkr.ecr.<region>.amazonaws.com/app:1"
// (a repositoryUri) — or by the server's own "HOST:PORT/app:1". Both resolve to
// the server the agent is joined to, over plain http, and are pulled with the
// agent's own registry login (ECR GetAuthorizationToken, renewed before it
// expires). Other registries are left to the image store's normal rules.
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "agent/server_client.h"
#include "common/clock.h"
#include "images/image_store.h"

namespace berth::agent {

// "123456789012.dkr.ecr.eu-west-3.amazonaws.com" (also the .com.cn partition).
bool isEcrRegistryHost(std::string_view registry);

class RegistryAccess {
 public:
  RegistryAccess(ServerClient& client, const Clock& clock);

  // "http://host:port" when `registry` (as written in a reference) is Berth's.
  std::optional<std::string> endpointFor(std::string_view registry) const;
  // The login for Berth's registry (nullopt for others, or when the server
  // cannot issue one: the pull then fails with the registry's 401).
  std::optional<images::RegistryCredentials> credentialsFor(std::string_view registry);

 private:
  bool isOwn(std::string_view registry) const;

  ServerClient& client_;
  const Clock& clock_;
  std::string serverUrl_;    // "http://host:port"
  std::string serverHost_;   // "host:port" as a reference would spell it
  std::mutex mu_;
  std::optional<images::RegistryCredentials> cached_;
  std::chrono::system_clock::time_point renewAt_{};
};

}  // namespace berth::agent
