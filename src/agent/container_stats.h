#pragma once
// Reads a container's resource usage for the metadata endpoint's /stats:
// cgroup v1 controllers (cpuacct, cpu, memory, pids, blkio) at the
// container's cgroupsPath, and the interfaces of its network namespace
// (/proc/<a pid of the container>/net/dev). Missing files read as zeros: a
// container that has just stopped, or a controller that is not mounted, still
// gets a well-formed answer.
#include <chrono>
#include <string>

#include "agent/metadata_responses.h"

namespace berth::agent {

struct StatsSource {
  std::string cgroupRoot = "/sys/fs/cgroup";
  std::string procRoot = "/proc";
};

// `cgroupPath` as in the OCI spec ("/berth/<task>/<container>"). `withNetwork`:
// read the namespace's interfaces (false for host-mode tasks: Docker reports
// none for them either).
ContainerStatsSample readContainerStats(const StatsSource& source, const std::string& cgroupPath, bool withNetwork,
                                        std::chrono::system_clock::time_point now);

}  // namespace berth::agent
