#pragma once
// Task placement (reference/ecs-scheduling.md §3-§5): one pure function used by
// RunTask/StartTask and by the service and daemon schedulers.
//
//   1. resource fit: CPU, MEMORY, PORTS, PORTS_UDP, GPU (ACTIVE + agent connected first);
//   2. constraints: distinctInstance, memberOf (cluster query language), required attributes;
//   3. strategies, chained in order: the first ranks, later ones break its ties.
//
// Pure: no I/O, no clock, randomness only through the Random passed in (same
// seed, same result). The snapshot is read-only; placing several tasks in one
// call accounts each placed task against the ones after it internally.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/random.h"
#include "common/result.h"
#include "scheduler/query_language.h"

namespace berth::scheduler {

// ECS limits (reference/ecs-scheduling.md §3).
inline constexpr std::size_t kMaxConstraints = 10;  // task definition + request combined
inline constexpr std::size_t kMaxStrategies = 5;

// Resources an instance has left, or a task takes. Ports are sorted and unique.
struct Resources {
  std::int64_t cpu = 0;     // CPU units
  std::int64_t memory = 0;  // MiB
  std::int64_t gpus = 0;    // GPU count
  std::vector<int> ports;     // TCP host ports (in use on an instance / static ones a task needs)
  std::vector<int> portsUdp;  // UDP host ports
};

// Task groups are interned per snapshot: counting a group on an instance is
// then a scan of a few integers, not string hashing (10,000 instances/placement).
using GroupId = std::uint32_t;

// One container instance as placement sees it.
struct Instance {
  std::string arn;
  std::string id;  // the container instance id (last ARN segment)
  std::string ec2InstanceId;
  std::string status;  // only ACTIVE takes new tasks
  bool agentConnected = false;
  std::string agentVersion;
  double registeredAt = 0;  // epoch seconds
  int runningTasksCount = 0;
  // Sorted by name; a value-less (capability) attribute has value "".
  std::vector<std::pair<std::string, std::string>> attributes;
  // Bumped by the owner whenever attributes or registration facts change, so a
  // PlacementMemo can cache static memberOf results per instance. Must never
  // repeat for another instance at the same index (use one counter per
  // snapshot). 0 = unversioned: never cached (correct, just slower).
  std::uint64_t attributesVersion = 0;
  Resources remaining;
  // Tasks not yet STOPPED on this instance, per group (only groups with count > 0).
  std::vector<std::pair<GroupId, int>> groupCounts;

  const std::string* attribute(std::string_view name) const;  // nullptr when absent
  int tasksInGroup(GroupId group) const;
};

struct ClusterSnapshot {
  std::vector<Instance> instances;
  std::unordered_map<std::string, GroupId> groupIds;  // every group named in groupCounts

  // The id of `group`, interning it if new.
  GroupId internGroup(const std::string& group);
  std::optional<GroupId> findGroup(const std::string& group) const;
};

struct Constraint {
  enum class Type { kDistinctInstance, kMemberOf };
  Type type = Type::kMemberOf;
  std::optional<Expression> expression;  // memberOf only
};

struct Strategy {
  enum class Type { kBinpack, kSpread, kRandom };
  Type type = Type::kRandom;
  // binpack: "cpu" | "memory"; spread: "instanceId" | "host" | "attribute:<name>"; random: "".
  std::string field;
};

// ECS's validation, with its messages (kInvalidParameter). `type` and
// `expression`/`field` as they arrive in the API's PlacementConstraint and
// PlacementStrategy shapes. Task-definition constraints may only be memberOf
// (parseConstraint's `fromTaskDefinition`).
Result<Constraint> parseConstraint(std::string_view type, std::optional<std::string_view> expression,
                                   bool fromTaskDefinition = false);
Result<Strategy> parseStrategy(std::string_view type, std::optional<std::string_view> field);

struct PlacementRequest {
  Resources demand;
  std::string group;  // the task group ("family:web", "service:web"); spread and distinctInstance count it
  std::vector<Constraint> constraints;  // task definition + request, combined
  // Empty: first fit in snapshot order (callers pass their default). Chained:
  // each breaks the ties of those before it; the lowest snapshot index breaks
  // what is left. random picks uniformly (with the Random passed in) among
  // what is still tied, so strategies after a random one have no effect.
  // spread(attribute:<name>): instances without the attribute form one
  // bucket of their own (balanced like any value), so they are neither
  // starved nor preferred. Buckets count the group's tasks on every instance
  // of the snapshot, candidates or not.
  std::vector<Strategy> strategies;
  // Value-less attributes the task needs (capabilities, e.g.
  // "com.amazonaws.ecs.capability.logging-driver.awslogs"); missing → ATTRIBUTE.
  std::vector<std::string> requiredAttributes;
  int count = 1;
  // StartTask: when non-empty only these instance indexes are candidates and
  // each takes at most one task (duplicates and indexes outside the snapshot
  // are ignored; candidates are considered in snapshot order). A named
  // instance that took its task is not listed in `rejections`.
  std::vector<std::size_t> onlyInstances;
};

// Why an instance could not take a task, as ECS names it in RunTask failures:
// "RESOURCE:CPU", "RESOURCE:MEMORY", "RESOURCE:PORTS", "RESOURCE:PORTS_UDP",
// "RESOURCE:GPU", "ATTRIBUTE" (memberOf, distinctInstance or a required
// attribute), "AGENT" (agent disconnected), "INACTIVE" (not ACTIVE).
struct Rejection {
  std::size_t instance;  // index into snapshot.instances
  std::string reason;
};

struct PlacementResult {
  // The instance index of each placed task, in order. Fewer than `count` when
  // no instance could take the next task (or, with onlyInstances, when every
  // named instance has taken its task).
  std::vector<std::size_t> placed;
  // When fewer than `count` were placed: every candidate instance with the
  // reason it could not take the next task. Empty when all were placed.
  std::vector<Rejection> rejections;
};

// Caches static memberOf results per (expression, instance, attributesVersion)
// across calls on the same evolving snapshot. Optional; not thread-safe (one
// per snapshot, used under the snapshot's lock).
class PlacementMemo {
 public:
  PlacementMemo();
  ~PlacementMemo();
  PlacementMemo(PlacementMemo&&) noexcept;
  PlacementMemo& operator=(PlacementMemo&&) noexcept;
  struct State;
  State& state() { return *state_; }

 private:
  std::unique_ptr<State> state_;
};

PlacementResult place(const PlacementRequest& request, const ClusterSnapshot& snapshot, Random& random,
                      PlacementMemo* memo = nullptr);

// Keeping a snapshot in step with what was placed or stopped (callers that
// hold a long-lived snapshot, e.g. the server's cluster index):
// take/give back a task's demand and its group count. Ports stay sorted and
// unique. runningTasksCount is left to the owner (it counts RUNNING tasks,
// which a reservation is not yet); within one place() call a placed task does
// count towards runningTasksCount for expressions.
void reserve(Instance& instance, const Resources& demand, GroupId group);
void release(Instance& instance, const Resources& demand, GroupId group);

}  // namespace berth::scheduler
