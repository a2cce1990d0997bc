#pragma once
// The service controller (reconciler): keeps every ACTIVE/DRAINING service's
// tasks in line with its deployments by running scheduler::planService() on
// the current state and carrying the plan out: launching through the same
// placement and batched-commit path as RunTask (task_ops launchServiceTasks),
// stopping with stopCode ServiceSchedulerInitiated, writing deployments,
// counts and events into the service document (compare-on-revision), and
// publishing EventBridge events to ctx.events.
//
// It runs on its own thread: a service is reconciled when something it
// depends on changes (its document, one of its tasks, an instance of its
// cluster — seen through a StateCache observer that only marks it dirty) and
// at least every `resyncInterval`. Reconciles of different services of a
// cluster go through the cluster's launch lane, so they batch with RunTask.
// reconcileOnce() runs one pass synchronously (tests on a fake clock).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "control/ecs_context.h"

namespace berth::control {

struct ServiceControllerOptions {
  // Longest a service goes without a reconcile (timers: grace periods,
  // throttle, steady-state reminders).
  std::chrono::milliseconds resyncInterval{1000};
  // Shortest gap between two reconciles of one service, so a burst of task
  // changes becomes one pass.
  std::chrono::milliseconds debounce{20};
  // Most tasks started or stopped for one service in one pass (a rollout of
  // 1,000 tasks takes a few passes; each pass is one transaction per kind).
  int maxLaunchPerPass = 500;
  int maxStopPerPass = 500;
};

class ServiceController {
 public:
  ServiceController(EcsContext& ctx, ServiceControllerOptions options = {});
  ~ServiceController();  // stop()
  ServiceController(const ServiceController&) = delete;
  ServiceController& operator=(const ServiceController&) = delete;

  void start();  // the background thread
  void stop();   // idempotent

  // Reconciles every ACTIVE/DRAINING service once, now, on the caller's
  // thread. Returns how many services it reconciled. For tests and tools.
  std::size_t reconcileOnce();
  // Reconciles one service now (tests). Returns false if it does not exist.
  bool reconcile(const std::string& cluster, const std::string& serviceName);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::control
