#include "agent/instance_registration.h"

#include <openssl/sha.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace berth::agent {

HostFacts detectHost() {
  HostFacts h;
  long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
  h.cpuCores = cores > 0 ? static_cast<int>(cores) : 1;
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  std::int64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit) {
    if (key == "MemTotal:") {
      h.memoryMiB = kib / 1024;
      break;
    }
  }
  struct utsname u {};
  if (::uname(&u) == 0) {
    h.architecture = u.machine;
    h.kernelVersion = u.release;
  }
  return h;
}

std::string derivedInstanceId(const std::string& seed) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(seed.data()), seed.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "i-";
  for (int i = 0; id.size() < 19; ++i) {
    id.push_back(kHex[digest[i] >> 4]);
    if (id.size() < 19) id.push_back(kHex[digest[i] & 0xf]);
  }
  return id;
}

nlohmann::json registerContainerInstanceRequest(const InstanceConfig& c, const HostFacts& host,
                                                const std::string& instanceId, const std::string& agentVersion) {
  std::int64_t cpu = c.cpuUnits > 0 ? c.cpuUnits : static_cast<std::int64_t>(host.cpuCores) * 1024;
  std::int64_t memory = c.memoryMiB > 0 ? c.memoryMiB : std::max<std::int64_t>(0, host.memoryMiB - c.reservedMemoryMiB);
  nlohmann::json resources = nlohmann::json::array({
      {{"name", "CPU"}, {"type", "INTEGER"}, {"integerValue", cpu}},
      {{"name", "MEMORY"}, {"type", "INTEGER"}, {"integerValue", memory}},
      {{"name", "PORTS"}, {"type", "STRINGSET"}, {"stringSetValue", c.reservedPorts}},
      {{"name", "PORTS_UDP"}, {"type", "STRINGSET"}, {"stringSetValue", c.reservedUdpPorts}},
  });
  // ECS reports the architecture as x86_64 / arm64.
  std::string arch = host.architecture == "aarch64" ? "arm64" : host.architecture;
  nlohmann::json attributes = nlohmann::json::array({
      {{"name", "ecs.os-type"}, {"value", "linux"}},
      {{"name", "ecs.os-family"}, {"value", "LINUX"}},
      {{"name", "ecs.cpu-architecture"}, {"value", arch}},
      {{"name", "ecs.availability-zone"}, {"value", c.availabilityZone}},
      {{"name", "ecs.instance-type"}, {"value", c.instanceType}},
      {{"name", "ecs.capability.execution-role-ecr-pull"}},
      {{"name", "com.amazonaws.ecs.capability.ecr-auth"}},
      {{"name", "com.amazonaws.ecs.capability.task-iam-role"}},
      {{"name", "ecs.capability.container-health-check"}},
      {{"name", "ecs.capability.container-ordering"}},
      {{"name", "ecs.capability.task-cpu-mem-limit"}},
      {{"name", "com.amazonaws.ecs.capability.logging-driver.json-file"}},
      {{"name", "com.amazonaws.ecs.capability.logging-driver.awslogs"}},
  });
  for (int minor = 17; minor <= 44; ++minor)
    attributes.push_back({{"name", "com.amazonaws.ecs.capability.docker-remote-api.1." + std::to_string(minor)}});
  for (const auto& [k, v] : c.attributes) {
    bool replaced = false;
    for (auto& a : attributes)
      if (a["name"] == k) { a["value"] = v; replaced = true; }
    if (!replaced) attributes.push_back({{"name", k}, {"value", v}});
  }
  nlohmann::json req = {
      {"cluster", c.cluster},
      {"instanceIdentityDocument", nlohmann::json({{"instanceId", instanceId},
                                                   {"availabilityZone", c.availabilityZone},
                                                   {"instanceType", c.instanceType},
                                                   {"architecture", arch}})
                                       .dump()},
      {"totalResources", resources},
      {"versionInfo", {{"agentVersion", agentVersion}, {"agentHash", "berth"}, {"dockerVersion", "runc (berth)"}}},
      {"attributes", attributes},
  };
  if (!c.containerInstanceArn.empty()) req["containerInstanceArn"] = c.containerInstanceArn;
  return req;
}

}  // namespace berth::agent
