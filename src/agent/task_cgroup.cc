#include "agent/task_cgroup.h"

#include <filesystem>
#include <fstream>

namespace berth::agent {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kCfsPeriodUs = 100000;

Status writeFile(const fs::path& path, const std::string& value) {
  std::ofstream out(path);
  if (!out) return Error::make(ErrorCode::kIo, "cannot open cgroup file", path.string());
  out << value;
  out.flush();
  if (!out) return Error::make(ErrorCode::kIo, "cannot write '" + value + "' to cgroup file", path.string());
  return okStatus();
}

Status ensureDir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error::make(ErrorCode::kIo, "cannot create cgroup: " + ec.message(), dir.string());
  return okStatus();
}

std::string relative(const std::string& cgroupPath) {
  std::string rel = cgroupPath;
  while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
  return rel;
}

}  // namespace

Status applyTaskCgroupLimitsUnder(const std::string& cgroupRoot, const std::string& cgroupPath,
                                  const TaskCgroupLimits& limits) {
  const fs::path root(cgroupRoot);
  const std::string rel = relative(cgroupPath);
  std::error_code ec;
  if (fs::exists(root / "cgroup.controllers", ec)) {
    // cgroups v2: one tree; the parent must delegate cpu and memory to children.
    const fs::path dir = root / rel;
    BERTH_TRY(ensureDir(dir));
    if (limits.cpuUnits > 0)
      BERTH_TRY(writeFile(dir / "cpu.max", std::to_string(limits.cpuUnits * kCfsPeriodUs / 1024) + " " +
                                               std::to_string(kCfsPeriodUs)));
    if (limits.memoryMiB > 0) BERTH_TRY(writeFile(dir / "memory.max", std::to_string(limits.memoryMiB * 1024 * 1024)));
    return okStatus();
  }
  if (limits.cpuUnits > 0 && fs::exists(root / "cpu" / "cpu.cfs_quota_us", ec)) {
    const fs::path dir = root / "cpu" / rel;
    BERTH_TRY(ensureDir(dir));
    BERTH_TRY(writeFile(dir / "cpu.cfs_period_us", std::to_string(kCfsPeriodUs)));
    BERTH_TRY(writeFile(dir / "cpu.cfs_quota_us", std::to_string(limits.cpuUnits * kCfsPeriodUs / 1024)));
  }
  if (limits.memoryMiB > 0 && fs::exists(root / "memory" / "memory.limit_in_bytes", ec)) {
    const fs::path dir = root / "memory" / rel;
    BERTH_TRY(ensureDir(dir));
    BERTH_TRY(writeFile(dir / "memory.limit_in_bytes", std::to_string(limits.memoryMiB * 1024 * 1024)));
  }
  return okStatus();
}

Status applyTaskCgroupLimits(const std::string& cgroupPath, const TaskCgroupLimits& limits) {
  if (limits.cpuUnits <= 0 && limits.memoryMiB <= 0) return okStatus();
  return applyTaskCgroupLimitsUnder("/sys/fs/cgroup", cgroupPath, limits);
}

}  // namespace berth::agent
