#pragma once
// Building snapshots in tests and benchmarks.
#include <string>
#include <utility>
#include <vector>

#include "scheduler/placement.h"

namespace berth::scheduler::testing {

inline Instance makeInstance(std::string id, std::int64_t cpu, std::int64_t memory,
                             std::vector<std::pair<std::string, std::string>> attributes = {}) {
  Instance i;
  i.id = id;
  i.arn = "arn:aws:ecs:us-east-1:000000000000:container-instance/test/" + id;
  i.ec2InstanceId = "i-" + id;
  i.status = "ACTIVE";
  i.agentConnected = true;
  i.agentVersion = "1.70.0";
  i.remaining.cpu = cpu;
  i.remaining.memory = memory;
  std::sort(attributes.begin(), attributes.end());
  i.attributes = std::move(attributes);
  return i;
}

inline Constraint distinctInstance() { return Constraint{Constraint::Type::kDistinctInstance, std::nullopt}; }

inline Constraint memberOf(std::string_view expression) {
  auto parsed = Expression::parse(expression);
  if (!parsed.ok()) throw std::runtime_error("bad test expression: " + parsed.error().message);
  return Constraint{Constraint::Type::kMemberOf, std::move(parsed).value()};
}

inline Strategy binpack(std::string field) { return Strategy{Strategy::Type::kBinpack, std::move(field)}; }
inline Strategy spread(std::string field) { return Strategy{Strategy::Type::kSpread, std::move(field)}; }
inline Strategy randomStrategy() { return Strategy{Strategy::Type::kRandom, ""}; }

// Applies a placement to the snapshot as the server does between calls.
inline void applyPlacement(ClusterSnapshot& snapshot, const PlacementRequest& request, const PlacementResult& result) {
  GroupId group = snapshot.internGroup(request.group);
  for (std::size_t i : result.placed) {
    reserve(snapshot.instances[i], request.demand, group);
    ++snapshot.instances[i].runningTasksCount;
  }
}

}  // namespace berth::scheduler::testing
