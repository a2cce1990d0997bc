#pragma once
// Berth's event endpoints (SigV4-authenticated GETs, routed by the front door):
//   GET /berth/events?since=N&limit=L&detailType=T&cluster=C
//       → {"events": [envelope...], "nextSince": N}: committed events with
//         sequence > since (default 0; "latest": the newest committed), at most limit (1..1000, default 100),
//         optionally only one detail-type and/or one cluster (name or ARN).
//         Page on by passing nextSince back as since.
//   GET /berth/events/stream?since=N&detailType=T&cluster=C
//       → Server-Sent Events: "id: <seq>\nevent: <detail-type>\ndata: <json>\n\n"
//         for every matching event after `since` (or the Last-Event-ID
//         header), then live as they are committed; ": keepalive" every 15 s.
// Bad parameters → 400 InvalidParameterException (AWS JSON error shape).
//
// Also the adapter that makes the EventLog the ECS control layer's EventSink
// (control/ must not depend on events/, and events/ knows nothing of ECS).
#include <chrono>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/http_types.h"
#include "control/ecs_context.h"
#include "control/ecs_events.h"
#include "events/event_log.h"

namespace berth::api {

// Publishes ECS events into the log, indexed by detail-type and cluster ARN
// (detail.clusterArn, or the cluster of a service ARN in resources).
class EventLogSink final : public control::EventSink {
 public:
  explicit EventLogSink(events::EventLog& log) : log_(log) {}
  void publish(nlohmann::json event) override;

 private:
  events::EventLog& log_;
};

class EventsApi {
 public:
  EventsApi(events::EventLog& log, control::AccountInfo account,
            std::chrono::milliseconds keepalive = std::chrono::seconds(15))
      : log_(log), account_(std::move(account)), keepalive_(keepalive) {}

  static bool handles(std::string_view path) { return path == "/berth/events" || path == "/berth/events/stream"; }
  // The request is already authenticated.
  HttpResponse handle(const HttpRequest& request, const std::string& requestId) const;

 private:
  events::EventLog& log_;
  const control::AccountInfo account_;
  const std::chrono::milliseconds keepalive_;
};

// One SSE frame for a stored event.
std::string sseFrame(const events::StoredEvent& event);

}  // namespace berth::api
