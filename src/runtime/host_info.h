#pragma once
// Host facts the pure spec builder takes as input: the agent's rlimit hard
// limits and capability bounding set, device nodes, and files from a rootfs.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "runtime/oci_spec.h"

namespace berth::runtime {

// "RLIMIT_NOFILE" -> this process's hard limit, for every rlimit ECS knows.
// RLIM_INFINITY is left out (no clamp needed).
std::map<std::string, std::uint64_t> hostHardLimits();

// This process's capability bounding set ("CAP_..." names), from
// /proc/self/status; kIo if it cannot be read.
Result<std::vector<std::string>> hostCapabilities();

// Stats hostPath (must be a character or block device) for ECS
// linuxParameters.devices; containerPath empty = same as hostPath.
Result<LinuxDevice> resolveDevice(const std::string& hostPath, const std::string& containerPath,
                                  const std::string& permissions);

// Reads <rootfs>/<relativePath> without following symlinks out of the rootfs
// (the file is read only if it is a regular file reached without any
// symlink); "" when missing. Used for /etc/passwd and /etc/group.
std::string readRootfsFile(const std::string& rootfs, const std::string& relativePath);

}  // namespace berth::runtime
