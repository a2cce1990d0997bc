#include "agent/local_record.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/fs_util.h"

namespace berth::agent {

ContainerRecord* findContainer(TaskRecord& task, const std::string& name) {
  for (auto& c : task.containers)
    if (c.name == name) return &c;
  return nullptr;
}

namespace {

constexpr const char* kFileName = "agent-state.json";

}  // namespace

nlohmann::json toJson(const AgentState& s) {
  nlohmann::json tasks = nlohmann::json::object();
  for (const auto& [arn, t] : s.tasks) {
    nlohmann::json containers = nlohmann::json::array();
    for (const auto& c : t.containers) {
      nlohmann::json cj = {{"name", c.name}, {"runtimeId", c.runtimeId}, {"lastStatus", c.lastStatus}, {"reason", c.reason}};
      if (c.exitCode) cj["exitCode"] = *c.exitCode;
      if (!c.imageDigest.empty()) cj["imageDigest"] = c.imageDigest;
      if (c.healthStatus != "UNKNOWN") cj["healthStatus"] = c.healthStatus;
      containers.push_back(std::move(cj));
    }
    tasks[arn] = {{"taskArn", t.taskArn}, {"lastStatus", t.lastStatus}, {"desiredStatus", t.desiredStatus},
                  {"task", t.task}, {"containers", containers}};
  }
  return {{"version", 1}, {"clusterArn", s.clusterArn}, {"containerInstanceArn", s.containerInstanceArn}, {"tasks", tasks}};
}

Result<AgentState> agentStateFromJson(const nlohmann::json& doc) {
  if (!doc.is_object() || doc.value("version", 0) != 1)
    return Error::make(ErrorCode::kInvalidParameter, "agent record has an unknown format");
  AgentState s;
  s.clusterArn = doc.value("clusterArn", "");
  s.containerInstanceArn = doc.value("containerInstanceArn", "");
  // Keep the tasks object alive for the loop: items() does not own its json.
  const nlohmann::json tasks = doc.value("tasks", nlohmann::json::object());
  for (const auto& [arn, t] : tasks.items()) {
    TaskRecord r;
    r.taskArn = t.value("taskArn", arn);
    r.lastStatus = t.value("lastStatus", "PENDING");
    r.desiredStatus = t.value("desiredStatus", "RUNNING");
    r.task = t.value("task", nlohmann::json::object());
    for (const auto& c : t.value("containers", nlohmann::json::array())) {
      ContainerRecord cr;
      cr.name = c.value("name", "");
      cr.runtimeId = c.value("runtimeId", "");
      cr.imageDigest = c.value("imageDigest", "");
      cr.healthStatus = c.value("healthStatus", "UNKNOWN");
      cr.lastStatus = c.value("lastStatus", "PENDING");
      cr.reason = c.value("reason", "");
      if (c.contains("exitCode") && c["exitCode"].is_number_integer()) cr.exitCode = c["exitCode"].get<int>();
      r.containers.push_back(std::move(cr));
    }
    s.tasks.emplace(arn, std::move(r));
  }
  return s;
}

Result<std::unique_ptr<LocalRecord>> LocalRecord::open(const std::string& dataDir) {
  std::error_code ec;
  std::filesystem::create_directories(dataDir, ec);
  if (ec) return Error::make(ErrorCode::kIo, "cannot create agent data dir: " + ec.message(), dataDir);
  const std::string path = (std::filesystem::path(dataDir) / kFileName).string();
  std::ifstream in(path);
  if (!in) return std::unique_ptr<LocalRecord>(new LocalRecord(path, AgentState{}));
  std::stringstream ss;
  ss << in.rdbuf();
  auto doc = nlohmann::json::parse(ss.str(), nullptr, false);
  if (doc.is_discarded()) return Error::make(ErrorCode::kIo, "agent record is not valid JSON", path);
  auto state = agentStateFromJson(doc);
  if (!state.ok()) return Error::make(ErrorCode::kIo, state.error().message, path);
  return std::unique_ptr<LocalRecord>(new LocalRecord(path, std::move(*state)));
}

AgentState LocalRecord::snapshot() const {
  std::lock_guard lock(mu_);
  return state_;
}

Status LocalRecord::update(const std::function<void(AgentState&)>& change) {
  std::lock_guard lock(mu_);
  AgentState next = state_;
  change(next);
  auto st = persist(next);
  if (!st.ok()) return st;
  state_ = std::move(next);
  return okStatus();
}

// 0600: task documents carry container environments.
Status LocalRecord::persist(const AgentState& state) const { return writeFileAtomic(path_, toJson(state).dump(), 0600); }

}  // namespace berth::agent
