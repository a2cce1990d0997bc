#pragma once
// dependsOn as pure decisions (ECS container start ordering). The runner
// creates every container first, then asks, on each pass of its loop, which
// containers may start now, which still wait, and which can never start
// (a dependency that exited non-zero under SUCCESS, exited before it became
// HEALTHY, ...). On the way down it stops dependents before their
// dependencies: the reverse of the start order.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/task_plan.h"
#include "common/result.h"

namespace berth::agent {

// What the runner has observed of one container so far.
struct ContainerProgress {
  bool started = false;  // start() succeeded (it may have exited since)
  bool exited = false;
  std::optional<int> exitCode;
  std::string health = "UNKNOWN";  // HEALTHY | UNHEALTHY | UNKNOWN
  std::optional<std::chrono::steady_clock::time_point> startedAt;
};

struct StartDecision {
  std::vector<std::string> ready;              // may start now (definition order)
  std::vector<std::string> waiting;            // dependencies not there yet
  std::map<std::string, std::string> never;    // name -> why it can never start
};

// Rejects what ECS rejects at registration and what cannot be run: unknown
// containers, conditions other than START/COMPLETE/SUCCESS/HEALTHY, HEALTHY on
// a container without a healthCheck, self-dependencies and cycles. The message
// names the containers involved.
Status validateDependencies(const TaskPlan& plan, const std::map<std::string, bool>& hasHealthCheck);

// Decides for every container that has not started yet. A dependency's own
// startTimeout (ECS: set on the container being waited for) bounds how long
// after its start it may take to reach the condition; past it, dependents
// can never start.
StartDecision decideStarts(const TaskPlan& plan, const std::map<std::string, ContainerProgress>& progress,
                           std::chrono::steady_clock::time_point now);

// Whether `container` may be sent its stop signal: every container that
// depends on it has stopped (`stopped` holds the names of stopped ones).
bool mayStop(const TaskPlan& plan, const std::string& container, const std::map<std::string, bool>& stopped);

// Start order (dependencies first) for a valid plan; stopping goes through it backwards.
std::vector<std::string> startOrder(const TaskPlan& plan);

}  // namespace berth::agent
