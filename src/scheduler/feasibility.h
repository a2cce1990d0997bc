#pragma once
// Feasibility: whether an instance can take one more task, and if not the
// first reason ECS would give (reference/ecs-scheduling.md §3, RunTask
// failure reasons). Checked in ECS's order: INACTIVE, AGENT, CPU, MEMORY,
// PORTS, PORTS_UDP, GPU, then ATTRIBUTE (constraints, required attributes).
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/placement.h"

namespace berth::scheduler {

enum class RejectReason : std::uint8_t {
  kNone = 0,
  kInactive,
  kAgent,
  kCpu,
  kMemory,
  kPorts,
  kPortsUdp,
  kGpu,
  kAttribute,
  // Not a rejection: with onlyInstances (StartTask) each named instance takes
  // one task; one that already took its task in this call is done, not refused.
  kTookItsTask,
};

// The name in a RunTask failure ("RESOURCE:CPU", ...); "" for kNone.
std::string_view reasonName(RejectReason reason);

// What an instance has left right now: the snapshot's numbers less what this
// call has already placed there (ports placed in this call listed apart, so
// the snapshot's vectors need not be copied).
struct RemainingNow {
  std::int64_t cpu = 0;
  std::int64_t memory = 0;
  std::int64_t gpus = 0;
  const std::vector<int>* ports = nullptr;     // sorted, in use in the snapshot
  const std::vector<int>* portsUdp = nullptr;  // sorted
  const std::vector<int>* placedPorts = nullptr;     // may be null; unsorted
  const std::vector<int>* placedPortsUdp = nullptr;  // may be null; unsorted
};

// The first resource `demand` does not fit in, or kNone.
RejectReason resourceFit(const RemainingNow& remaining, const Resources& demand);

// Whether the instance is ACTIVE with its agent connected (kNone) or why not.
// Inline, with a fixed-size compare the compiler turns into two integer
// compares: it runs for every instance on every call.
inline RejectReason availability(const Instance& instance) {
  const std::string& status = instance.status;
  if (status.size() != 6 || std::memcmp(status.data(), "ACTIVE", 6) != 0) return RejectReason::kInactive;
  if (!instance.agentConnected) return RejectReason::kAgent;
  return RejectReason::kNone;
}

// Whether every value-less attribute in `required` is present.
bool hasAttributes(const Instance& instance, const std::vector<std::string>& required);

}  // namespace berth::scheduler
