#include "control/ecs_event_source.h"

#include "control/ecs_events.h"
#include "control/keys.h"

namespace berth::control {
namespace {

bool startsWith(const std::string& s, std::string_view prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// A new document, or one whose state-change counter moved.
bool versionChanged(const CachedObject* before, const CachedObject& after) {
  if (!before) return true;
  return before->doc.value("version", std::int64_t{0}) != after.doc.value("version", std::int64_t{0});
}

}  // namespace

EcsEventSource::EcsEventSource(EcsContext& ctx, EventSink& sink) : ctx_(ctx), sink_(sink) {
  installer_ = std::this_thread::get_id();
  observerId_ = ctx_.cache.addObserver(
      [this](const std::string& key, const CachedObject* before, const CachedObject* after) {
        onChange(key, before, after);
      });
  installing_.store(false);
}

EcsEventSource::~EcsEventSource() { ctx_.cache.removeObserver(observerId_); }

void EcsEventSource::onChange(const std::string& key, const CachedObject* before, const CachedObject* after) {
  if (installing_.load() && std::this_thread::get_id() == installer_) return;  // the replay of existing keys
  if (!after || !versionChanged(before, *after)) return;
  if (startsWith(key, keys::kTasks)) {
    sink_.publish(taskStateChangeEvent(ctx_.account, ctx_.random, after->doc, ctx_.clock.epochSeconds()));
  } else if (startsWith(key, keys::kContainerInstances)) {
    sink_.publish(containerInstanceStateChangeEvent(ctx_.account, ctx_.random, after->doc, ctx_.clock.epochSeconds()));
  }
}

}  // namespace berth::control
