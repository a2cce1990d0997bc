#pragma once
// WWW-Authenticate challenges (RFC 7235 §4.1) as registries send them, e.g.
//   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"
//   Basic realm="Registry Realm"
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace berth::images {

struct AuthChallenge {
  std::string scheme;                         // lowercased: "bearer", "basic"
  std::map<std::string, std::string> params;  // keys lowercased, values unquoted
  std::string param(const std::string& key) const {
    auto it = params.find(key);
    return it == params.end() ? std::string() : it->second;
  }
};

// Parses one header value, which may hold several challenges. Malformed parts are
// skipped rather than failing: the caller decides whether a usable one remains.
std::vector<AuthChallenge> parseWwwAuthenticate(std::string_view header);

}  // namespace berth::images
