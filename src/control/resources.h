#pragma once
// Container-instance resource accounting (reference/ecs-scheduling.md §1).
// An instance registers CPU (units), MEMORY (MiB), PORTS and PORTS_UDP
// (reserved host ports); each placed task reserves its cpu, memory and static
// host ports until it reaches STOPPED. Pure data + arithmetic: no I/O.
#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::control {

// What a task takes from its instance while it is not STOPPED.
struct TaskDemand {
  std::int64_t cpu = 0;     // CPU units
  std::int64_t memory = 0;  // MiB
  std::set<int> ports;      // static TCP host ports
  std::set<int> portsUdp;   // static UDP host ports
  std::int64_t gpus = 0;    // GPUs (container resourceRequirements type GPU, summed)
  // The instance GPU ids a placed task holds (chosen at placement; empty before).
  std::set<std::string> gpuIds;

  nlohmann::json toJson() const;
  static TaskDemand fromJson(const nlohmann::json& j);
};

// An instance's registered or remaining resources.
struct InstanceResources {
  std::int64_t cpu = 0;
  std::int64_t memory = 0;
  std::set<int> ports;     // ports in use (reserved at registration + held by tasks)
  std::set<int> portsUdp;
  // GPU ids (STRINGSET "GPU"): registered, or not held by a task. hasGpu says
  // whether the instance registered a GPU resource at all (it is rendered then).
  std::set<std::string> gpus;
  bool hasGpu = false;
  // Resources Berth does not account, kept as registered.
  nlohmann::json other = nlohmann::json::array();
};

// Parses a Resources list (ECS Resource shape) from RegisterContainerInstance.
// CPU and MEMORY are required INTEGER resources (integerValue; longValue and
// doubleValue are accepted too); PORTS/PORTS_UDP are STRINGSETs of port numbers.
// Errors: kInvalidParameter.
Result<InstanceResources> parseResources(const nlohmann::json& resources);

// The Resources list exactly as ECS reports it: every numeric member present
// (0 when unused), CPU and MEMORY as INTEGER, ports as STRINGSET in numeric order.
nlohmann::json renderResources(const InstanceResources& r);

// What a task definition plus RunTask overrides reserves: task-level cpu/memory
// when set (override first), else the sum of container cpu and
// memoryReservation-or-memory (container overrides first); static host ports of
// bridge/host port mappings (awsvpc tasks have their own network namespace and
// hold no host ports; hostPort 0 is dynamic and reserves nothing).
// Errors: kInvalidParameter (bad override values), kClient (no memory anywhere).
Result<TaskDemand> taskDemand(const nlohmann::json& taskDefinition, const nlohmann::json& overrides);

// The first resource that does not fit, as ECS names it in RunTask failures
// ("RESOURCE:CPU", "RESOURCE:MEMORY", "RESOURCE:PORTS", "RESOURCE:PORTS_UDP"),
// or nullopt when the demand fits in `remaining`.
std::optional<std::string> shortfall(const InstanceResources& remaining, const TaskDemand& demand);

// Precondition for reserve: shortfall() == nullopt. Takes demand.gpuIds when
// set, else the first demand.gpus ids of `remaining`, and returns the demand
// with the ids it took (what the task must give back).
TaskDemand reserve(InstanceResources& remaining, const TaskDemand& demand);
// Gives a stopped task's demand back, never beyond what the instance registered.
void release(InstanceResources& remaining, const InstanceResources& registered, const TaskDemand& demand);

// The host ports of reported network bindings (ECS NetworkBinding list:
// hostPort, protocol tcp|udp) that `remaining` does not already show in use:
// ports the agent chose itself (dynamic host ports). Ports already in use are
// left out on purpose: they belong to the instance or to another reservation
// (possibly this task's own static ones), and a task must only ever give back
// what it took. Only ports (no cpu/memory) are set in the result.
TaskDemand unreservedBoundPorts(const nlohmann::json& networkBindings, const InstanceResources& remaining);

// Adds `more`'s ports to `into` (cpu/memory untouched).
void addPorts(TaskDemand& into, const TaskDemand& more);
inline bool hasPorts(const TaskDemand& d) { return !d.ports.empty() || !d.portsUdp.empty(); }

}  // namespace berth::control
