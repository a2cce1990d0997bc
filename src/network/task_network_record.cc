#include "network/task_network_record.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>

#include "common/fs_util.h"

namespace berth::network {

Status validateTaskId(const std::string& taskId) {
  bool ok = !taskId.empty() && taskId.size() <= 128 && taskId[0] != '.';
  for (char c : taskId) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  if (!ok) return Error::make(ErrorCode::kInvalidParameter, "task id not usable as a network name: '" + taskId + "'");
  return okStatus();
}

nlohmann::json TaskNetworkRecord::toJson() const {
  nlohmann::json ports = nlohmann::json::array();
  for (const auto& p : this->ports)
    ports.push_back({{"containerName", p.containerName}, {"bindIP", p.bindIP}, {"containerPort", p.containerPort},
                     {"hostPort", p.hostPort}, {"protocol", p.protocol}});
  return {{"version", kVersion},
          {"taskId", taskId},
          {"complete", complete},
          {"networkMode", networkMode},
          {"netnsPath", netnsPath},
          {"containerId", containerId},
          {"ifName", ifName},
          {"conflist", conflist},
          {"capabilityArgs", capabilityArgs},
          {"cniResult", cniResult},
          {"ports", ports},
          {"network", network ? network->toJson() : nlohmann::json()}};
}

Result<TaskNetworkRecord> TaskNetworkRecord::fromJson(const nlohmann::json& j) {
  if (!j.is_object() || j.value("version", 0) != kVersion)
    return Error::make(ErrorCode::kSerialization, "task network record has an unknown format");
  try {
    TaskNetworkRecord r;
    r.taskId = j.at("taskId").get<std::string>();
    r.complete = j.value("complete", false);
    r.networkMode = j.value("networkMode", "");
    r.netnsPath = j.value("netnsPath", "");
    r.containerId = j.value("containerId", "");
    r.ifName = j.value("ifName", "eth0");
    r.conflist = j.value("conflist", nlohmann::json());
    r.capabilityArgs = j.value("capabilityArgs", nlohmann::json::object());
    r.cniResult = j.value("cniResult", nlohmann::json());
    // Reuse TaskNetwork's binding parser for the held ports.
    auto held = TaskNetwork::fromJson({{"bindings", j.value("ports", nlohmann::json::array())}});
    if (!held) return held.takeError();
    r.ports = held->bindings;
    if (j.contains("network") && !j["network"].is_null()) {
      auto n = TaskNetwork::fromJson(j["network"]);
      if (!n) return n.takeError();
      r.network = std::move(*n);
    }
    return r;
  } catch (const nlohmann::json::exception& e) {
    return Error::make(ErrorCode::kSerialization, std::string("task network record: ") + e.what());
  }
}

Status TaskNetworkRecordStore::init() const { return makeDirs(dir_, 0700); }

Status TaskNetworkRecordStore::save(const TaskNetworkRecord& r) const {
  return writeFileAtomic(path(r.taskId), r.toJson().dump(), 0600);
}

Result<std::optional<TaskNetworkRecord>> TaskNetworkRecordStore::load(const std::string& taskId) const {
  BERTH_TRY(validateTaskId(taskId));
  struct stat st {};
  if (stat(path(taskId).c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<TaskNetworkRecord>();
    return ioError("stat task network record", path(taskId), errno);
  }
  auto text = readFile(path(taskId), 4 << 20);
  if (!text) return text.takeError();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  auto r = TaskNetworkRecord::fromJson(j);
  if (!r) return Error::make(r.error().code, r.error().message, path(taskId));
  return std::optional<TaskNetworkRecord>(std::move(*r));
}

Status TaskNetworkRecordStore::remove(const std::string& taskId) const {
  if (unlink(path(taskId).c_str()) != 0 && errno != ENOENT) return ioError("remove task network record", path(taskId), errno);
  return fsyncDir(dir_);
}

Result<std::vector<std::string>> TaskNetworkRecordStore::taskIds() const {
  std::vector<std::string> out;
  DIR* d = opendir(dir_.c_str());
  if (!d) {
    if (errno == ENOENT) return out;
    return ioError("list task network records", dir_, errno);
  }
  while (auto* e = readdir(d)) {
    std::string name = e->d_name;
    const std::string ext = ".json";
    if (name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0 && name[0] != '.')
      out.push_back(name.substr(0, name.size() - ext.size()));
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace berth::network
