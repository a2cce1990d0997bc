#pragma once
// ECS ARNs: building them from names and resolving "name or ARN" arguments.
#include <optional>
#include <string>
#include <string_view>

#include "control/ecs_context.h"

namespace berth::control {

struct ParsedArn {
  std::string partition, service, region, account;
  std::string resourceType;  // "cluster", "task-definition", ...
  std::string resource;      // everything after "<type>/"
};

std::optional<ParsedArn> parseArn(std::string_view arn);

std::string ecsArn(const AccountInfo& a, std::string_view resourceType, std::string_view resource);
inline std::string clusterArn(const AccountInfo& a, std::string_view name) { return ecsArn(a, "cluster", name); }
std::string taskDefinitionArn(const AccountInfo& a, std::string_view family, long long revision);

// "name" or "arn:...:cluster/name" → name. Empty input means the cluster "default".
// Returns nullopt if it is an ARN of something that is not a cluster, or of
// another account or region (which can't name one of our clusters).
std::optional<std::string> clusterNameFromRef(std::string_view ref, const AccountInfo& account);

// A new-format ECS id: 32 lowercase hex characters.
bool isEcsId(std::string_view s);

// The id of a cluster-scoped object named by its id or by its ARN
// ("arn:...:<resourceType>/<cluster>/<id>" or the legacy "<resourceType>/<id>").
// nullopt if the ARN is of another type or another cluster, or the id is malformed.
std::optional<std::string> clusterScopedIdFromRef(std::string_view ref, std::string_view cluster,
                                                  std::string_view resourceType);

}  // namespace berth::control
