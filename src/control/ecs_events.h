#pragma once
// ECS events in EventBridge's JSON shapes (reference/registry-logs-events.md §4):
// "ECS Task State Change", "ECS Container Instance State Change",
// "ECS Service Action", "ECS Deployment State Change".
//
// Producers build events with the functions below and hand them to the
// context's EventSink (EcsContext::events); the sink (events/event_log) keeps
// them durably for a bounded window and streams them to followers.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/random.h"
#include "control/ecs_context.h"
#include "scheduler/service_plan.h"

namespace berth::control {

class EventSink {
 public:
  virtual ~EventSink() = default;
  // One complete event (envelope included). Must be quick and must not call
  // into the StateCache (producers may call it from a cache observer).
  virtual void publish(nlohmann::json event) = 0;
};

// ISO-8601 UTC with seconds ("2026-11-22T10:00:00Z"): the envelope's `time`.
std::string isoSeconds(double epochSeconds);
// ISO-8601 UTC with milliseconds ("2026-11-22T10:00:00.123Z"): times inside `detail`.
std::string isoMillis(double epochSeconds);

// {"version":"0","id":uuid,"detail-type","source":"aws.ecs","account","time","region","resources","detail"}
nlohmann::json eventEnvelope(const AccountInfo& account, Random& random, const std::string& detailType,
                             std::vector<std::string> resources, nlohmann::json detail, double now);

// "ECS Service Action" (resources: the service ARN): detail {eventType, eventName, clusterArn, createdAt[, reason]}.
// "ECS Deployment State Change": detail {eventType, eventName, deploymentId, updatedAt, reason}.
nlohmann::json serviceEvent(const AccountInfo& account, Random& random, const std::string& serviceArn,
                            const std::string& clusterArn, const scheduler::ServiceNotification& n, double now);

// "ECS Task State Change" from a stored task document (internal fields left
// out; timestamps as ISO strings; plus updatedAt and version).
nlohmann::json taskStateChangeEvent(const AccountInfo& account, Random& random, const nlohmann::json& storedTask,
                                    double now);
// "ECS Container Instance State Change" from a stored container instance document.
nlohmann::json containerInstanceStateChangeEvent(const AccountInfo& account, Random& random,
                                                 const nlohmann::json& storedInstance, double now);

}  // namespace berth::control
