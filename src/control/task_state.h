#pragma once
// Task and container statuses as ECS names them, as ordered enums, and the
// rules for moving between them kept as data (reference/ecs-tasks.md §6,
// docs/dev/agent-protocol.md "Ownership").
//
// Values are ordered by lifecycle position and are persisted only as their
// ECS names (never as numbers), but still: never renumber.
#include <cstdint>
#include <optional>
#include <string_view>

namespace berth::control {

enum class TaskStatus : std::uint8_t {
  kProvisioning = 0,
  kPending = 1,
  kActivating = 2,
  kRunning = 3,
  kDeactivating = 4,
  kStopping = 5,
  kDeprovisioning = 6,
  kStopped = 7,
};

// Container lastStatus as DescribeTasks shows it.
enum class ContainerStatus : std::uint8_t { kPending = 0, kRunning = 1, kStopped = 2 };

std::string_view taskStatusName(TaskStatus s);
std::optional<TaskStatus> parseTaskStatus(std::string_view name);
std::string_view containerStatusName(ContainerStatus s);
std::optional<ContainerStatus> parseContainerStatus(std::string_view name);

// Who reports a status change. The agent owns observed state; the server only
// forces STOPPED (lost instance, task that never reached an agent).
enum class StatusSource : std::uint8_t { kAgent, kServer };

// One row of the transition table.
struct TaskTransitionRule {
  StatusSource source;
  TaskStatus from;       // inclusive lower bound of the current status
  TaskStatus fromUpTo;   // inclusive upper bound of the current status
  TaskStatus to;         // a target status (or lower bound when toUpTo is set)
  TaskStatus toUpTo;     // inclusive upper bound of the target
};

// What applying a reported status does.
struct TaskStatusStep {
  bool accepted = false;     // false: ignored (backward, repeated or not allowed)
  TaskStatus next{};         // the status after the step (== current when ignored)
  bool reachedRunning = false;   // crossed into RUNNING..DEPROVISIONING (sets startedAt); not a jump to STOPPED
  bool reachedStopping = false;  // crossed into DEACTIVATING..DEPROVISIONING (sets stoppingAt)
  bool reachedStopped = false;   // became STOPPED (terminal: release resources, stoppedAt)
};

// The one function that decides a task status step. Pure; no I/O.
TaskStatusStep nextTaskStatus(TaskStatus current, TaskStatus reported, StatusSource source);

// Containers only move forward too: PENDING < RUNNING < STOPPED.
inline bool containerAdvances(ContainerStatus current, ContainerStatus reported) { return reported > current; }

// Statuses a new task starts in: PROVISIONING when it needs a network
// attachment (awsvpc), else PENDING.
inline TaskStatus initialTaskStatus(bool awsvpc) { return awsvpc ? TaskStatus::kProvisioning : TaskStatus::kPending; }

// Counted as "pending" by cluster and instance counts (everything before RUNNING).
inline bool isPendingStatus(TaskStatus s) { return s < TaskStatus::kRunning; }

// The server may stop a task by itself (without the agent) only while no
// agent has started it: PROVISIONING or PENDING.
inline bool serverMayStopDirectly(TaskStatus s) { return s <= TaskStatus::kPending; }

}  // namespace berth::control
