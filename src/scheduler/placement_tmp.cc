// TEMPORARY stand-in so main links while the placement engine (placement.cc)
// and the query language (query_language.cc) are written on their branches.
// Deleted when they merge.
#include <algorithm>

#include "scheduler/placement.h"

namespace berth::scheduler {

struct Expression::Node {};
Result<Expression> Expression::parse(std::string_view) {
  return Error::make(ErrorCode::kInvalidParameter, "memberOf expressions are not supported yet");
}
bool Expression::matches(const InstanceFacts&) const { return true; }
bool Expression::isStatic() const { return static_; }
bool Expression::readsTasks() const { return readsTasks_; }
const std::string& Expression::text() const { return text_; }

const std::string* Instance::attribute(std::string_view name) const {
  for (const auto& [k, v] : attributes)
    if (k == name) return &v;
  return nullptr;
}
int Instance::tasksInGroup(GroupId group) const {
  for (const auto& [g, n] : groupCounts)
    if (g == group) return n;
  return 0;
}
GroupId ClusterSnapshot::internGroup(const std::string& group) {
  auto [it, added] = groupIds.emplace(group, static_cast<GroupId>(groupIds.size()));
  return it->second;
}
std::optional<GroupId> ClusterSnapshot::findGroup(const std::string& group) const {
  auto it = groupIds.find(group);
  if (it == groupIds.end()) return std::nullopt;
  return it->second;
}
struct PlacementMemo::State {};
PlacementMemo::PlacementMemo() : state_(std::make_unique<State>()) {}
PlacementMemo::~PlacementMemo() = default;
PlacementMemo::PlacementMemo(PlacementMemo&&) noexcept = default;
PlacementMemo& PlacementMemo::operator=(PlacementMemo&&) noexcept = default;

Result<Constraint> parseConstraint(std::string_view type, std::optional<std::string_view> expression, bool) {
  if (type == "distinctInstance") return Constraint{Constraint::Type::kDistinctInstance, std::nullopt};
  auto e = Expression::parse(expression.value_or(""));
  if (!e.ok()) return e.takeError();
  return Constraint{Constraint::Type::kMemberOf, std::move(*e)};
}
Result<Strategy> parseStrategy(std::string_view type, std::optional<std::string_view> field) {
  if (type == "random") return Strategy{Strategy::Type::kRandom, ""};
  if (type == "binpack") return Strategy{Strategy::Type::kBinpack, std::string(field.value_or(""))};
  return Strategy{Strategy::Type::kSpread, std::string(field.value_or(""))};
}

namespace {
bool portsFree(const std::vector<int>& used, const std::vector<int>& want) {
  for (int p : want)
    if (std::binary_search(used.begin(), used.end(), p)) return false;
  return true;
}
void addPorts(std::vector<int>& to, const std::vector<int>& more) {
  to.insert(to.end(), more.begin(), more.end());
  std::sort(to.begin(), to.end());
  to.erase(std::unique(to.begin(), to.end()), to.end());
}
}  // namespace

void reserve(Instance& in, const Resources& d, GroupId group) {
  in.remaining.cpu -= d.cpu;
  in.remaining.memory -= d.memory;
  addPorts(in.remaining.ports, d.ports);
  addPorts(in.remaining.portsUdp, d.portsUdp);
  for (auto& [g, n] : in.groupCounts)
    if (g == group) { ++n; return; }
  in.groupCounts.emplace_back(group, 1);
}
void release(Instance&, const Resources&, GroupId) {}

PlacementResult place(const PlacementRequest& req, const ClusterSnapshot& snap, Random& random, PlacementMemo*) {
  PlacementResult out;
  std::vector<Instance> work = snap.instances;
  std::vector<std::size_t> candidates = req.onlyInstances;
  if (candidates.empty())
    for (std::size_t i = 0; i < work.size(); ++i) candidates.push_back(i);
  auto group = snap.findGroup(req.group);
  std::vector<int> placedHere(work.size(), 0);
  for (int n = 0; n < req.count; ++n) {
    std::vector<std::size_t> fit;
    std::vector<Rejection> why;
    for (std::size_t i : candidates) {
      const auto& in = work[i];
      std::string reason;
      if (in.status != "ACTIVE") reason = "INACTIVE";
      else if (!in.agentConnected) reason = "AGENT";
      else if (in.remaining.cpu < req.demand.cpu) reason = "RESOURCE:CPU";
      else if (in.remaining.memory < req.demand.memory) reason = "RESOURCE:MEMORY";
      else if (!portsFree(in.remaining.ports, req.demand.ports)) reason = "RESOURCE:PORTS";
      else if (!portsFree(in.remaining.portsUdp, req.demand.portsUdp)) reason = "RESOURCE:PORTS_UDP";
      else
        for (const auto& c : req.constraints)
          if (c.type == Constraint::Type::kDistinctInstance &&
              (placedHere[i] > 0 || (group && in.tasksInGroup(*group) > 0)))
            reason = "ATTRIBUTE";
      if (reason.empty()) fit.push_back(i);
      else why.push_back({i, reason});
    }
    if (fit.empty()) {
      out.rejections = std::move(why);
      return out;
    }
    bool randomly = !req.strategies.empty() && req.strategies.front().type == Strategy::Type::kRandom;
    std::size_t chosen = randomly ? fit[random.next() % fit.size()] : fit.front();
    reserve(work[chosen], req.demand, group.value_or(0));
    ++placedHere[chosen];
    if (!req.onlyInstances.empty()) candidates.erase(std::find(candidates.begin(), candidates.end(), chosen));
    out.placed.push_back(chosen);
  }
  return out;
}

}  // namespace berth::scheduler
