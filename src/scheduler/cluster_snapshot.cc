// The snapshot types' small helpers, and reserve/release: how a long-lived
// snapshot (the server's cluster index) follows what was placed or stopped.
#include <algorithm>

#include "scheduler/placement.h"

namespace berth::scheduler {
namespace {

// Adds `add` to the sorted unique `ports`, keeping them sorted and unique.
void addPorts(std::vector<int>& ports, const std::vector<int>& add) {
  for (int port : add) {
    auto it = std::lower_bound(ports.begin(), ports.end(), port);
    if (it == ports.end() || *it != port) ports.insert(it, port);
  }
}

void removePorts(std::vector<int>& ports, const std::vector<int>& remove) {
  for (int port : remove) {
    auto it = std::lower_bound(ports.begin(), ports.end(), port);
    if (it != ports.end() && *it == port) ports.erase(it);
  }
}

}  // namespace

const std::string* Instance::attribute(std::string_view name) const {
  auto it = std::lower_bound(attributes.begin(), attributes.end(), name,
                             [](const auto& attr, std::string_view n) { return attr.first < n; });
  if (it == attributes.end() || it->first != name) return nullptr;
  return &it->second;
}

int Instance::tasksInGroup(GroupId group) const {
  for (const auto& [id, count] : groupCounts)
    if (id == group) return count;
  return 0;
}

GroupId ClusterSnapshot::internGroup(const std::string& group) {
  auto [it, inserted] = groupIds.try_emplace(group, static_cast<GroupId>(groupIds.size()));
  return it->second;
}

std::optional<GroupId> ClusterSnapshot::findGroup(const std::string& group) const {
  auto it = groupIds.find(group);
  if (it == groupIds.end()) return std::nullopt;
  return it->second;
}

void reserve(Instance& instance, const Resources& demand, GroupId group) {
  instance.remaining.cpu -= demand.cpu;
  instance.remaining.memory -= demand.memory;
  instance.remaining.gpus -= demand.gpus;
  addPorts(instance.remaining.ports, demand.ports);
  addPorts(instance.remaining.portsUdp, demand.portsUdp);
  // Found by a scan (an owner's groupCounts need not be sorted); a new group
  // goes in sorted position.
  auto it = std::find_if(instance.groupCounts.begin(), instance.groupCounts.end(),
                         [group](const auto& entry) { return entry.first == group; });
  if (it != instance.groupCounts.end()) {
    ++it->second;
    return;
  }
  it = std::lower_bound(instance.groupCounts.begin(), instance.groupCounts.end(), group,
                        [](const auto& entry, GroupId g) { return entry.first < g; });
  instance.groupCounts.insert(it, {group, 1});
}

void release(Instance& instance, const Resources& demand, GroupId group) {
  instance.remaining.cpu += demand.cpu;
  instance.remaining.memory += demand.memory;
  instance.remaining.gpus += demand.gpus;
  removePorts(instance.remaining.ports, demand.ports);
  removePorts(instance.remaining.portsUdp, demand.portsUdp);
  // groupCounts holds only groups with tasks: drop the entry when it reaches 0.
  auto it = std::find_if(instance.groupCounts.begin(), instance.groupCounts.end(),
                         [group](const auto& entry) { return entry.first == group; });
  if (it == instance.groupCounts.end()) return;
  if (--it->second <= 0) instance.groupCounts.erase(it);
}

}  // namespace berth::scheduler
