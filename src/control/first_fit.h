#pragma once
// Placement for issue #3: the first instance, in the order given, that is
// ACTIVE, has its agent connected and has room for the task. The placement
// issue replaces this with constraints and strategies (scheduler/); it keeps
// this signature shape: a pure function of the request and a snapshot.
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "control/resources.h"

namespace berth::control {

struct PlacementCandidate {
  std::string arn;
  std::string status;        // ContainerInstance status (only ACTIVE takes tasks)
  bool agentConnected = false;
  InstanceResources remaining;
};

struct PlacementRequest {
  TaskDemand demand;
};

// Why an instance was rejected, named as ECS names RunTask/StartTask failures
// (ECS developer guide, "API failure reasons"): "AGENT", "RESOURCE:CPU",
// "RESOURCE:MEMORY", "RESOURCE:PORTS", "RESOURCE:PORTS_UDP"; "INACTIVE" for an
// instance that is not ACTIVE (Berth's choice; ECS skips those silently in RunTask).
struct PlacementFailure {
  std::string arn;
  std::string reason;
};

struct PlacementResult {
  std::optional<std::size_t> chosen;       // index into the candidates
  std::vector<PlacementFailure> failures;  // every instance rejected before `chosen` (all if none)
};

PlacementResult place(const PlacementRequest& request, std::span<const PlacementCandidate> instances);

}  // namespace berth::control
