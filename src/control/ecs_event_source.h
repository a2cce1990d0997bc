#pragma once
// EcsEventSource: turns state changes the StateCache applies into
// EventBridge-shaped ECS events for an EventSink:
//  - "ECS Task State Change" for every task document that is created or whose
//    `version` changes (task or container status, health, stop fields);
//  - "ECS Container Instance State Change" for every container instance
//    document created or whose `version` changes (status / draining /
//    deregistration, agentConnected, attributes, registered or remaining
//    resources).
// Deleted documents (reaped tasks and instances) publish nothing.
//
// It observes the cache, so events follow commit order and every durable
// change is seen exactly once per process. Keys that exist when it is
// installed are not announced (the cache replays them as new). The observer
// runs under the cache's write lock: it only builds the JSON and hands it to
// the sink, which must not block.
#include <atomic>
#include <cstdint>
#include <thread>

#include "control/ecs_context.h"

namespace berth::control {

class EventSink;

class EcsEventSource {
 public:
  // Installs the observer on ctx.cache. `ctx` and `sink` must outlive this.
  EcsEventSource(EcsContext& ctx, EventSink& sink);
  ~EcsEventSource();  // removes the observer: destroy this before the cache
  EcsEventSource(const EcsEventSource&) = delete;
  EcsEventSource& operator=(const EcsEventSource&) = delete;

 private:
  void onChange(const std::string& key, const CachedObject* before, const CachedObject* after);

  EcsContext& ctx_;
  EventSink& sink_;
  // The replay addObserver() does runs on the installing thread while this is
  // set; real changes arrive on the cache's watch thread.
  std::atomic<bool> installing_{true};
  std::thread::id installer_;
  std::uint64_t observerId_ = 0;
};

}  // namespace berth::control
