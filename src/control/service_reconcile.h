#pragma once
// One reconcile of one service: gather the planner's input (service_input.h),
// run scheduler::planService(), carry the plan out (stops, then launches
// through the cluster's launch lane), write the service document
// (service_doc_update.h) with compare-on-revision, and publish the plan's
// EventBridge notifications. Not thread-safe: one reconcile at a time.
#include <map>
#include <string>

#include "control/ecs_context.h"
#include "control/service_controller.h"
#include "control/service_task_index.h"

namespace berth::control {

class ServiceReconciler {
 public:
  ServiceReconciler(EcsContext& ctx, ServiceTaskIndex& index, const ServiceControllerOptions& options)
      : ctx_(ctx), index_(index), options_(options) {}

  // False when the service does not exist. An INACTIVE service is left alone.
  bool reconcile(const ServiceKey& key);

 private:
  void launch(const ServiceKey& key, const nlohmann::json& doc, const scheduler::ServicePlan& plan,
              std::vector<std::string>& messages);
  void reportUnplaced(const ServiceKey& key, const nlohmann::json& doc, const std::string& instanceId,
                      const std::string& reason, std::vector<std::string>& messages);
  void publish(const nlohmann::json& doc, const scheduler::ServiceNotification& n);

  EcsContext& ctx_;
  ServiceTaskIndex& index_;
  ServiceControllerOptions options_;
  // When each service last got an "unable to place" event (at most one a minute).
  std::map<ServiceKey, double> lastUnplacedEvent_;
};

}  // namespace berth::control
