#include "control/task_state.h"

#include <array>

namespace berth::control {
namespace {

constexpr std::array<std::string_view, 8> kTaskStatusNames = {
    "PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED"};
constexpr std::array<std::string_view, 3> kContainerStatusNames = {"PENDING", "RUNNING", "STOPPED"};

using S = TaskStatus;

// The transition table. Statuses only move forward and may skip steps (short
// tasks go PENDING -> STOPPED; failures jump to STOPPED from anywhere), so
// the agent's rule is "any later status". The server only ever forces
// STOPPED, and only on tasks no agent has started.
constexpr std::array<TaskTransitionRule, 2> kRules = {{
    {StatusSource::kAgent, S::kProvisioning, S::kDeprovisioning, S::kProvisioning, S::kStopped},
    {StatusSource::kServer, S::kProvisioning, S::kPending, S::kStopped, S::kStopped},
}};

}  // namespace

std::string_view taskStatusName(TaskStatus s) { return kTaskStatusNames.at(static_cast<std::size_t>(s)); }

std::optional<TaskStatus> parseTaskStatus(std::string_view name) {
  for (std::size_t i = 0; i < kTaskStatusNames.size(); ++i)
    if (kTaskStatusNames[i] == name) return static_cast<TaskStatus>(i);
  return std::nullopt;
}

std::string_view containerStatusName(ContainerStatus s) {
  return kContainerStatusNames.at(static_cast<std::size_t>(s));
}

std::optional<ContainerStatus> parseContainerStatus(std::string_view name) {
  for (std::size_t i = 0; i < kContainerStatusNames.size(); ++i)
    if (kContainerStatusNames[i] == name) return static_cast<ContainerStatus>(i);
  return std::nullopt;
}

TaskStatusStep nextTaskStatus(TaskStatus current, TaskStatus reported, StatusSource source) {
  TaskStatusStep step;
  step.next = current;
  // Never backward, and a repeated status is not a change.
  if (reported <= current) return step;
  bool allowed = false;
  for (const auto& r : kRules) {
    if (r.source != source) continue;
    if (current < r.from || current > r.fromUpTo) continue;
    if (reported < r.to || reported > r.toUpTo) continue;
    allowed = true;
    break;
  }
  if (!allowed) return step;
  step.accepted = true;
  step.next = reported;
  // Jumping from before RUNNING straight to STOPPED means it never ran (a
  // failed start), so only a status in RUNNING..DEPROVISIONING counts as started.
  step.reachedRunning = current < S::kRunning && reported >= S::kRunning && reported != S::kStopped;
  step.reachedStopping = current < S::kDeactivating && reported >= S::kDeactivating;
  step.reachedStopped = reported == S::kStopped;
  return step;
}

}  // namespace berth::control
