#include "runtime/fake_runtime.h"

#include <algorithm>
#include <csignal>

#include "runtime/oci_spec.h"

namespace berth::runtime {

FakeRuntime::FakeRuntime(const Clock& clock) : clock_(clock) {}

void FakeRuntime::setBehaviorForIdPrefix(const std::string& prefix, FakeBehavior behavior) {
  std::lock_guard lock(mu_);
  byPrefix_[prefix] = std::move(behavior);
}

void FakeRuntime::setBehaviorForImage(const std::string& image, FakeBehavior behavior) {
  std::lock_guard lock(mu_);
  byImage_[image] = std::move(behavior);
}

void FakeRuntime::setDefaultBehavior(FakeBehavior behavior) {
  std::lock_guard lock(mu_);
  default_ = std::move(behavior);
}

FakeBehavior FakeRuntime::behaviorFor(const std::string& id, const nlohmann::json& spec) const {
  const FakeBehavior* best = nullptr;
  std::size_t bestLen = 0;
  for (const auto& [prefix, b] : byPrefix_) {
    if (id.rfind(prefix, 0) == 0 && (best == nullptr || prefix.size() > bestLen)) {
      best = &b;
      bestLen = prefix.size();
    }
  }
  if (best) return *best;
  if (spec.is_object() && spec.contains("annotations") && spec["annotations"].is_object()) {
    const auto image = spec["annotations"].value(std::string(kImageAnnotation), std::string());
    if (auto it = byImage_.find(image); it != byImage_.end()) return it->second;
  }
  return default_;
}

void FakeRuntime::advance(Container& c) const {
  if (c.status != ContainerStatus::kRunning || !c.behavior.runFor || !c.startedAt) return;
  const auto exitAt = *c.startedAt + *c.behavior.runFor;
  if (clock_.now() < exitAt) return;
  c.status = ContainerStatus::kStopped;
  c.finishedAt = exitAt;
  c.pid = 0;
  c.oomKilled = c.behavior.oomKilled;
  c.exitCode = c.behavior.oomKilled ? 128 + SIGKILL : c.behavior.exitCode;
}

Status FakeRuntime::create(const ContainerCreate& request) {
  std::lock_guard lock(mu_);
  if (request.id.empty()) return Error::make(ErrorCode::kInvalidParameter, "container id must not be empty");
  if (containers_.count(request.id)) {
    return Error::make(ErrorCode::kConflict, "container " + request.id + " already exists", request.id);
  }
  Container c;
  c.behavior = behaviorFor(request.id, request.ociSpec);
  if (c.behavior.createError) return *c.behavior.createError;
  c.spec = request.ociSpec;
  c.pid = nextPid_++;
  containers_.emplace(request.id, std::move(c));
  return okStatus();
}

Status FakeRuntime::start(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return Error::make(ErrorCode::kNotFound, "container " + id + " does not exist", id);
  Container& c = it->second;
  if (c.status != ContainerStatus::kCreated) {
    return Error::make(ErrorCode::kConflict, "container " + id + " is not in the created state", id);
  }
  if (c.behavior.startError) return *c.behavior.startError;
  c.status = ContainerStatus::kRunning;
  c.startedAt = clock_.now();
  advance(c);  // a zero runFor exits immediately
  return okStatus();
}

Status FakeRuntime::kill(const std::string& id, int signal) {
  std::lock_guard lock(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return Error::make(ErrorCode::kNotFound, "container " + id + " does not exist", id);
  Container& c = it->second;
  advance(c);
  c.signals.push_back(signal);
  if (c.status == ContainerStatus::kStopped || signal == 0) return okStatus();
  if (signal == SIGTERM && c.behavior.ignoreSigterm) return okStatus();
  c.status = ContainerStatus::kStopped;
  c.exitCode = 128 + signal;
  c.finishedAt = clock_.now();
  c.pid = 0;
  return okStatus();
}

Result<ContainerState> FakeRuntime::state(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return Error::make(ErrorCode::kNotFound, "container " + id + " does not exist", id);
  Container& c = it->second;
  advance(c);
  ContainerState st;
  st.id = id;
  st.status = c.status;
  st.pid = c.status == ContainerStatus::kStopped ? 0 : c.pid;
  st.exitCode = c.exitCode;
  st.oomKilled = c.oomKilled;
  st.startedAt = c.startedAt;
  st.finishedAt = c.finishedAt;
  return st;
}

Status FakeRuntime::remove(const std::string& id, bool force) {
  std::lock_guard lock(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return okStatus();  // as runc delete of a gone container: nothing to do
  advance(it->second);
  if (it->second.status == ContainerStatus::kRunning && !force) {
    return Error::make(ErrorCode::kConflict, "container " + id + " is running; stop it or remove with force", id);
  }
  containers_.erase(it);
  return okStatus();
}

Result<std::vector<std::string>> FakeRuntime::list() {
  std::lock_guard lock(mu_);
  std::vector<std::string> ids;
  for (const auto& [id, c] : containers_) ids.push_back(id);
  return ids;
}

void FakeRuntime::setExecResultsForIdPrefix(const std::string& prefix, std::vector<ExecResult> results) {
  std::lock_guard lock(mu_);
  execScripts_[prefix] = std::move(results);
  execCursor_[prefix] = 0;
}

Result<ExecResult> FakeRuntime::exec(const std::string& id, const ExecRequest& request) {
  std::lock_guard lock(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return Error::make(ErrorCode::kNotFound, "container " + id + " does not exist", id);
  advance(it->second);
  if (it->second.status != ContainerStatus::kRunning)
    return Error::make(ErrorCode::kFailedPrecondition, "container " + id + " is not running", id);
  execs_[id].push_back(request);
  const std::string* best = nullptr;
  for (const auto& [prefix, results] : execScripts_)
    if (id.rfind(prefix, 0) == 0 && !results.empty() && (best == nullptr || prefix.size() > best->size())) best = &prefix;
  if (!best) return ExecResult{0, false, ""};
  auto& results = execScripts_.at(*best);
  auto& cursor = execCursor_[*best];
  ExecResult r = results[std::min(cursor, results.size() - 1)];
  ++cursor;
  return r;
}

std::vector<ExecRequest> FakeRuntime::execsForTest(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = execs_.find(id);
  return it == execs_.end() ? std::vector<ExecRequest>{} : it->second;
}

std::optional<nlohmann::json> FakeRuntime::specForTest(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return std::nullopt;
  return it->second.spec;
}

std::vector<int> FakeRuntime::signalsForTest(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = containers_.find(id);
  return it == containers_.end() ? std::vector<int>{} : it->second.signals;
}

}  // namespace berth::runtime
