#include "scheduler/feasibility.h"

#include <algorithm>
#include <cstring>

namespace berth::scheduler {
namespace {

// Whether none of `wanted` is in use (sorted `inUse`, or `placed` in this call).
bool portsFree(const std::vector<int>& wanted, const std::vector<int>* inUse, const std::vector<int>* placed) {
  for (int port : wanted) {
    if (inUse && std::binary_search(inUse->begin(), inUse->end(), port)) return false;
    if (placed && std::find(placed->begin(), placed->end(), port) != placed->end()) return false;
  }
  return true;
}

}  // namespace

std::string_view reasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kNone: return "";
    case RejectReason::kInactive: return "INACTIVE";
    case RejectReason::kAgent: return "AGENT";
    case RejectReason::kCpu: return "RESOURCE:CPU";
    case RejectReason::kMemory: return "RESOURCE:MEMORY";
    case RejectReason::kPorts: return "RESOURCE:PORTS";
    case RejectReason::kPortsUdp: return "RESOURCE:PORTS_UDP";
    case RejectReason::kGpu: return "RESOURCE:GPU";
    case RejectReason::kAttribute: return "ATTRIBUTE";
    case RejectReason::kTookItsTask: return "";
  }
  return "";
}

RejectReason resourceFit(const RemainingNow& remaining, const Resources& demand) {
  if (remaining.cpu < demand.cpu) return RejectReason::kCpu;
  if (remaining.memory < demand.memory) return RejectReason::kMemory;
  if (!demand.ports.empty() && !portsFree(demand.ports, remaining.ports, remaining.placedPorts))
    return RejectReason::kPorts;
  if (!demand.portsUdp.empty() && !portsFree(demand.portsUdp, remaining.portsUdp, remaining.placedPortsUdp))
    return RejectReason::kPortsUdp;
  if (remaining.gpus < demand.gpus) return RejectReason::kGpu;
  return RejectReason::kNone;
}


bool hasAttributes(const Instance& instance, const std::vector<std::string>& required) {
  for (const auto& name : required)
    if (instance.attribute(name) == nullptr) return false;
  return true;
}

}  // namespace berth::scheduler
