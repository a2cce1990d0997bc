#include "agent/health_check.h"

#include "common/log.h"

namespace berth::agent {
namespace {

Status readSeconds(const nlohmann::json& hc, const char* field, int lo, int hi, std::chrono::seconds& out) {
  auto it = hc.find(field);
  if (it == hc.end() || it->is_null()) return okStatus();
  if (!it->is_number_integer())
    return Error::make(ErrorCode::kInvalidParameter, std::string("healthCheck.") + field + " must be an integer");
  auto v = it->get<std::int64_t>();
  if (v < lo || v > hi)
    return Error::make(ErrorCode::kInvalidParameter, std::string("healthCheck.") + field + " must be between " +
                                                         std::to_string(lo) + " and " + std::to_string(hi) +
                                                         " (got " + std::to_string(v) + ")");
  out = std::chrono::seconds(v);
  return okStatus();
}

}  // namespace

Result<std::optional<HealthCheckConfig>> parseHealthCheck(const nlohmann::json& def) {
  auto it = def.find("healthCheck");
  if (it == def.end() || !it->is_object()) return std::optional<HealthCheckConfig>{};
  const auto& hc = *it;
  std::vector<std::string> command;
  for (const auto& v : hc.value("command", nlohmann::json::array()))
    if (v.is_string()) command.push_back(v.get<std::string>());
  if (command.empty() || (command.size() == 1 && command[0] == "NONE")) return std::optional<HealthCheckConfig>{};
  HealthCheckConfig c;
  if (command[0] == "CMD") {
    c.argv.assign(command.begin() + 1, command.end());
  } else if (command[0] == "CMD-SHELL") {
    std::string joined;
    for (std::size_t i = 1; i < command.size(); ++i) joined += (i > 1 ? " " : "") + command[i];
    c.argv = {"/bin/sh", "-c", joined};
  } else {
    return Error::make(ErrorCode::kInvalidParameter,
                       "healthCheck.command must start with CMD, CMD-SHELL or NONE (got " + command[0] + ")");
  }
  if (c.argv.empty() || (command[0] == "CMD-SHELL" && c.argv[2].empty()))
    return Error::make(ErrorCode::kInvalidParameter, "healthCheck.command has nothing to run after " + command[0]);
  if (auto st = readSeconds(hc, "interval", 5, 300, c.interval); !st.ok()) return st.takeError();
  if (auto st = readSeconds(hc, "timeout", 2, 60, c.timeout); !st.ok()) return st.takeError();
  if (auto st = readSeconds(hc, "startPeriod", 0, 300, c.startPeriod); !st.ok()) return st.takeError();
  std::chrono::seconds retries{c.retries};
  if (auto st = readSeconds(hc, "retries", 1, 10, retries); !st.ok()) return st.takeError();
  c.retries = static_cast<int>(retries.count());
  return std::optional<HealthCheckConfig>(std::move(c));
}

void HealthState::record(bool passed, std::chrono::steady_clock::time_point probeStartedAt) {
  if (passed) {
    everPassed_ = true;
    failingStreak_ = 0;
    status_ = kHealthy;
    return;
  }
  // Failures before the first pass, inside the start period, do not count.
  if (!everPassed_ && probeStartedAt - startedAt_ < config_.startPeriod) return;
  if (++failingStreak_ >= config_.retries) status_ = kUnhealthy;
}

HealthMonitor::HealthMonitor(runtime::Runtime& runtime, const Clock& clock, std::chrono::milliseconds pollInterval)
    : runtime_(runtime), clock_(clock), pollInterval_(pollInterval) {
  thread_ = std::thread([this] { loop(); });
}

HealthMonitor::~HealthMonitor() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void HealthMonitor::watch(const std::string& name, const std::string& runtimeId, const HealthCheckConfig& config,
                          const std::string& initialStatus) {
  const auto t = clock_.monotonicNow();
  std::lock_guard lock(mu_);
  watched_.erase(name);
  watched_.emplace(name, Watched{runtimeId, config, HealthState(config, t, initialStatus), t + config.interval, true});
  wake_.notify_all();
}

void HealthMonitor::unwatch(const std::string& name) {
  std::lock_guard lock(mu_);
  if (auto it = watched_.find(name); it != watched_.end()) it->second.active = false;
}

std::map<std::string, std::string> HealthMonitor::statuses() const {
  std::lock_guard lock(mu_);
  std::map<std::string, std::string> out;
  for (const auto& [name, w] : watched_) out[name] = w.state.status();
  return out;
}

void HealthMonitor::loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    // One due probe at a time; the lock is released while it runs.
    std::string due;
    const auto t = clock_.monotonicNow();
    for (const auto& [name, w] : watched_)
      if (w.active && t >= w.nextProbe) { due = name; break; }
    if (due.empty()) {
      wake_.wait_for(lock, pollInterval_, [&] { return stop_; });
      continue;
    }
    const std::string runtimeId = watched_.at(due).runtimeId;
    const HealthCheckConfig config = watched_.at(due).config;
    lock.unlock();
    runtime::ExecRequest req{config.argv, {}, std::chrono::duration_cast<std::chrono::milliseconds>(config.timeout)};
    auto result = runtime_.exec(runtimeId, req);
    const bool passed = result.ok() && !result->timedOut && result->exitCode == 0;
    if (!result.ok())
      log::debug("health probe could not run", {{"container", runtimeId}, {"error", result.error().message}});
    lock.lock();
    auto it = watched_.find(due);
    if (it == watched_.end() || !it->second.active || it->second.runtimeId != runtimeId) continue;
    // The next probe is one interval after this one began (at once if the
    // probe took longer than that).
    it->second.nextProbe = t + config.interval;
    // A probe that could not run because the container is gone or not
    // running (it is exiting; the runner will unwatch it) says nothing.
    if (!result.ok() && (result.error().code == ErrorCode::kNotFound ||
                         result.error().code == ErrorCode::kFailedPrecondition))
      continue;
    it->second.state.record(passed, t);
  }
}

}  // namespace berth::agent
