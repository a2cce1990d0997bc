#pragma once
// Container health checks (ECS healthCheck, Docker HEALTHCHECK semantics).
// Three pieces: parseHealthCheck reads the container definition with ECS's
// defaults and ranges; HealthState is the pure state machine fed with probe
// results; HealthMonitor is the small loop that runs probes inside running
// containers (Runtime::exec) on their intervals, on its own thread so a slow
// probe never holds up the task engine.
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/result.h"
#include "runtime/runtime.h"

namespace berth::agent {

struct HealthCheckConfig {
  std::vector<std::string> argv;  // CMD: as given; CMD-SHELL: /bin/sh -c "<command>"
  std::chrono::seconds interval{30};
  std::chrono::seconds timeout{5};
  int retries = 3;
  std::chrono::seconds startPeriod{0};
};

// nullopt when the definition has no healthCheck (or its command is ["NONE"]).
// kInvalidParameter names the field and its range (interval 5-300, timeout
// 2-60, retries 1-10, startPeriod 0-300; command starts with CMD or CMD-SHELL).
Result<std::optional<HealthCheckConfig>> parseHealthCheck(const nlohmann::json& containerDefinition);

inline constexpr const char* kHealthUnknown = "UNKNOWN";
inline constexpr const char* kHealthy = "HEALTHY";
inline constexpr const char* kUnhealthy = "UNHEALTHY";

// Docker's rule: a pass makes the container HEALTHY and clears the failing
// streak; a failure (non-zero exit or timeout) adds to the streak unless the
// container has never passed and is still inside startPeriod; `retries`
// consecutive counted failures make it UNHEALTHY.
class HealthState {
 public:
  // `initial` carries a status over an agent restart (HEALTHY counts as having passed).
  HealthState(const HealthCheckConfig& config, std::chrono::steady_clock::time_point startedAt,
              const std::string& initial = kHealthUnknown)
      : config_(config), startedAt_(startedAt), status_(initial), everPassed_(initial == kHealthy) {}
  void record(bool passed, std::chrono::steady_clock::time_point probeStartedAt);
  const std::string& status() const { return status_; }
  int failingStreak() const { return failingStreak_; }

 private:
  HealthCheckConfig config_;
  std::chrono::steady_clock::time_point startedAt_;
  std::string status_;
  int failingStreak_ = 0;
  bool everPassed_;
};

// Runs the probes. watch() when a container starts, unwatch() when it stops;
// statuses() is what the runner reports. The first probe runs one interval
// after start, like Docker's.
class HealthMonitor {
 public:
  HealthMonitor(runtime::Runtime& runtime, const Clock& clock, std::chrono::milliseconds pollInterval);
  ~HealthMonitor();
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

  void watch(const std::string& name, const std::string& runtimeId, const HealthCheckConfig& config,
             const std::string& initialStatus = kHealthUnknown);
  void unwatch(const std::string& name);
  // name -> HEALTHY | UNHEALTHY | UNKNOWN for every watched (or once watched) container.
  std::map<std::string, std::string> statuses() const;

 private:
  struct Watched {
    std::string runtimeId;
    HealthCheckConfig config;
    HealthState state;
    std::chrono::steady_clock::time_point nextProbe;
    bool active = true;
  };
  void loop();

  runtime::Runtime& runtime_;
  const Clock& clock_;
  const std::chrono::milliseconds pollInterval_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::map<std::string, Watched> watched_;
  std::thread thread_;
};

}  // namespace berth::agent
