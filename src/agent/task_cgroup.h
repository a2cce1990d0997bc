#pragma once
// Task-level cgroup limits (ECS task cpu/memory) on the parent cgroup that
// holds a task's containers ("/berth/<task-id>", cgroups v1 or v2). Containers
// get their own limits from their OCI specs; the task's limits cap their sum.
#include <cstdint>
#include <string>

#include "common/result.h"

namespace berth::agent {

struct TaskCgroupLimits {
  std::int64_t cpuUnits = 0;   // 0 = no task cpu: no quota
  std::int64_t memoryMiB = 0;  // 0 = no task memory: no limit
};

// Creates the task cgroup under every mounted hierarchy that has the
// controller and writes the limits: cpu as a CFS quota (units/1024 CPUs,
// ECS's hard task-level cpu limit on Linux), memory as the hard limit.
Status applyTaskCgroupLimits(const std::string& cgroupPath, const TaskCgroupLimits& limits);

// Where the limits are written, for one cgroupfs root (exposed for tests).
Status applyTaskCgroupLimitsUnder(const std::string& cgroupRoot, const std::string& cgroupPath,
                                  const TaskCgroupLimits& limits);

}  // namespace berth::agent
