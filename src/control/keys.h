#pragma once
// Store key layout for ECS objects. Every object is one key whose value is a
// JSON document; key order gives list order, so ids/revisions are zero-padded.
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace berth::control::keys {

inline constexpr std::string_view kClusters = "ecs/clusters/";
inline constexpr std::string_view kTaskDefinitions = "ecs/taskdefs/";   // + family#revision(10 digits)
inline constexpr std::string_view kFamilies = "ecs/families/";          // + family → revision counter
// Later issues: objects scoped to a cluster live under these + cluster name + '/'.
inline constexpr std::string_view kServices = "ecs/services/";
inline constexpr std::string_view kTasks = "ecs/tasks/";
inline constexpr std::string_view kContainerInstances = "ecs/instances/";

inline std::string cluster(std::string_view name) { return std::string(kClusters).append(name); }
inline std::string family(std::string_view name) { return std::string(kFamilies).append(name); }
// '#' ends the family name: it sorts before every character a family may
// contain ([A-Za-z0-9_-]), so "web" lists before "web-api" as AWS orders them.
inline std::string familyRevisions(std::string_view family) {
  return std::string(kTaskDefinitions).append(family).append("#");
}
inline std::string taskDefinition(std::string_view family, std::int64_t revision) {
  char rev[24];
  std::snprintf(rev, sizeof rev, "%010lld", static_cast<long long>(revision));
  return familyRevisions(family).append(rev);
}
inline std::string clusterScoped(std::string_view kind, std::string_view cluster) {
  return std::string(kind).append(cluster).append("/");
}
// One container instance / task: clusterScoped(kind, cluster) + 32-hex id.
inline std::string containerInstance(std::string_view cluster, std::string_view id) {
  return clusterScoped(kContainerInstances, cluster).append(id);
}
inline std::string task(std::string_view cluster, std::string_view id) {
  return clusterScoped(kTasks, cluster).append(id);
}
// One service: clusterScoped(kServices, cluster) + serviceName.
inline std::string service(std::string_view cluster, std::string_view name) {
  return clusterScoped(kServices, cluster).append(name);
}

}  // namespace berth::control::keys
