#pragma once
// One task of a simulated container instance (`berth agent --simulate N`):
// no containers, only the ECS lifecycle the server sees. The state machine is
// pure (time comes in as an argument); SimulatedFleet executes its steps
// (timers, reports). Kept small on purpose: one process holds 100,000 of them.
//
// Lifecycle (statuses are ordered, like the server's):
//   appears           -> PENDING; RUNNING after startDelay (0: at once)
//   image "does-not-exist" -> STOPPED at once, stopCode TaskFailedToStart,
//                        reason "CannotPullContainerError: ..." (as FakeImageStore)
//   desiredStatus STOPPED while PENDING -> STOPPED at once (nothing ran: no exit codes)
//   desiredStatus STOPPED while RUNNING -> STOPPED after stopDelay, every container exit 0
// The reason sent with STOPPED is the server's stoppedReason (StopTask's reason).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace berth::agent {

// Values are ordered and persisted in the fleet record: never renumber.
enum class SimStatus : std::uint8_t { kNone = 0, kPending = 1, kRunning = 2, kStopped = 3 };

std::string_view simStatusName(SimStatus s);  // "PENDING", "RUNNING", "STOPPED" ("" for kNone)

struct SimContainer {
  std::string name;
  bool essential = true;
};

struct SimulatedTask {
  std::string arn;
  std::uint32_t instance = 0;            // index of its instance in the fleet
  SimStatus status = SimStatus::kPending;   // where the simulated task is now
  SimStatus reported = SimStatus::kNone;    // the last status the server accepted from us
  bool stopRequested = false;            // the server's desiredStatus is STOPPED
  bool ran = false;                      // reached RUNNING (containers then exit 0)
  bool reportQueued = false;             // in the fleet's report queue or in flight
  std::string stopCode;                  // only set by a failure to start
  std::string stoppedReason;
  std::vector<SimContainer> containers;
  double startedAt = 0;   // epoch seconds; 0 = not yet
  double stoppingAt = 0;
  double stoppedAt = 0;
  std::optional<std::chrono::steady_clock::time_point> dueAt;  // pending start/stop timer
};

struct SimDelays {
  std::chrono::milliseconds start{0};
  std::chrono::milliseconds stop{0};
};

// What the server's PollTasks task document says, reduced to what the
// simulation needs (extracted outside the fleet's lock).
struct ServerTaskView {
  std::string arn;
  std::string desiredStatus;
  std::string lastStatus;
  std::string stoppedReason;
  double startedAt = 0;
  std::vector<SimContainer> containers;
  std::string missingImage;  // first container image that "does not exist" (pull fails)
};

ServerTaskView serverTaskView(const nlohmann::json& task);

// A task the fleet has not seen before. A task the server already shows
// RUNNING (a simulator restart that lost it) is adopted as RUNNING, with
// nothing to report; one already STOPPED is not worth tracking (nullopt).
std::optional<SimulatedTask> adoptTask(const ServerTaskView& view, std::uint32_t instance);

// Time in both clocks: epoch seconds for report timestamps, steady for timers.
struct SimNow {
  double epochSeconds = 0;
  std::chrono::steady_clock::time_point monotonic;
};

// Applies the server's desired state, then advances the task as far as the
// time allows. Returns the time of the next timer, if the task waits for one.
std::optional<std::chrono::steady_clock::time_point> observe(SimulatedTask& t, const ServerTaskView& view,
                                                             const SimNow& now, const SimDelays& delays);
// Advances the task as far as `now` allows (used when its timer fires).
std::optional<std::chrono::steady_clock::time_point> advance(SimulatedTask& t, const SimNow& now,
                                                             const SimDelays& delays);

// The task has progress the server has not accepted yet.
inline bool needsReport(const SimulatedTask& t) { return t.status > t.reported; }

// SubmitTaskStateChange for the task's current status, shaped like the real
// agent's report (src/agent/task_runner.cc).
nlohmann::json stateChangeRequest(const SimulatedTask& t, const std::string& cluster);

// Compact JSON for the fleet's record (restart) and back.
nlohmann::json toRecordJson(const SimulatedTask& t);
std::optional<SimulatedTask> simulatedTaskFromRecord(const nlohmann::json& j);

}  // namespace berth::agent
