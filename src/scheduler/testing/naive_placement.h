#pragma once
// The obvious placement, for tests and the benchmark: for every task, look at
// every candidate instance from scratch (strings, expressions, per-bucket
// maps), no memo, no precomputation. Same rules and same tie-breaks as
// place(), so property tests can demand identical results and the benchmark
// can show what place()'s precomputation buys.
#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "scheduler/placement.h"

namespace berth::scheduler::testing {

class NaiveFacts final : public InstanceFacts {
 public:
  NaiveFacts(const Instance& i, const ClusterSnapshot& s, const std::string& group, GroupId id)
      : i_(i), s_(s), group_(group), id_(id) {}
  const std::string* attribute(std::string_view name) const override { return i_.attribute(name); }
  std::string_view ec2InstanceId() const override { return i_.ec2InstanceId; }
  bool agentConnected() const override { return i_.agentConnected; }
  std::string_view agentVersion() const override { return i_.agentVersion; }
  double registeredAt() const override { return i_.registeredAt; }
  int runningTasksCount() const override { return i_.runningTasksCount; }
  bool hasTaskInGroup(std::string_view group) const override {
    if (group == group_) return i_.tasksInGroup(id_) > 0;
    auto id = s_.findGroup(std::string(group));
    return id && i_.tasksInGroup(*id) > 0;
  }

 private:
  const Instance& i_;
  const ClusterSnapshot& s_;
  const std::string& group_;
  GroupId id_;
};

inline std::string naiveReason(const Instance& in, const PlacementRequest& r, const ClusterSnapshot& s, GroupId id) {
  if (in.status != "ACTIVE") return "INACTIVE";
  if (!in.agentConnected) return "AGENT";
  if (in.remaining.cpu < r.demand.cpu) return "RESOURCE:CPU";
  if (in.remaining.memory < r.demand.memory) return "RESOURCE:MEMORY";
  for (int p : r.demand.ports)
    if (std::count(in.remaining.ports.begin(), in.remaining.ports.end(), p)) return "RESOURCE:PORTS";
  for (int p : r.demand.portsUdp)
    if (std::count(in.remaining.portsUdp.begin(), in.remaining.portsUdp.end(), p)) return "RESOURCE:PORTS_UDP";
  if (in.remaining.gpus < r.demand.gpus) return "RESOURCE:GPU";
  for (const auto& a : r.requiredAttributes)
    if (!in.attribute(a)) return "ATTRIBUTE";
  NaiveFacts facts(in, s, r.group, id);
  for (const auto& c : r.constraints) {
    if (c.type == Constraint::Type::kDistinctInstance && in.tasksInGroup(id) > 0) return "ATTRIBUTE";
    if (c.type == Constraint::Type::kMemberOf && c.expression && !c.expression->matches(facts)) return "ATTRIBUTE";
  }
  return "";
}

inline PlacementResult naivePlace(const PlacementRequest& r, const ClusterSnapshot& s, Random& random) {
  auto found = s.findGroup(r.group);
  GroupId id = found ? *found : std::numeric_limits<GroupId>::max();
  std::unordered_map<std::size_t, Instance> touched;  // copies of instances that took a task in this call
  auto view = [&](std::size_t i) -> const Instance& {
    auto it = touched.find(i);
    return it == touched.end() ? s.instances[i] : it->second;
  };
  std::vector<std::size_t> candidates;
  if (r.onlyInstances.empty()) {
    for (std::size_t i = 0; i < s.instances.size(); ++i) candidates.push_back(i);
  } else {
    for (std::size_t i : r.onlyInstances)
      if (i < s.instances.size()) candidates.push_back(i);
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  }
  PlacementResult result;
  std::set<std::size_t> tookItsTask;
  for (int t = 0; t < r.count; ++t) {
    // Per-bucket task counts, recomputed from scratch.
    std::vector<std::map<std::string, long>> buckets;
    std::vector<bool> isRandom;
    for (const auto& st : r.strategies) {
      buckets.emplace_back();
      if (st.type == Strategy::Type::kSpread && st.field.rfind("attribute:", 0) == 0)
        for (std::size_t i = 0; i < s.instances.size(); ++i) {
          const std::string* v = view(i).attribute(st.field.substr(10));
          buckets.back()[v ? "=" + *v : "missing"] += view(i).tasksInGroup(id);
        }
    }
    auto keysOf = [&](const Instance& in) {
      std::vector<long> keys;
      for (std::size_t k = 0; k < r.strategies.size() && keys.size() < kMaxStrategies; ++k) {
        const auto& st = r.strategies[k];
        if (st.type == Strategy::Type::kRandom) break;
        if (st.type == Strategy::Type::kBinpack)
          keys.push_back(st.field == "cpu" ? in.remaining.cpu - r.demand.cpu : in.remaining.memory - r.demand.memory);
        else if (st.field.rfind("attribute:", 0) == 0) {
          const std::string* v = in.attribute(st.field.substr(10));
          keys.push_back(buckets[k][v ? "=" + *v : "missing"]);
        } else
          keys.push_back(in.tasksInGroup(id));
      }
      return keys;
    };
    bool anyRandom = std::any_of(r.strategies.begin(), r.strategies.end(),
                               [](const Strategy& st) { return st.type == Strategy::Type::kRandom; });
    std::vector<std::size_t> best;
    std::vector<long> bestKeys;
    for (std::size_t i : candidates) {
      if (tookItsTask.count(i)) continue;
      if (!naiveReason(view(i), r, s, id).empty()) continue;
      auto keys = keysOf(view(i));
      if (best.empty() || keys < bestKeys) {
        best = {i};
        bestKeys = keys;
      } else if (keys == bestKeys) {
        best.push_back(i);
      }
    }
    if (best.empty()) {
      for (std::size_t i : candidates)
        if (!tookItsTask.count(i)) result.rejections.push_back({i, naiveReason(view(i), r, s, id)});
      break;
    }
    std::size_t chosen = anyRandom ? best[random.next() % best.size()] : best.front();
    auto it = touched.try_emplace(chosen, s.instances[chosen]).first;
    reserve(it->second, r.demand, id);
    ++it->second.runningTasksCount;
    result.placed.push_back(chosen);
    if (!r.onlyInstances.empty()) tookItsTask.insert(chosen);  // StartTask: one task per named instance
  }
  return result;
}

}  // namespace berth::scheduler::testing
