#pragma once
// cgroupfs housekeeping the agent needs around runc: runc removes a
// container's own cgroup on delete, but the task-level parent
// (/berth/<task>) is ours to remove once its containers are gone.
#include <string>
#include <vector>

#include "common/result.h"

namespace berth::runtime {

// Mount points of every cgroup hierarchy on this host (v1 controllers and the
// v2 unified tree), from /proc/self/mountinfo.
std::vector<std::string> cgroupMountPoints();

// rmdir's `path` (e.g. "/berth/<task>") and any empty child cgroups, deepest
// first, in every mounted hierarchy. Missing directories are fine; a cgroup
// that still has processes gives kConflict.
Status removeCgroup(const std::string& path);

}  // namespace berth::runtime
