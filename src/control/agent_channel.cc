#include "control/agent_channel.h"

#include <algorithm>
#include <future>
#include <unordered_set>

#include "common/log.h"
#include "control/cluster_ops.h"
#include "control/committer.h"
#include "control/container_instance_ops.h"
#include "control/json_fields.h"
#include "control/keys.h"
#include "control/lost_tasks.h"
#include "control/task_ops.h"

namespace berth::control {
namespace {

using nlohmann::json;

Error invalid(std::string message) { return Error::make(ErrorCode::kInvalidParameter, std::move(message)); }

struct TaskSet {
  json tasks = json::array();
  bool changed = false;
};

// The instance's task set as the protocol defines it (or, with `changedOnly`,
// only its tasks that changed after `since`), and whether any of it changed
// after `since`: read from the instance index, never a cluster scan.
TaskSet collect(const StateCache& cache, const InstanceTasks& index, const std::string& cluster,
                const std::string& instanceId, std::int64_t since, bool changedOnly) {
  TaskSet s;
  for (const auto& key : index.tasksOf(cluster, instanceId).taskKeys) {
    // Unchanged tasks are skipped before their documents are copied.
    if (changedOnly && cache.modRevision(key) <= since) continue;
    auto o = cache.get(key);
    if (!o) continue;  // deleted since the index was read
    const bool stopped = o->doc.value("lastStatus", "") == "STOPPED";
    if (stopped && o->modRevision <= since) continue;  // the agent saw it stop already
    if (o->modRevision > since) s.changed = true;
    else if (changedOnly) continue;
    json task = renderTask(o->doc, true);
    const json& b = o->doc.value("berth", json::object());
    auto td = cache.get(b.value("taskDefinitionKey", ""));
    task["taskDefinition"] = td ? td->doc.value("taskDefinition", json()) : json();
    s.tasks.push_back(std::move(task));
  }
  return s;
}

}  // namespace

AgentChannel::AgentChannel(EcsContext& ctx, const Clock& waitClock, AgentChannelOptions options)
    : ctx_(ctx), waitClock_(waitClock), options_(options), index_(ctx.cache) {
  index_.setListener([this](const std::string& cluster, const std::string& id, std::int64_t revision) {
    onInstanceChanged(cluster, id, revision);
  });
  thread_ = std::thread([this] { run(); });
}

AgentChannel::~AgentChannel() {
  index_.setListener(nullptr);  // before any member the listener touches goes
  shutdown();
}

Result<AgentChannel::WaiterPtr> AgentChannel::parse(const json& request, std::chrono::milliseconds& wait) const {
  // No API model covers this Berth-own operation: check the input here.
  if (auto* c = optField(request, "cluster"); c && !c->is_string()) return invalid("cluster must be a string.");
  auto* single = optField(request, "containerInstance");
  auto* many = optField(request, "containerInstances");
  if (single && many) return invalid("Specify either containerInstance or containerInstances, not both.");
  std::vector<std::string> refs;
  auto w = std::make_shared<Waiter>();
  if (many) {
    if (!many->is_array() || many->empty() || many->size() > options_.maxBatch)
      return invalid("containerInstances must be a list of 1 to " + std::to_string(options_.maxBatch) +
                     " container instance ARNs.");
    for (const auto& r : *many) {
      if (!r.is_string() || r.get_ref<const std::string&>().empty())
        return invalid("containerInstances must hold container instance ARNs (strings).");
      refs.push_back(r.get<std::string>());
    }
    w->batched = true;
  } else {
    auto ref = optString(request, "containerInstance");
    if (!ref || ref->empty()) return invalid("containerInstance must be specified (the container instance ARN).");
    refs.push_back(*ref);
  }
  if (auto* v = optField(request, "changedOnly")) {
    if (!v->is_boolean()) return invalid("changedOnly must be true or false.");
    w->changedOnly = v->get<bool>();
  }
  if (auto* v = optField(request, "sinceVersion")) {
    if (!v->is_number_integer() || v->get<std::int64_t>() < 0)
      return invalid("sinceVersion must be a non-negative integer (the version of the last response, or 0).");
    w->since = v->get<std::int64_t>();
  }
  wait = std::chrono::milliseconds(options_.maxWait);
  if (auto* v = optField(request, "waitSeconds")) {
    const double maxSeconds = static_cast<double>(options_.maxWait.count());
    if (!v->is_number() || v->get<double>() < 0 || v->get<double>() > maxSeconds)
      return invalid("waitSeconds must be a number from 0 to " + std::to_string(options_.maxWait.count()) + ".");
    wait = std::chrono::milliseconds(static_cast<std::int64_t>(v->get<double>() * 1000));
  }
  auto cluster = resolveActiveCluster(ctx_, request);
  if (!cluster.ok()) return cluster.takeError();
  w->cluster = *cluster;

  std::vector<std::string> ids;
  ids.reserve(refs.size());
  std::unordered_set<std::string> seen;
  std::vector<std::size_t> refOf;  // ids[i] came from refs[refOf[i]]
  for (std::size_t i = 0; i < refs.size(); ++i) {
    auto id = containerInstanceIdFromRef(refs[i], *cluster);
    if (!id)
      return invalid("containerInstance '" + refs[i] + "' is not a container instance ARN or ID of cluster " + *cluster + ".");
    if (!seen.insert(*id).second) continue;  // listed twice: one heartbeat, one entry
    ids.push_back(std::move(*id));
    refOf.push_back(i);
  }
  auto views = index_.views(*cluster, ids);
  w->targets.reserve(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (!views[i].registered)
      return Error::make(ErrorCode::kClient, "The container instance " + refs[refOf[i]] + " is not registered with cluster " +
                                                 *cluster + ". Register again without containerInstanceArn.");
    const bool reconnect = !views[i].agentConnected && views[i].status != "INACTIVE";
    w->targets.push_back(Target{std::move(ids[i]), std::move(views[i].arn), reconnect});
  }
  return w;
}

void AgentChannel::heartbeat(const Waiter& w) {
  const auto now = ctx_.clock.monotonicNow();
  std::lock_guard lock(mu_);
  for (const auto& t : w.targets) presence_[t.arn] = Presence{now, -1};
}

// agentConnected=true for every listed instance marked disconnected, in one
// transaction (a simulator's first batched poll may reconnect 10,000).
Status AgentChannel::connectAgents(const Waiter& w) const {
  std::vector<std::string> instanceKeys;
  for (const auto& t : w.targets)
    if (t.reconnect) instanceKeys.push_back(keys::containerInstance(w.cluster, t.id));
  if (instanceKeys.empty()) return okStatus();
  auto txn = commitWithRetry(ctx_, [&]() -> Result<store::TxnRequest> {
    store::TxnRequest txn;
    for (const auto& key : instanceKeys) {
      auto obj = ctx_.cache.get(key);
      if (!obj || obj->doc.value("status", "") == "INACTIVE") continue;
      if (obj->doc.value("agentConnected", false)) continue;
      json doc = std::move(obj->doc);
      doc["agentConnected"] = true;
      doc["version"] = doc.value("version", std::int64_t{0}) + 1;
      txn.compares.push_back({key, obj->modRevision});
      txn.ops.push_back(store::Op::put(key, doc.dump()));
    }
    return txn;
  });
  if (!txn.ok()) return txn.takeError();
  return okStatus();
}

std::optional<json> AgentChannel::answer(const Waiter& w, bool force) const {
  const std::int64_t rev = ctx_.cache.revision();  // read first: later changes are > rev
  std::vector<std::string> ids;
  ids.reserve(w.targets.size());
  for (const auto& t : w.targets) ids.push_back(t.id);
  auto views = index_.views(w.cluster, ids);
  if (!w.batched) {
    const auto& v = views[0];
    const std::string status = v.registered ? v.status : "INACTIVE";
    const bool inactive = status == "INACTIVE";
    TaskSet set;
    if (!inactive) set = collect(ctx_.cache, index_, w.cluster, ids[0], w.since, w.changedOnly);
    if (!force && !set.changed && !inactive) return std::nullopt;
    return json{{"version", set.changed || inactive ? rev : w.since},
                {"containerInstanceArn", w.targets[0].arn},
                {"containerInstanceStatus", status},
                {"tasks", std::move(set.tasks)}};
  }
  json instances = json::array();
  for (std::size_t i = 0; i < views.size(); ++i) {
    const auto& v = views[i];
    const std::string status = v.registered ? v.status : "INACTIVE";
    if (status == "INACTIVE") {
      instances.push_back({{"containerInstanceArn", w.targets[i].arn}, {"containerInstanceStatus", status}, {"tasks", json::array()}});
      continue;
    }
    if (v.latestRevision <= w.since) continue;  // cheap filter: nothing of it changed
    TaskSet set = collect(ctx_.cache, index_, w.cluster, ids[i], w.since, w.changedOnly);
    if (!set.changed) continue;  // only deletions
    instances.push_back({{"containerInstanceArn", w.targets[i].arn}, {"containerInstanceStatus", status}, {"tasks", std::move(set.tasks)}});
  }
  if (instances.empty()) {
    if (!force) return std::nullopt;
    return json{{"version", w.since}, {"instances", std::move(instances)}};
  }
  return json{{"version", rev}, {"instances", std::move(instances)}};
}

void AgentChannel::finish(const WaiterPtr& w, json response) {
  // No heartbeat here: a poll ended by its deadline says nothing about its
  // agent (one that died mid-poll would look alive up to maxWait longer),
  // and a live agent starts its next poll right after.
  w->done(std::move(response));
}

void AgentChannel::pollTasks(const json& request, PollDone done) {
  std::chrono::milliseconds wait{0};
  auto parsed = parse(request, wait);
  if (!parsed.ok()) {
    done(parsed.takeError());
    return;
  }
  WaiterPtr w = std::move(*parsed);
  w->done = std::move(done);
  w->deadline = waitClock_.monotonicNow() + wait;
  heartbeat(*w);
  if (auto st = connectAgents(*w); !st.ok() && st.error().code != ErrorCode::kNotFound) {
    w->done(st.takeError());
    return;
  }
  if (auto r = answer(*w, false)) return finish(w, std::move(*r));
  if (wait.count() == 0 || stopping_.load()) return finish(w, *answer(*w, true));
  park(w);
}

Result<json> AgentChannel::pollTasks(const json& request) {
  std::promise<Result<json>> answered;
  auto result = answered.get_future();
  pollTasks(request, [&answered](Result<json> r) { answered.set_value(std::move(r)); });
  return result.get();
}

void AgentChannel::park(const WaiterPtr& w) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_.load()) {
      w->id = nextWaiterId_++;
      for (const auto& t : w->targets) waitersBySlot_[InstanceTasks::slot(w->cluster, t.id)].push_back(w->id);
      deadlines_.emplace(w->deadline, w->id);
      waiters_.emplace(w->id, w);
    }
  }
  if (w->id == 0) return finish(w, *answer(*w, true));  // shut down meanwhile
  wake_.notify_all();  // its deadline may be the earliest
  // A change between answer() and registering was not seen by the listener:
  // look once more (the thread answers it if so).
  if (answer(*w, false)) {
    std::lock_guard lock(mu_);
    if (waiters_.count(w->id) && !w->woken) {
      w->woken = true;
      woken_.push_back(w->id);
    }
    wake_.notify_all();
  }
}

AgentChannel::WaiterPtr AgentChannel::takeLocked(std::uint64_t id) {
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return nullptr;
  WaiterPtr w = std::move(it->second);
  waiters_.erase(it);
  for (const auto& t : w->targets) {
    auto s = waitersBySlot_.find(InstanceTasks::slot(w->cluster, t.id));
    if (s == waitersBySlot_.end()) continue;
    std::erase(s->second, id);
    if (s->second.empty()) waitersBySlot_.erase(s);
  }
  auto range = deadlines_.equal_range(w->deadline);
  for (auto d = range.first; d != range.second; ++d)
    if (d->second == id) {
      deadlines_.erase(d);
      break;
    }
  return w;
}

// Under the cache's write lock and the index's lock: only note who to answer.
void AgentChannel::onInstanceChanged(const std::string& cluster, const std::string& instanceId, std::int64_t revision) {
  std::lock_guard lock(mu_);
  auto s = waitersBySlot_.find(InstanceTasks::slot(cluster, instanceId));
  if (s == waitersBySlot_.end()) return;
  bool any = false;
  for (auto id : s->second) {
    auto& w = waiters_.at(id);
    if (w->woken || revision <= w->since) continue;
    w->woken = true;
    woken_.push_back(id);
    any = true;
  }
  if (any) wake_.notify_all();
}

void AgentChannel::answerWoken() {
  std::vector<WaiterPtr> woken;
  {
    std::lock_guard lock(mu_);
    for (auto id : woken_) {
      auto it = waiters_.find(id);
      if (it == waiters_.end()) continue;
      it->second->woken = false;  // before answering: a change from now on queues it again
      woken.push_back(it->second);
    }
    woken_.clear();
  }
  for (const auto& w : woken) {
    auto r = answer(*w, false);
    if (!r) continue;  // e.g. only a deletion: keep waiting
    WaiterPtr taken;
    {
      std::lock_guard lock(mu_);
      taken = takeLocked(w->id);
    }
    if (taken) finish(taken, std::move(*r));
  }
}

void AgentChannel::expireDue() {
  std::vector<WaiterPtr> expired;
  {
    const auto now = waitClock_.monotonicNow();
    std::lock_guard lock(mu_);
    while (!deadlines_.empty() && deadlines_.begin()->first <= now)
      expired.push_back(takeLocked(deadlines_.begin()->second));
  }
  for (const auto& w : expired) finish(w, *answer(*w, true));
}

void AgentChannel::run() {
  std::unique_lock lock(mu_);
  while (!threadStop_) {
    if (!woken_.empty()) {
      lock.unlock();
      answerWoken();
      lock.lock();
      continue;
    }
    if (!deadlines_.empty() && deadlines_.begin()->first <= waitClock_.monotonicNow()) {
      lock.unlock();
      expireDue();
      lock.lock();
      continue;
    }
    // Sleep until the earliest deadline, a change, or a slice (the wait clock
    // may not be the one condition_variable follows).
    auto sleep = std::chrono::steady_clock::duration(options_.waitSlice);
    if (!deadlines_.empty())
      sleep = std::min(sleep, deadlines_.begin()->first - waitClock_.monotonicNow() + std::chrono::milliseconds(1));
    if (deadlines_.empty()) sleep = std::chrono::seconds(1);  // nothing parked: only woken_ or stop end the wait
    // No predicate: park() notifies when its deadline may be the earliest, and
    // the loop re-reads everything after any wake-up.
    wake_.wait_for(lock, sleep);
  }
}

AgentChannelOptions livenessOptions(std::chrono::seconds lostTimeout) {
  AgentChannelOptions o;
  o.lostAfter = lostTimeout;
  o.disconnectAfter = std::min(o.disconnectAfter, lostTimeout);
  return o;
}

// How many presence entries of instances no longer registered may pile up
// before a sweep removes them.
constexpr std::size_t kPresenceSlack = 1024;

LivenessSweep AgentChannel::sweepLiveness() {
  const auto now = ctx_.clock.monotonicNow();
  struct Seen {
    std::string cluster, id, arn;
    bool connected;
  };
  // Copy what the decision needs under the cache's lock, then decide under
  // ours (the cache's writers call onInstanceChanged, which takes mu_, so mu_
  // is never held while waiting for the cache).
  std::vector<Seen> instances;
  // Field lookups by reference: this runs every 2 s over every instance.
  auto text = [](const json& doc, const char* field) -> const std::string& {
    static const std::string empty;
    auto it = doc.find(field);
    return it != doc.end() && it->is_string() ? it->get_ref<const std::string&>() : empty;
  };
  ctx_.cache.scan(std::string(keys::kContainerInstances), "", [&](const std::string&, const CachedObject& o) {
    if (text(o.doc, "status") == "INACTIVE") return true;
    auto b = o.doc.find("berth");
    if (b == o.doc.end() || !b->is_object()) return true;
    auto connected = o.doc.find("agentConnected");
    instances.push_back(Seen{text(*b, "cluster"), text(*b, "id"), text(o.doc, "containerInstanceArn"),
                             connected != o.doc.end() && connected->is_boolean() && connected->get<bool>()});
    return true;
  });

  struct Lost {
    const Seen* instance;
    std::chrono::steady_clock::time_point lastSeen;
    std::int64_t sweptRevision;
    std::int64_t silentSeconds;
  };
  std::vector<const Seen*> silent;
  std::vector<Lost> lost;
  {
    std::lock_guard lock(mu_);
    // Deregistered and reaped instances leave entries behind: drop them once
    // they are many (rare, so the set is not built on every sweep).
    if (presence_.size() > instances.size() + kPresenceSlack) {
      std::unordered_set<std::string_view> live;
      for (const auto& inst : instances) live.insert(inst.arn);
      std::erase_if(presence_, [&](const auto& entry) { return !live.count(entry.first); });
    }
    for (const auto& inst : instances) {
      auto [it, unseen] = presence_.try_emplace(inst.arn, Presence{now, -1});
      if (unseen) continue;  // not heard from since this server started: full windows from now
      const auto silence = now - it->second.lastSeen;
      if (options_.lostAfter.count() > 0 && silence > options_.lostAfter)
        lost.push_back(Lost{&inst, it->second.lastSeen, it->second.lostSweptRevision,
                            std::chrono::duration_cast<std::chrono::seconds>(silence).count()});
      else if (inst.connected && silence > options_.disconnectAfter)
        silent.push_back(&inst);
    }
  }

  LivenessSweep sweep;
  for (const Seen* inst : silent) {
    auto st = setAgentConnected(ctx_, inst->cluster, inst->id, false);
    if (st.ok()) {
      ++sweep.disconnected;
      log::info("container instance agent disconnected", {{"cluster", inst->cluster}, {"containerInstance", inst->id}});
    } else if (st.error().code != ErrorCode::kNotFound) {
      log::warn("marking agent disconnected failed", {{"containerInstance", inst->id}, {"error", st.error().message}});
    }
  }

  // Lost: only instances with a task change since their last lost sweep (or
  // still marked connected) are looked at, so a long-lost instance costs a
  // map lookup per sweep.
  std::vector<LostInstance> work;
  std::vector<const Lost*> handled;
  for (const auto& l : lost) {
    const std::int64_t rev = index_.latestRevision(l.instance->cluster, l.instance->id);
    if (rev == l.sweptRevision && !l.instance->connected) continue;
    {
      std::lock_guard lock(mu_);  // heard from since the decision: not lost after all
      auto it = presence_.find(l.instance->arn);
      if (it == presence_.end() || it->second.lastSeen != l.lastSeen) continue;
    }
    work.push_back(LostInstance{l.instance->cluster, l.instance->id,
                                index_.tasksOf(l.instance->cluster, l.instance->id).taskKeys,
                                lostInstanceStopReason(l.instance->id, l.silentSeconds)});
    handled.push_back(&l);
  }
  if (work.empty()) return sweep;
  sweep.lostInstances = work.size();
  auto stopped = stopTasksOfLostInstances(ctx_, work);
  if (!stopped.ok()) {
    log::warn("stopping the tasks of lost container instances failed", {{"error", stopped.error().message}});
    return sweep;  // the next sweep tries again
  }
  sweep.tasksStopped = *stopped;
  for (const Lost* l : handled) {
    if (l->instance->connected) ++sweep.disconnected;
    // Our own writes moved the index: remember where it is now, unless the
    // agent was heard from meanwhile (then it is not lost any more).
    const std::int64_t after = index_.latestRevision(l->instance->cluster, l->instance->id);
    std::lock_guard lock(mu_);
    auto it = presence_.find(l->instance->arn);
    if (it != presence_.end() && it->second.lastSeen == l->lastSeen) it->second.lostSweptRevision = after;
  }
  if (*stopped > 0 || sweep.lostInstances > 0)
    log::warn("container instances lost: their tasks were stopped",
              {{"instances", sweep.lostInstances}, {"tasksStopped", *stopped}});
  return sweep;
}

void AgentChannel::shutdown() {
  std::vector<WaiterPtr> parked;
  {
    std::lock_guard lock(mu_);
    stopping_.store(true);
    threadStop_ = true;
    while (!waiters_.empty()) parked.push_back(takeLocked(waiters_.begin()->first));
    woken_.clear();
  }
  wake_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  for (const auto& w : parked) finish(w, *answer(*w, true));
}

std::optional<std::chrono::steady_clock::time_point> AgentChannel::lastSeenForTest(const std::string& arn) const {
  std::lock_guard lock(mu_);
  auto it = presence_.find(arn);
  if (it == presence_.end()) return std::nullopt;
  return it->second.lastSeen;
}

std::size_t AgentChannel::parkedForTest() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

}  // namespace berth::control
