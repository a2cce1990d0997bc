#pragma once
// A task's volumes (task definition volumes[]) resolved to host directories,
// and each container's mountPoints/volumesFrom resolved to bind mounts.
//  * host.sourcePath            → that host path (created if missing, kept).
//  * no host path, or host {}   → a task-scoped directory under the task's
//                                 directory, shared by its containers and
//                                 removed with the task.
//  * dockerVolumeConfiguration  → scope "task" (default): task-scoped as
//    (driver "local" only)        above; scope "shared": <volumesDir>/<name>,
//                                 kept across tasks; it must exist unless
//                                 autoprovision is true.
// Other volume types (EFS, FSx) are rejected with a clear message.
// volumesFrom copies every mount of the source container (including what it
// got through its own volumesFrom); readOnly there makes them all read-only.
#include <map>
#include <string>
#include <vector>

#include "agent/task_plan.h"
#include "common/result.h"
#include "runtime/oci_spec.h"

namespace berth::agent {

struct ResolvedVolume {
  std::string name;
  std::string hostPath;
  bool taskScoped = false;    // removed with the task
  bool mustExist = false;     // shared volume without autoprovision
};

struct TaskVolumes {
  std::map<std::string, ResolvedVolume> volumes;                        // by volume name
  std::map<std::string, std::vector<runtime::BindMount>> mountsByContainer;  // by container name
};

// Pure: paths and mounts. kInvalidParameter for unknown volumes/containers,
// bad names, unsupported volume types, relative container paths.
Result<TaskVolumes> resolveTaskVolumes(const TaskPlan& plan, const std::string& taskDir, const std::string& volumesDir);

// Creates the directories (task-scoped and autoprovisioned shared ones, and
// missing host source paths). kNotFound for a shared volume that must exist.
Status provisionVolumes(const TaskVolumes& volumes);

// Removes the task-scoped volume directories (<taskDir>/volumes). Idempotent.
Status removeTaskScopedVolumes(const std::string& taskDir);

}  // namespace berth::agent
