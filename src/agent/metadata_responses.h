#pragma once
// The bodies of the task metadata endpoint v4 and the credentials endpoint,
// built from a TaskView and stats samples. Pure (no I/O, no clock): the
// server gathers the inputs, these shape them the way ECS does, so SDKs and
// tools written for ECS (and the documented examples) read them unchanged.
//
// Shapes: "Amazon ECS task metadata endpoint version 4" (container and task
// responses, Docker stats for /stats and /task/stats) and the ECS agent's
// credentials handler ({"AccessKeyId", "SecretAccessKey", "Token",
// "Expiration", "RoleArn"}; errors {"code", "message"}).
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/task_hooks.h"

namespace berth::agent {

// What the server knows beyond the TaskView.
struct MetadataContext {
  std::string region;            // for PrivateDNSName (empty: no DNS name)
  std::string availabilityZone;  // "" = from the task document, else omitted
  // ClockDrift, measured with adjtimex (nullopt: omitted).
  std::optional<double> clockErrorBoundMs;
  bool clockSynchronized = false;
  std::chrono::system_clock::time_point now;
};

// RFC 3339 with nanoseconds, as ECS/Docker write times ("2020-10-02T00:15:07.620912337Z").
std::string rfc3339Nano(std::chrono::system_clock::time_point t);
// Epoch seconds (number, fractions allowed) → RFC 3339; nullopt if not a number.
std::optional<std::string> rfc3339FromEpoch(const nlohmann::json& seconds);

// The container response (GET ${ECS_CONTAINER_METADATA_URI_V4}); nullopt when
// `containerName` is not in the task.
//
// Per-container times come from view.containerTimes[name] when the runner
// records them (CreatedAt, StartedAt, FinishedAt, Health.statusSince/output,
// RestartCount).
std::optional<nlohmann::json> containerMetadata(const TaskView& view, const std::string& containerName,
                                                const MetadataContext& ctx);

// The task response (GET .../task): the task and every container.
nlohmann::json taskMetadata(const TaskView& view, const MetadataContext& ctx);

// ---- stats ------------------------------------------------------------------

struct NetDevCounters {
  std::uint64_t rxBytes = 0, rxPackets = 0, rxErrors = 0, rxDropped = 0;
  std::uint64_t txBytes = 0, txPackets = 0, txErrors = 0, txDropped = 0;
};

struct BlkioEntry {
  std::uint64_t major = 0, minor = 0;
  std::string op;  // Read, Write, Sync, Async, Discard, Total
  std::uint64_t value = 0;
};

// One reading of a container's cgroup (v1) and network namespace.
struct ContainerStatsSample {
  std::chrono::system_clock::time_point read;
  std::uint64_t cpuTotalNs = 0;   // cpuacct.usage
  std::uint64_t cpuUserNs = 0;    // cpuacct.stat user (converted from USER_HZ)
  std::uint64_t cpuKernelNs = 0;  // cpuacct.stat system
  std::vector<std::uint64_t> perCpuNs;  // cpuacct.usage_percpu
  std::uint64_t systemCpuNs = 0;  // /proc/stat "cpu" line, all fields, in ns
  int onlineCpus = 0;
  std::uint64_t throttlePeriods = 0, throttledPeriods = 0, throttledTimeNs = 0;  // cpu.stat
  std::uint64_t memoryUsage = 0, memoryMaxUsage = 0, memoryLimit = 0;
  std::map<std::string, std::uint64_t> memoryStat;  // memory.stat
  std::uint64_t pids = 0;
  std::vector<BlkioEntry> ioServiceBytes, ioServiced;
  std::map<std::string, NetDevCounters> networks;  // by interface, loopback excluded
};

// Docker's stats shape for one container; `previous` fills precpu_stats and
// network_rate_stats (zeros, and "preread" the zero time, without one).
nlohmann::json dockerStats(const ContainerStatsSample& sample, const ContainerStatsSample* previous,
                           const std::string& id, const std::string& name);

// Parsers for the kernel files the sample is read from.
std::map<std::string, NetDevCounters> parseNetDev(const std::string& procNetDev);  // /proc/net/dev
std::map<std::string, std::uint64_t> parseKeyValues(const std::string& text);      // "key value" lines
std::vector<std::uint64_t> parseNumbers(const std::string& text);                  // whitespace-separated
std::vector<BlkioEntry> parseBlkio(const std::string& text);  // blkio.throttle.io_service_bytes
// The "cpu" line of /proc/stat in nanoseconds (USER_HZ ticks × 10^9 / ticksPerSecond).
std::uint64_t parseProcStatCpuNs(const std::string& procStat, long ticksPerSecond);

// ---- credentials -------------------------------------------------------------

struct TaskRoleCredentials {
  std::string accessKeyId;
  std::string secretAccessKey;
  std::string sessionToken;
  std::string roleArn;
  std::chrono::system_clock::time_point expiration;
};

nlohmann::json credentialsResponse(const TaskRoleCredentials& c);
// The ECS agent's error body for the credentials and metadata handlers.
nlohmann::json endpointError(const std::string& code, const std::string& message);

}  // namespace berth::agent
