#pragma once
// What an agent tells the server about its machine when it registers: the
// RegisterContainerInstance request, built the way the ECS agent builds it.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace berth::agent {

struct HostFacts {
  int cpuCores = 1;
  std::int64_t memoryMiB = 0;  // MemTotal
  std::string architecture = "x86_64";
  std::string kernelVersion;
};

// Reads /proc/cpuinfo-equivalent (sysconf), /proc/meminfo and uname.
HostFacts detectHost();

struct InstanceConfig {
  std::string cluster = "default";
  std::string availabilityZone = "local-1a";
  std::string instanceType = "berth.local";
  std::vector<std::pair<std::string, std::string>> attributes;  // --attribute k=v
  std::int64_t cpuUnits = 0;           // 0 = 1024 per detected core
  std::int64_t memoryMiB = 0;          // 0 = detected MemTotal less reservedMemoryMiB
  std::int64_t reservedMemoryMiB = 256;  // kept for the OS and the agent (ECS_RESERVED_MEMORY)
  std::vector<std::string> reservedPorts = {"22", "2375", "2376", "51678", "51679"};  // ECS_RESERVED_PORTS
  std::vector<std::string> reservedUdpPorts;
  std::string containerInstanceArn;    // set when re-registering after a restart
};

// Stable EC2-style instance id ("i-" + 17 hex) derived from the data dir and
// host name, so one agent keeps its identity across restarts.
std::string derivedInstanceId(const std::string& seed);

nlohmann::json registerContainerInstanceRequest(const InstanceConfig& config, const HostFacts& host,
                                                const std::string& instanceId, const std::string& agentVersion);

}  // namespace berth::agent
