#include "agent/simulated_task.h"

namespace berth::agent {

namespace {

// The image FakeImageStore refuses (src/agent/fake_node.h): tests use it for pull failures.
constexpr std::string_view kMissingImageMarker = "does-not-exist";

void stopNow(SimulatedTask& t, const SimNow& now) {
  t.status = SimStatus::kStopped;
  t.dueAt.reset();
  if (t.stoppingAt == 0) t.stoppingAt = now.epochSeconds;
  t.stoppedAt = now.epochSeconds;
}

}  // namespace

std::string_view simStatusName(SimStatus s) {
  switch (s) {
    case SimStatus::kPending: return "PENDING";
    case SimStatus::kRunning: return "RUNNING";
    case SimStatus::kStopped: return "STOPPED";
    case SimStatus::kNone: break;
  }
  return "";
}

ServerTaskView serverTaskView(const nlohmann::json& task) {
  ServerTaskView v;
  v.arn = task.value("taskArn", "");
  v.desiredStatus = task.value("desiredStatus", "RUNNING");
  v.lastStatus = task.value("lastStatus", "PENDING");
  v.stoppedReason = task.value("stoppedReason", "");
  if (auto it = task.find("startedAt"); it != task.end() && it->is_number()) v.startedAt = it->get<double>();
  // Container names come from the task (what the server tracks); images and
  // `essential` from the definition the task runs.
  std::vector<std::pair<std::string, std::string>> defs;  // name -> image
  std::vector<bool> essential;
  if (auto td = task.find("taskDefinition"); td != task.end() && td->is_object()) {
    for (const auto& c : td->value("containerDefinitions", nlohmann::json::array())) {
      defs.emplace_back(c.value("name", ""), c.value("image", ""));
      essential.push_back(c.value("essential", true));
    }
  }
  for (std::size_t i = 0; i < defs.size(); ++i) {
    v.containers.push_back({defs[i].first, essential[i]});
    if (v.missingImage.empty() && defs[i].second.find(kMissingImageMarker) != std::string::npos)
      v.missingImage = defs[i].second;
  }
  if (v.containers.empty()) {
    for (const auto& c : task.value("containers", nlohmann::json::array())) v.containers.push_back({c.value("name", ""), true});
  }
  return v;
}

std::optional<SimulatedTask> adoptTask(const ServerTaskView& view, std::uint32_t instance) {
  if (view.arn.empty() || view.lastStatus == "STOPPED") return std::nullopt;
  SimulatedTask t;
  t.arn = view.arn;
  t.instance = instance;
  t.containers = view.containers;
  t.reported = SimStatus::kPending;  // the server placed it PENDING: nothing to say until RUNNING
  if (view.lastStatus == "RUNNING") {
    // Adopt: the simulated containers "kept running" while we were away.
    t.status = SimStatus::kRunning;
    t.reported = SimStatus::kRunning;
    t.ran = true;
    t.startedAt = view.startedAt;
  }
  if (!view.missingImage.empty() && t.status == SimStatus::kPending) {
    t.stopCode = "TaskFailedToStart";
    t.stoppedReason = "CannotPullContainerError: pull access denied for " + view.missingImage +
                      ", repository does not exist";
  }
  return t;
}

std::optional<std::chrono::steady_clock::time_point> observe(SimulatedTask& t, const ServerTaskView& view,
                                                             const SimNow& now, const SimDelays& delays) {
  if (t.status != SimStatus::kStopped && view.desiredStatus == "STOPPED" && !t.stopRequested) {
    t.stopRequested = true;
    t.stoppingAt = now.epochSeconds;
    // A pull failure keeps its own reason; otherwise the server's (StopTask's) reason.
    if (t.stopCode.empty()) t.stoppedReason = view.stoppedReason;
    if (t.status == SimStatus::kRunning) t.dueAt.reset();  // the stop timer starts now
  }
  return advance(t, now, delays);
}

std::optional<std::chrono::steady_clock::time_point> advance(SimulatedTask& t, const SimNow& now,
                                                             const SimDelays& delays) {
  if (t.status == SimStatus::kPending) {
    if (!t.stopCode.empty() || t.stopRequested) {  // failed pull, or stopped before it started
      stopNow(t, now);
      return std::nullopt;
    }
    if (!t.dueAt) t.dueAt = now.monotonic + delays.start;
    if (now.monotonic < *t.dueAt) return t.dueAt;
    t.status = SimStatus::kRunning;
    t.ran = true;
    t.startedAt = now.epochSeconds;
    t.dueAt.reset();
  }
  if (t.status == SimStatus::kRunning && t.stopRequested) {
    if (!t.dueAt) t.dueAt = now.monotonic + delays.stop;
    if (now.monotonic < *t.dueAt) return t.dueAt;
    stopNow(t, now);
  }
  return std::nullopt;
}

nlohmann::json stateChangeRequest(const SimulatedTask& t, const std::string& cluster) {
  const std::string status(simStatusName(t.status));
  nlohmann::json containers = nlohmann::json::array();
  for (const auto& c : t.containers) {
    nlohmann::json cj = {{"containerName", c.name}, {"status", status}};
    if (t.status == SimStatus::kStopped && t.ran) cj["exitCode"] = 0;
    if (t.status == SimStatus::kStopped && !t.stopCode.empty()) cj["reason"] = t.stoppedReason.substr(0, 255);
    containers.push_back(std::move(cj));
  }
  nlohmann::json change = {{"cluster", cluster}, {"task", t.arn}, {"status", status}, {"containers", containers}};
  if (t.startedAt > 0) change["startedAt"] = t.startedAt;
  if (t.status == SimStatus::kStopped) {
    if (t.stoppingAt > 0) change["stoppingAt"] = t.stoppingAt;
    change["executionStoppedAt"] = t.stoppedAt;
    if (!t.stopCode.empty()) {
      // The real agent reports the pull window it tried.
      change["pullStartedAt"] = t.stoppingAt;
      change["pullStoppedAt"] = t.stoppedAt;
      change["stopCode"] = t.stopCode;
    }
    if (!t.stoppedReason.empty()) change["reason"] = t.stoppedReason.substr(0, 255);
  }
  return change;
}

nlohmann::json toRecordJson(const SimulatedTask& t) {
  nlohmann::json containers = nlohmann::json::array();
  for (const auto& c : t.containers) containers.push_back({c.name, c.essential});
  nlohmann::json j = {{"arn", t.arn},
                      {"i", t.instance},
                      {"s", static_cast<int>(t.status)},
                      {"r", static_cast<int>(t.reported)},
                      {"c", containers}};
  if (t.stopRequested) j["stop"] = true;
  if (t.ran) j["ran"] = true;
  if (!t.stopCode.empty()) j["code"] = t.stopCode;
  if (!t.stoppedReason.empty()) j["why"] = t.stoppedReason;
  if (t.startedAt > 0) j["startedAt"] = t.startedAt;
  if (t.stoppingAt > 0) j["stoppingAt"] = t.stoppingAt;
  if (t.stoppedAt > 0) j["stoppedAt"] = t.stoppedAt;
  return j;
}

std::optional<SimulatedTask> simulatedTaskFromRecord(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("arn") || !j["arn"].is_string()) return std::nullopt;
  auto status = [](int v) { return v >= 0 && v <= 3 ? static_cast<SimStatus>(v) : SimStatus::kNone; };
  SimulatedTask t;
  t.arn = j["arn"].get<std::string>();
  t.instance = j.value("i", 0u);
  t.status = status(j.value("s", 1));
  t.reported = status(j.value("r", 0));
  t.stopRequested = j.value("stop", false);
  t.ran = j.value("ran", false);
  t.stopCode = j.value("code", "");
  t.stoppedReason = j.value("why", "");
  t.startedAt = j.value("startedAt", 0.0);
  t.stoppingAt = j.value("stoppingAt", 0.0);
  t.stoppedAt = j.value("stoppedAt", 0.0);
  for (const auto& c : j.value("c", nlohmann::json::array()))
    if (c.is_array() && c.size() == 2 && c[0].is_string()) t.containers.push_back({c[0].get<std::string>(), c[1].get<bool>()});
  if (t.status == SimStatus::kNone) return std::nullopt;
  return t;
}

}  // namespace berth::agent
