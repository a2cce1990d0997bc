#include "control/agent_channel.h"

#include <algorithm>

#include "common/log.h"
#include "control/cluster_ops.h"
#include "control/container_instance_ops.h"
#include "control/json_fields.h"
#include "control/keys.h"
#include "control/task_ops.h"

namespace berth::control {
namespace {

using nlohmann::json;

Error invalid(std::string message) { return Error::make(ErrorCode::kInvalidParameter, std::move(message)); }

struct Snapshot {
  json tasks = json::array();
  bool changed = false;
};

// The instance's task set as the protocol defines it, and whether any of it
// changed after `since`.
Snapshot collect(const StateCache& cache, const std::string& cluster, const std::string& instanceId,
                 std::int64_t since) {
  Snapshot s;
  std::vector<std::string> definitionKeys;
  cache.scan(keys::clusterScoped(keys::kTasks, cluster), "", [&](const std::string&, const CachedObject& o) {
    const json& b = o.doc.value("berth", json::object());
    if (b.value("instanceId", "") != instanceId) return true;
    const bool stopped = o.doc.value("lastStatus", "") == "STOPPED";
    if (stopped && o.modRevision <= since) return true;  // the agent saw it stop already
    if (o.modRevision > since) s.changed = true;
    s.tasks.push_back(renderTask(o.doc, true));
    definitionKeys.push_back(b.value("taskDefinitionKey", ""));
    return true;
  });
  // Outside the scan: the cache's shared lock must not be taken twice by one thread.
  for (std::size_t i = 0; i < s.tasks.size(); ++i) {
    auto td = cache.get(definitionKeys[i]);
    s.tasks[i]["taskDefinition"] = td ? td->doc.value("taskDefinition", json()) : json();
  }
  return s;
}

}  // namespace

AgentChannel::AgentChannel(EcsContext& ctx, const Clock& waitClock, AgentChannelOptions options)
    : ctx_(ctx), waitClock_(waitClock), options_(options) {}

void AgentChannel::heartbeat(const std::string& arn, int inFlightDelta) {
  std::lock_guard lock(mu_);
  auto& p = presence_[arn];
  p.lastSeen = ctx_.clock.monotonicNow();
  p.pollsInFlight = std::max(0, p.pollsInFlight + inFlightDelta);
}

Result<json> AgentChannel::pollTasks(const json& request) {
  // No API model covers this Berth-own operation: check the input here.
  if (auto* c = optField(request, "cluster"); c && !c->is_string()) return invalid("cluster must be a string.");
  auto ref = optString(request, "containerInstance");
  if (!ref || ref->empty()) return invalid("containerInstance must be specified (the container instance ARN).");
  std::int64_t since = 0;
  if (auto* v = optField(request, "sinceVersion")) {
    if (!v->is_number_integer() || v->get<std::int64_t>() < 0)
      return invalid("sinceVersion must be a non-negative integer (the version of the last response, or 0).");
    since = v->get<std::int64_t>();
  }
  auto wait = std::chrono::milliseconds(options_.maxWait);
  if (auto* v = optField(request, "waitSeconds")) {
    const double maxSeconds = static_cast<double>(options_.maxWait.count());
    if (!v->is_number() || v->get<double>() < 0 || v->get<double>() > maxSeconds)
      return invalid("waitSeconds must be a number from 0 to " + std::to_string(options_.maxWait.count()) + ".");
    wait = std::chrono::milliseconds(static_cast<std::int64_t>(v->get<double>() * 1000));
  }
  auto cluster = resolveActiveCluster(ctx_, request);
  if (!cluster.ok()) return cluster.takeError();
  auto id = containerInstanceIdFromRef(*ref, *cluster);
  if (!id) return invalid("containerInstance '" + *ref + "' is not a container instance ARN or ID of cluster " + *cluster + ".");
  const std::string instanceKey = keys::containerInstance(*cluster, *id);
  auto instance = ctx_.cache.get(instanceKey);
  if (!instance)
    return Error::make(ErrorCode::kClient, "The container instance " + *ref + " is not registered with cluster " + *cluster +
                                               ". Register again without containerInstanceArn.");
  const std::string arn = instance->doc.value("containerInstanceArn", "");
  auto respond = [&](std::int64_t version, const std::string& status, json tasks) {
    return json{{"version", version}, {"containerInstanceArn", arn}, {"containerInstanceStatus", status},
                {"tasks", std::move(tasks)}};
  };
  // Deregistered: nothing to run; the agent learns it must stop (or re-register).
  if (instance->doc.value("status", "") == "INACTIVE") return respond(ctx_.cache.revision(), "INACTIVE", json::array());

  heartbeat(arn, +1);
  struct Done {
    AgentChannel* self;
    const std::string& arn;
    ~Done() { self->heartbeat(arn, -1); }
  } done{this, arn};
  if (!instance->doc.value("agentConnected", false)) {
    auto st = setAgentConnected(ctx_, *cluster, *id, true);
    if (!st.ok() && st.error().code != ErrorCode::kNotFound) return st.takeError();
  }

  const std::string tasksPrefix = keys::clusterScoped(keys::kTasks, *cluster);
  const auto deadline = waitClock_.monotonicNow() + wait;
  while (true) {
    const std::int64_t rev = ctx_.cache.revision();  // read before the scan: later changes are > rev
    auto current = ctx_.cache.get(instanceKey);
    const std::string status = current ? current->doc.value("status", "INACTIVE") : "INACTIVE";
    Snapshot snap = collect(ctx_.cache, *cluster, *id, since);
    if (snap.changed || status == "INACTIVE") return respond(rev, status, std::move(snap.tasks));
    while (true) {
      if (stopping_.load()) return respond(since, status, std::move(snap.tasks));
      const auto now = waitClock_.monotonicNow();
      if (now >= deadline) return respond(since, status, std::move(snap.tasks));
      auto slice = std::min<std::chrono::steady_clock::duration>(deadline - now, options_.waitSlice);
      if (ctx_.cache.waitForPrefixChange(tasksPrefix, rev,
                                         std::chrono::duration_cast<std::chrono::milliseconds>(slice) +
                                             std::chrono::milliseconds(1)))
        break;  // something under the cluster's tasks changed: look again
    }
  }
}

std::size_t AgentChannel::markDisconnectedAgents() {
  const auto now = ctx_.clock.monotonicNow();
  std::vector<std::pair<std::string, std::string>> silent;  // (cluster, id)
  ctx_.cache.scan(std::string(keys::kContainerInstances), "", [&](const std::string&, const CachedObject& o) {
    if (!o.doc.value("agentConnected", false) || o.doc.value("status", "") == "INACTIVE") return true;
    const std::string arn = o.doc.value("containerInstanceArn", "");
    std::lock_guard lock(mu_);
    auto it = presence_.find(arn);
    if (it == presence_.end()) {
      // Not heard from since this server started: give it a full window.
      presence_[arn] = Presence{now, 0};
      return true;
    }
    if (it->second.pollsInFlight == 0 && now - it->second.lastSeen > options_.disconnectAfter) {
      const json& b = o.doc.value("berth", json::object());
      silent.emplace_back(b.value("cluster", ""), b.value("id", ""));
    }
    return true;
  });
  std::size_t marked = 0;
  for (const auto& [cluster, id] : silent) {
    auto st = setAgentConnected(ctx_, cluster, id, false);
    if (st.ok()) {
      ++marked;
      log::info("container instance agent disconnected", {{"cluster", cluster}, {"containerInstance", id}});
    } else if (st.error().code != ErrorCode::kNotFound) {
      log::warn("marking agent disconnected failed", {{"containerInstance", id}, {"error", st.error().message}});
    }
  }
  return marked;
}

void AgentChannel::shutdown() { stopping_.store(true); }

std::optional<std::chrono::steady_clock::time_point> AgentChannel::lastSeenForTest(const std::string& arn) const {
  std::lock_guard lock(mu_);
  auto it = presence_.find(arn);
  if (it == presence_.end()) return std::nullopt;
  return it->second.lastSeen;
}

}  // namespace berth::control
