#include "agent/task_volumes.h"

#include <filesystem>
#include <functional>
#include <set>

namespace berth::agent {
namespace {

bool safeName(const std::string& n) {
  if (n.empty() || n.size() > 255) return false;
  for (char ch : n)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_')) return false;
  return true;
}

Error invalid(const std::string& message) { return Error::make(ErrorCode::kInvalidParameter, message); }

}  // namespace

Result<TaskVolumes> resolveTaskVolumes(const TaskPlan& plan, const std::string& taskDir, const std::string& volumesDir) {
  TaskVolumes out;
  for (const auto& v : plan.volumes) {
    if (!v.is_object()) return invalid("volumes[] entries must be objects");
    ResolvedVolume r;
    r.name = v.value("name", "");
    if (!safeName(r.name))
      return invalid("volume name '" + r.name + "' must be 1-255 letters, digits, hyphens or underscores");
    if (out.volumes.count(r.name)) return invalid("volume " + r.name + " is declared twice");
    for (const char* unsupported : {"efsVolumeConfiguration", "fsxWindowsFileServerVolumeConfiguration"})
      if (v.contains(unsupported) && !v[unsupported].is_null())
        return invalid("volume " + r.name + ": " + unsupported + " is not supported on Berth");
    const auto host = v.value("host", nlohmann::json::object());
    const auto docker = v.value("dockerVolumeConfiguration", nlohmann::json());
    const std::string sourcePath = host.is_object() ? host.value("sourcePath", "") : "";
    if (!sourcePath.empty()) {
      if (sourcePath.front() != '/') return invalid("volume " + r.name + ": host.sourcePath must be absolute");
      r.hostPath = sourcePath;
    } else if (docker.is_object()) {
      const std::string driver = docker.value("driver", "local");
      if (driver != "local") return invalid("volume " + r.name + ": volume driver '" + driver + "' is not supported (only local)");
      const std::string scope = docker.value("scope", "task");
      if (scope == "shared") {
        if (volumesDir.empty()) return invalid("volume " + r.name + ": shared volumes need the agent's volumes directory");
        r.hostPath = (std::filesystem::path(volumesDir) / r.name).string();
        r.mustExist = !docker.value("autoprovision", false);
      } else if (scope == "task") {
        r.hostPath = (std::filesystem::path(taskDir) / "volumes" / r.name).string();
        r.taskScoped = true;
      } else {
        return invalid("volume " + r.name + ": scope must be task or shared (got " + scope + ")");
      }
    } else {
      r.hostPath = (std::filesystem::path(taskDir) / "volumes" / r.name).string();
      r.taskScoped = true;
    }
    out.volumes.emplace(r.name, r);
  }

  std::map<std::string, const ContainerPlan*> byName;
  for (const auto& c : plan.containers) byName[c.name] = &c;
  // Own mountPoints first, then volumesFrom (recursively, cycles cut).
  std::function<Result<std::vector<runtime::BindMount>>(const ContainerPlan&, std::set<std::string>&)> mountsOf =
      [&](const ContainerPlan& c, std::set<std::string>& visiting) -> Result<std::vector<runtime::BindMount>> {
    std::vector<runtime::BindMount> mounts;
    visiting.insert(c.name);
    for (const auto& mp : c.definition.value("mountPoints", nlohmann::json::array())) {
      const std::string source = mp.value("sourceVolume", "");
      const std::string path = mp.value("containerPath", "");
      auto it = out.volumes.find(source);
      if (it == out.volumes.end())
        return invalid("container " + c.name + ": mountPoints sourceVolume '" + source + "' is not a task volume");
      if (path.empty() || path.front() != '/')
        return invalid("container " + c.name + ": mountPoints containerPath must be absolute (got '" + path + "')");
      mounts.push_back({it->second.hostPath, path, mp.value("readOnly", false)});
    }
    for (const auto& vf : c.definition.value("volumesFrom", nlohmann::json::array())) {
      const std::string source = vf.value("sourceContainer", "");
      auto it = byName.find(source);
      if (it == byName.end())
        return invalid("container " + c.name + ": volumesFrom sourceContainer '" + source + "' is not in the task");
      if (visiting.count(source)) continue;
      auto theirs = mountsOf(*it->second, visiting);
      if (!theirs.ok()) return theirs.takeError();
      const bool ro = vf.value("readOnly", false);
      for (auto m : *theirs) {
        m.readOnly = m.readOnly || ro;
        bool shadowed = false;  // the container's own mount at that path wins
        for (const auto& own : mounts) shadowed = shadowed || own.destination == m.destination;
        if (!shadowed) mounts.push_back(m);
      }
    }
    visiting.erase(c.name);
    return mounts;
  };
  for (const auto& c : plan.containers) {
    std::set<std::string> visiting;
    auto mounts = mountsOf(c, visiting);
    if (!mounts.ok()) return mounts.takeError();
    out.mountsByContainer[c.name] = std::move(*mounts);
  }
  return out;
}

Status provisionVolumes(const TaskVolumes& volumes) {
  for (const auto& [name, v] : volumes.volumes) {
    std::error_code ec;
    if (v.mustExist) {
      if (!std::filesystem::is_directory(v.hostPath, ec))
        return Error::make(ErrorCode::kNotFound,
                           "shared volume " + name + " does not exist and autoprovision is false", v.hostPath);
      continue;
    }
    std::filesystem::create_directories(v.hostPath, ec);
    if (ec) return Error::make(ErrorCode::kIo, "cannot create volume " + name + ": " + ec.message(), v.hostPath);
  }
  return okStatus();
}

Status removeTaskScopedVolumes(const std::string& taskDir) {
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path(taskDir) / "volumes", ec);
  if (ec) return Error::make(ErrorCode::kIo, "cannot remove task volumes: " + ec.message(), taskDir);
  return okStatus();
}

}  // namespace berth::agent
