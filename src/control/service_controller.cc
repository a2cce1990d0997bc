#include "control/service_controller.h"

#include <exception>
#include <map>

#include "common/log.h"
#include "control/service_reconcile.h"
#include "control/service_task_index.h"

namespace berth::control {

struct ServiceController::Impl {
  Impl(EcsContext& c, ServiceControllerOptions o) : ctx(c), options(o), index(c.cache), reconciler(c, index, o) {}

  EcsContext& ctx;
  ServiceControllerOptions options;
  ServiceTaskIndex index;
  // Passes are serialized: the background thread and callers of reconcile()
  // never plan the same service from the same state twice at once.
  std::mutex passMu;
  ServiceReconciler reconciler;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::mutex lifecycleMu;

  bool reconcileGuarded(const ServiceKey& key) {
    std::lock_guard lock(passMu);
    try {
      return reconciler.reconcile(key);
    } catch (const std::exception& e) {
      // A malformed document must not stop every other service's reconciles.
      log::error("service reconcile failed", {{"cluster", key.cluster}, {"service", key.name}, {"error", e.what()}});
      return true;
    }
  }

  void run() {
    using Clock = std::chrono::steady_clock;
    std::map<ServiceKey, Clock::time_point> lastRun;
    std::set<ServiceKey> deferred;  // dirty but inside their debounce window
    auto nextResync = Clock::now();
    while (!stopping) {
      auto now = Clock::now();
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(nextResync - now);
      if (!deferred.empty()) wait = std::min(wait, options.debounce);
      if (wait.count() < 0) wait = std::chrono::milliseconds(0);
      std::set<ServiceKey> due = index.waitDirty(wait);
      if (stopping) break;
      now = Clock::now();
      due.merge(deferred);
      deferred.clear();
      if (now >= nextResync) {
        // Timers (grace periods, launch throttle, steady-state reminders)
        // change nothing in the state: every live service is looked at.
        for (auto& key : index.liveServices()) due.insert(std::move(key));
        nextResync = now + options.resyncInterval;
      }
      for (const auto& key : due) {
        if (stopping) break;
        auto last = lastRun.find(key);
        if (last != lastRun.end() && now - last->second < options.debounce) {
          deferred.insert(key);
          continue;
        }
        lastRun[key] = Clock::now();
        if (!reconcileGuarded(key)) lastRun.erase(key);
      }
    }
  }
};

ServiceController::ServiceController(EcsContext& ctx, ServiceControllerOptions options)
    : impl_(std::make_unique<Impl>(ctx, options)) {}

ServiceController::~ServiceController() { stop(); }

void ServiceController::start() {
  std::lock_guard lock(impl_->lifecycleMu);
  if (impl_->thread.joinable() || impl_->stopping) return;
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

void ServiceController::stop() {
  std::lock_guard lock(impl_->lifecycleMu);
  impl_->stopping = true;
  impl_->index.wake();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::size_t ServiceController::reconcileOnce() {
  std::size_t n = 0;
  for (const auto& key : impl_->index.liveServices())
    if (impl_->reconcileGuarded(key)) ++n;
  return n;
}

bool ServiceController::reconcile(const std::string& cluster, const std::string& serviceName) {
  return impl_->reconcileGuarded(ServiceKey{cluster, serviceName});
}

}  // namespace berth::control
