#include "control/arn.h"

#include <vector>

namespace berth::control {

std::optional<ParsedArn> parseArn(std::string_view arn) {
  // arn:partition:service:region:account:resource
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (int i = 0; i < 5; ++i) {
    auto colon = arn.find(':', start);
    if (colon == std::string_view::npos) return std::nullopt;
    parts.push_back(arn.substr(start, colon - start));
    start = colon + 1;
  }
  if (parts[0] != "arn") return std::nullopt;
  std::string_view rest = arn.substr(start);
  auto slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0) return std::nullopt;
  return ParsedArn{std::string(parts[1]), std::string(parts[2]), std::string(parts[3]), std::string(parts[4]),
                   std::string(rest.substr(0, slash)), std::string(rest.substr(slash + 1))};
}

std::string ecsArn(const AccountInfo& a, std::string_view resourceType, std::string_view resource) {
  std::string s = "arn:" + a.partition + ":ecs:" + a.region + ":" + a.accountId + ":";
  s.append(resourceType).append("/").append(resource);
  return s;
}

std::string taskDefinitionArn(const AccountInfo& a, std::string_view family, long long revision) {
  return ecsArn(a, "task-definition", std::string(family) + ":" + std::to_string(revision));
}

std::optional<std::string> clusterNameFromRef(std::string_view ref, const AccountInfo& account) {
  if (ref.empty()) return std::string("default");
  if (ref.rfind("arn:", 0) != 0) return std::string(ref);
  auto parsed = parseArn(ref);
  if (!parsed || parsed->service != "ecs" || parsed->resourceType != "cluster") return std::nullopt;
  if (parsed->account != account.accountId || parsed->region != account.region) return std::nullopt;
  return parsed->resource;
}

bool isEcsId(std::string_view s) {
  if (s.size() != 32) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c)) || std::isupper(static_cast<unsigned char>(c))) return false;
  return true;
}

std::optional<std::string> clusterScopedIdFromRef(std::string_view ref, std::string_view cluster,
                                                  std::string_view resourceType) {
  std::string_view id = ref;
  if (ref.rfind("arn:", 0) == 0) {
    auto parsed = parseArn(ref);
    if (!parsed || parsed->service != "ecs" || parsed->resourceType != resourceType) return std::nullopt;
    std::string_view rest = parsed->resource;
    auto slash = rest.rfind('/');
    if (slash != std::string_view::npos) {
      if (rest.substr(0, slash) != cluster) return std::nullopt;
      rest = rest.substr(slash + 1);
    }
    return isEcsId(rest) ? std::optional<std::string>(std::string(rest)) : std::nullopt;
  }
  if (!isEcsId(id)) return std::nullopt;
  return std::string(id);
}

}  // namespace berth::control
