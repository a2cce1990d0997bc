#include "agent/simulated_fleet.h"

#include <algorithm>
#include <filesystem>
#include <unordered_set>

#include "common/fs_util.h"
#include "common/log.h"

namespace berth::agent {

namespace {

constexpr std::size_t kMaxRecordBytes = std::size_t{1} << 30;
constexpr std::string_view kRecordFile = "simulated-fleet.json";

// Failures worth retrying: the server is away, restarting or overloaded.
bool retryable(const Error& e) {
  return e.code == ErrorCode::kUnavailable || e.context == "ThrottlingException" || e.context == "ServerException";
}

// A simulated instance is not this machine: its size comes from --cpu and
// --memory, defaulting to a small instance (2 vCPU, 4 GiB) rather than the host.
HostFacts simulatedHost() {
  HostFacts h = detectHost();
  h.cpuCores = 2;
  h.memoryMiB = 4096;
  return h;
}

}  // namespace

SimulatedFleet::SimulatedFleet(SimulatedFleetOptions options, FleetChannel& channel, const Clock& clock)
    : options_(std::move(options)), channel_(channel), clock_(clock) {
  if (options_.availabilityZones.empty()) options_.availabilityZones.push_back(options_.instance.availabilityZone);
  options_.instancesPerPoll = std::max<std::size_t>(1, options_.instancesPerPoll);
  options_.registrationConcurrency = std::max<std::size_t>(1, options_.registrationConcurrency);
  options_.reportWorkers = std::max<std::size_t>(1, options_.reportWorkers);
  options_.instance.reservedMemoryMiB = 0;
  recordPath_ = (std::filesystem::path(options_.dataDir) / kRecordFile).string();
  instances_.resize(options_.count);
}

SimulatedFleet::~SimulatedFleet() { stop(); }

SimNow SimulatedFleet::now() const { return SimNow{clock_.epochSeconds(), clock_.monotonicNow()}; }

bool SimulatedFleet::sleepUnlessStopping(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  wakeCv_.wait_for(lock, d, [&] { return stopping_.load(); });
  return !stopping_.load();
}

std::vector<std::string> SimulatedFleet::instanceArns() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> arns;
  for (const auto& i : instances_) arns.push_back(i.arn);
  return arns;
}

std::size_t SimulatedFleet::taskCount() const {
  std::lock_guard lock(mu_);
  return tasks_.size();
}

std::optional<SimulatedTask> SimulatedFleet::taskForTest(const std::string& arn) const {
  std::lock_guard lock(mu_);
  auto it = tasks_.find(arn);
  if (it == tasks_.end()) return std::nullopt;
  return it->second;
}

// --- record ----------------------------------------------------------------

Status SimulatedFleet::loadRecord() {
  std::error_code ec;
  if (!std::filesystem::exists(recordPath_, ec)) return okStatus();
  auto text = readFile(recordPath_, kMaxRecordBytes);
  if (!text.ok()) return text.takeError();
  auto doc = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object())
    return Error::make(ErrorCode::kIo, "simulated fleet record is not valid JSON; remove it to start afresh", recordPath_);
  if (doc.value("cluster", "") != options_.instance.cluster) {
    log::warn("simulated fleet record is for another cluster; registering new instances",
              {{"recorded", doc.value("cluster", "")}, {"cluster", options_.instance.cluster}});
    return okStatus();
  }
  std::lock_guard lock(mu_);
  const auto& arns = doc.value("instances", nlohmann::json::array());
  for (std::size_t i = 0; i < arns.size() && i < instances_.size(); ++i)
    if (arns[i].is_string()) instances_[i].arn = arns[i].get<std::string>();
  for (const auto& j : doc.value("tasks", nlohmann::json::array())) {
    auto t = simulatedTaskFromRecord(j);
    if (!t || t->instance >= instances_.size()) continue;
    if (t->reported == SimStatus::kStopped) continue;  // the server has its end already
    t->reportQueued = false;
    tasks_.emplace(t->arn, std::move(*t));
  }
  log::info("simulated fleet record loaded", {{"instances", arns.size()}, {"tasks", tasks_.size()}});
  return okStatus();
}

Status SimulatedFleet::persistNow() {
  std::lock_guard persistLock(persistMu_);
  nlohmann::json doc;
  {
    std::lock_guard lock(mu_);
    dirty_ = false;
    nlohmann::json arns = nlohmann::json::array();
    for (const auto& i : instances_) arns.push_back(i.arn);
    nlohmann::json tasks = nlohmann::json::array();
    for (const auto& [arn, t] : tasks_) tasks.push_back(toRecordJson(t));
    doc = {{"version", 1}, {"cluster", options_.instance.cluster}, {"instances", std::move(arns)}, {"tasks", std::move(tasks)}};
  }
  return writeFileAtomic(recordPath_, doc.dump());
}

// --- registration ------------------------------------------------------------

Result<std::string> SimulatedFleet::registerInstance(std::size_t index, const std::string& previousArn) {
  static const HostFacts host = simulatedHost();
  InstanceConfig config = options_.instance;
  config.availabilityZone = options_.availabilityZones[index % options_.availabilityZones.size()];
  config.containerInstanceArn = previousArn;
  auto request = registerContainerInstanceRequest(
      config, host, derivedInstanceId(options_.dataDir + "#" + std::to_string(index)), options_.agentVersion);
  auto backoff = options_.retryBackoffStart;
  while (true) {
    auto r = channel_.registerContainerInstance(request);
    if (r.ok()) return r;
    if (request.contains("containerInstanceArn") && !retryable(r.error())) {
      // Our old identity is gone (deregistered while we were away): register anew.
      log::warn("re-registration refused; registering a new instance",
                {{"index", index}, {"containerInstanceArn", previousArn}, {"error", r.error().message}});
      request.erase("containerInstanceArn");
      continue;
    }
    if (!retryable(r.error()) || !sleepUnlessStopping(backoff)) return r;
    backoff = std::min(backoff * 2, options_.retryBackoffMax);
  }
}

Status SimulatedFleet::registerAll() {
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};
  std::mutex errorMu;
  std::optional<Error> firstError;
  auto worker = [&] {
    while (true) {
      {
        std::lock_guard lock(errorMu);
        if (firstError) return;
      }
      const std::size_t i = next.fetch_add(1);
      if (i >= instances_.size()) return;
      std::string previous;
      {
        std::lock_guard lock(mu_);
        previous = instances_[i].arn;
      }
      auto arn = registerInstance(i, previous);
      if (!arn.ok()) {
        std::lock_guard lock(errorMu);
        if (!firstError) firstError = arn.error();
        return;
      }
      {
        std::lock_guard lock(mu_);
        if (*arn != previous) {
          // A new identity: tasks recorded for the old one are not ours any more.
          for (auto it = tasks_.begin(); it != tasks_.end();)
            it = it->second.instance == i ? tasks_.erase(it) : std::next(it);
        }
        instances_[i].arn = *arn;
        instanceByArn_[*arn] = i;
      }
      if (std::size_t n = ++done; n % 1000 == 0) log::info("simulated instances registered", {{"registered", n}});
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t k = 0; k < std::min(options_.registrationConcurrency, instances_.size()); ++k) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  if (firstError) return *firstError;
  return okStatus();
}

Status SimulatedFleet::start() {
  BERTH_TRY(loadRecord());
  auto backoff = options_.retryBackoffStart;
  while (true) {
    auto cluster = channel_.createCluster(options_.instance.cluster);
    if (cluster.ok()) {
      clusterArn_ = *cluster;
      break;
    }
    if (!retryable(cluster.error()) || !sleepUnlessStopping(backoff)) return cluster.takeError();
    log::warn("server unreachable, retrying", {{"error", cluster.error().message}});
    backoff = std::min(backoff * 2, options_.retryBackoffMax);
  }
  BERTH_TRY(registerAll());
  {
    std::lock_guard lock(mu_);
    for (auto& [arn, t] : tasks_) {
      instances_[t.instance].tasks.push_back(arn);
      queueReportLocked(t);  // whatever the server had not accepted before the restart
    }
  }
  BERTH_TRY(persistNow());
  log::info("simulated container instances registered",
            {{"count", instances_.size()}, {"cluster", options_.instance.cluster}});
  std::lock_guard lifecycle(lifecycleMu_);
  if (stopping_) return Error::make(ErrorCode::kUnavailable, "simulated fleet stopped while starting");
  for (std::size_t first = 0; first < instances_.size(); first += options_.instancesPerPoll) {
    const std::size_t last = std::min(instances_.size(), first + options_.instancesPerPoll);
    threads_.emplace_back([this, first, last] { pollLoop(first, last); });
  }
  for (std::size_t k = 0; k < options_.reportWorkers; ++k) threads_.emplace_back([this] { reportLoop(); });
  threads_.emplace_back([this] { housekeepingLoop(); });
  return okStatus();
}

void SimulatedFleet::stop() {
  if (stopping_.exchange(true)) return;
  channel_.cancel();
  {
    std::lock_guard lock(mu_);  // no waiter can miss the flag between its check and its wait
  }
  reportsCv_.notify_all();
  wakeCv_.notify_all();
  std::lock_guard lifecycle(lifecycleMu_);
  for (auto& t : threads_) t.join();
  const bool started = !threads_.empty();
  threads_.clear();
  if (started) {
    auto st = persistNow();
    if (!st.ok()) log::error("cannot write the simulated fleet record", {{"error", st.error().message}});
  }
}

// --- task channel ------------------------------------------------------------

void SimulatedFleet::pollLoop(std::size_t first, std::size_t last) {
  std::int64_t version = 0;
  auto backoff = options_.retryBackoffStart;
  while (!stopping_) {
    std::vector<std::string> arns;
    {
      std::lock_guard lock(mu_);
      for (std::size_t i = first; i < last; ++i)
        if (!instances_[i].arn.empty()) arns.push_back(instances_[i].arn);
    }
    if (arns.empty()) {
      sleepUnlessStopping(std::chrono::seconds(1));
      continue;
    }
    auto r = channel_.pollTasks(clusterArn_, arns, version, options_.pollWait);
    if (!r.ok()) {
      if (stopping_) break;
      log::warn("batched task poll failed",
                {{"error", r.error().message}, {"type", r.error().context}, {"first", first}});
      sleepUnlessStopping(backoff);
      backoff = std::min(backoff * 2, options_.retryBackoffMax);
      continue;
    }
    backoff = options_.retryBackoffStart;
    for (const auto& update : r->instances) {
      std::size_t index;
      {
        std::lock_guard lock(mu_);
        auto it = instanceByArn_.find(update.containerInstanceArn);
        if (it == instanceByArn_.end()) continue;  // not ours (any more)
        index = it->second;
      }
      if (update.containerInstanceStatus == "INACTIVE") {
        // Deregistered: that identity is gone for good. Forget its tasks and join anew.
        log::warn("simulated instance was deregistered; registering anew",
                  {{"containerInstanceArn", update.containerInstanceArn}});
        {
          std::lock_guard lock(mu_);
          for (const auto& arn : instances_[index].tasks) tasks_.erase(arn);
          instances_[index].tasks.clear();
          instances_[index].arn.clear();
          instanceByArn_.erase(update.containerInstanceArn);
          dirty_ = true;
        }
        auto arn = registerInstance(index, "");
        if (!arn.ok()) {
          log::warn("re-registration failed", {{"index", index}, {"error", arn.error().message}});
          continue;  // the instance stays out of the polls until a restart
        }
        std::lock_guard lock(mu_);
        instances_[index].arn = *arn;
        instanceByArn_[*arn] = index;
        continue;
      }
      // Parse outside the lock: documents can be large.
      std::vector<ServerTaskView> views;
      views.reserve(update.tasks.size());
      for (const auto& t : update.tasks) views.push_back(serverTaskView(t));
      applyInstance(index, update, std::move(views));
    }
    version = r->version;
  }
}

void SimulatedFleet::applyInstance(std::size_t index, const InstanceTasks&, std::vector<ServerTaskView> views) {
  const SimNow t0 = now();
  std::lock_guard lock(mu_);
  auto& instance = instances_[index];
  std::unordered_set<std::string_view> listed;
  std::vector<std::string> kept;
  for (const auto& view : views) {
    if (view.arn.empty()) continue;
    listed.insert(view.arn);
    if (view.lastStatus == "STOPPED") {
      // The server has the end of this task (our report, or its own stop): done.
      tasks_.erase(view.arn);
      continue;
    }
    auto it = tasks_.find(view.arn);
    if (it == tasks_.end()) {
      auto adopted = adoptTask(view, static_cast<std::uint32_t>(index));
      if (!adopted) continue;
      it = tasks_.emplace(view.arn, std::move(*adopted)).first;
    }
    SimulatedTask& t = it->second;
    scheduleLocked(t.arn, observe(t, view, t0, options_.delays));
    queueReportLocked(t);
    kept.push_back(t.arn);
  }
  // Polls ask for changed tasks only (changedOnly): a task not listed did not
  // change, so it stays; tasks leave when the server shows them STOPPED.
  for (const auto& arn : instance.tasks)
    if (!listed.count(arn) && tasks_.count(arn)) kept.push_back(arn);
  instance.tasks = std::move(kept);
  dirty_ = true;
}

// --- timers, reports ---------------------------------------------------------

void SimulatedFleet::scheduleLocked(const std::string& arn, std::optional<std::chrono::steady_clock::time_point> due) {
  if (!due) return;
  const bool earliest = timers_.empty() || *due < timers_.top().due;
  timers_.push(Timer{*due, arn});
  if (earliest) wakeCv_.notify_all();
}

void SimulatedFleet::queueReportLocked(SimulatedTask& t) {
  if (!needsReport(t) || t.reportQueued) return;
  t.reportQueued = true;
  reports_.push_back(t.arn);
  reportsCv_.notify_one();
}

void SimulatedFleet::housekeepingLoop() {
  auto lastPersist = clock_.monotonicNow();
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const SimNow t0 = now();
    while (!timers_.empty() && timers_.top().due <= t0.monotonic) {
      Timer timer = timers_.top();
      timers_.pop();
      auto it = tasks_.find(timer.arn);
      // A stale entry (the task moved on, or its timer was reset) does nothing.
      if (it == tasks_.end() || !it->second.dueAt || *it->second.dueAt > t0.monotonic) continue;
      scheduleLocked(timer.arn, advance(it->second, t0, options_.delays));
      queueReportLocked(it->second);
      dirty_ = true;
    }
    if (dirty_ && t0.monotonic - lastPersist >= options_.persistInterval) {
      lastPersist = t0.monotonic;
      lock.unlock();
      auto st = persistNow();
      if (!st.ok()) log::error("cannot write the simulated fleet record", {{"error", st.error().message}});
      lock.lock();
      continue;
    }
    // Short slices: the clock may be a test's FakeClock, which real waits do not follow.
    auto wait = std::chrono::milliseconds(50);
    if (!timers_.empty()) {
      auto untilDue = std::chrono::duration_cast<std::chrono::milliseconds>(timers_.top().due - t0.monotonic);
      wait = std::clamp(untilDue, std::chrono::milliseconds(1), wait);
    }
    wakeCv_.wait_for(lock, wait);
  }
}

void SimulatedFleet::reportLoop() {
  while (true) {
    std::string arn;
    nlohmann::json change;
    SimStatus sent;
    {
      std::unique_lock lock(mu_);
      reportsCv_.wait(lock, [&] { return stopping_.load() || !reports_.empty(); });
      if (stopping_) return;
      arn = std::move(reports_.front());
      reports_.pop_front();
      auto it = tasks_.find(arn);
      if (it == tasks_.end()) continue;  // forgotten meanwhile
      change = stateChangeRequest(it->second, clusterArn_);
      sent = it->second.status;
    }
    auto backoff = options_.retryBackoffStart;
    bool accepted = true;
    while (true) {
      auto st = channel_.submitTaskStateChange(change);
      if (st.ok()) break;
      if (stopping_) return;  // not accepted: the record keeps it for the next start
      if (!retryable(st.error())) {
        // The server refused it (e.g. a task it no longer knows): sending it again cannot help.
        log::warn("task state change refused", {{"task", arn}, {"error", st.error().message}, {"type", st.error().context}});
        accepted = false;
        break;
      }
      log::debug("task state change not delivered; retrying", {{"task", arn}, {"error", st.error().message}});
      if (!sleepUnlessStopping(backoff)) return;
      backoff = std::min(backoff * 2, options_.retryBackoffMax);
    }
    std::lock_guard lock(mu_);
    auto it = tasks_.find(arn);
    if (it == tasks_.end()) continue;
    SimulatedTask& t = it->second;
    t.reportQueued = false;
    t.reported = std::max(t.reported, sent);
    if (!accepted && t.status == SimStatus::kStopped) {
      tasks_.erase(it);  // nothing more will ever be said about it
      continue;
    }
    dirty_ = true;
    queueReportLocked(t);  // it moved on while this report was in flight
  }
}

}  // namespace berth::agent
