#include "agent/registry_access.h"

#include <regex>

#include "common/base64.h"
#include "common/log.h"

namespace berth::agent {

bool isEcrRegistryHost(std::string_view registry) {
  static const std::regex kEcr(R"([0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?)");
  return std::regex_match(registry.begin(), registry.end(), kEcr);
}

RegistryAccess::RegistryAccess(ServerClient& client, const Clock& clock) : client_(client), clock_(clock) {
  const auto& ep = client_.endpoint();
  std::string host = ep.host.find(':') != std::string::npos ? "[" + ep.host + "]" : ep.host;
  serverHost_ = host + ":" + std::to_string(ep.port);
  serverUrl_ = "http://" + serverHost_;
}

bool RegistryAccess::isOwn(std::string_view registry) const {
  return isEcrRegistryHost(registry) || registry == serverHost_;
}

std::optional<std::string> RegistryAccess::endpointFor(std::string_view registry) const {
  if (isOwn(registry)) return serverUrl_;
  return std::nullopt;
}

std::optional<images::RegistryCredentials> RegistryAccess::credentialsFor(std::string_view registry) {
  if (!isOwn(registry)) return std::nullopt;
  std::lock_guard lock(mu_);
  auto now = clock_.now();
  if (cached_ && now < renewAt_) return cached_;
  auto r = client_.call(kEcrTarget, "GetAuthorizationToken", nlohmann::json::object());
  if (!r.ok()) {
    log::warn("cannot get a registry login from the server", {{"error", r.error().message}});
    return cached_;  // maybe still valid; if not, the pull reports the registry's refusal
  }
  try {
    const auto& data = r->at("authorizationData").at(0);
    auto decoded = base64Decode(data.at("authorizationToken").get<std::string>());
    auto colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) throw std::runtime_error("authorizationToken is not base64(user:password)");
    cached_ = images::RegistryCredentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
    // Renew at half life so a long pull never starts with a nearly expired token.
    auto expires = std::chrono::system_clock::time_point(
        std::chrono::milliseconds(static_cast<long long>(data.at("expiresAt").get<double>() * 1000)));
    renewAt_ = now + (expires - now) / 2;
  } catch (const std::exception& e) {
    log::warn("the server's registry login is malformed", {{"error", e.what()}});
  }
  return cached_;
}

}  // namespace berth::agent
