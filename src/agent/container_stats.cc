#include "agent/container_stats.h"

#include <unistd.h>

#include "common/fs_util.h"

namespace berth::agent {
namespace {

std::string slurp(const std::string& path) {
  auto r = readFile(path, 1 << 20);
  return r.ok() ? *r : std::string();
}

std::uint64_t number(const std::string& path) {
  auto v = parseNumbers(slurp(path));
  return v.empty() ? 0 : v.front();
}

}  // namespace

ContainerStatsSample readContainerStats(const StatsSource& source, const std::string& cgroupPath, bool withNetwork,
                                        std::chrono::system_clock::time_point now) {
  ContainerStatsSample s;
  s.read = now;
  const std::string cpuacct = source.cgroupRoot + "/cpuacct" + cgroupPath;
  const std::string cpu = source.cgroupRoot + "/cpu" + cgroupPath;
  const std::string memory = source.cgroupRoot + "/memory" + cgroupPath;
  const std::string pids = source.cgroupRoot + "/pids" + cgroupPath;
  const std::string blkio = source.cgroupRoot + "/blkio" + cgroupPath;

  const long hz = ::sysconf(_SC_CLK_TCK) > 0 ? ::sysconf(_SC_CLK_TCK) : 100;
  s.cpuTotalNs = number(cpuacct + "/cpuacct.usage");
  s.perCpuNs = parseNumbers(slurp(cpuacct + "/cpuacct.usage_percpu"));
  auto cpuStat = parseKeyValues(slurp(cpuacct + "/cpuacct.stat"));
  const std::uint64_t nsPerTick = 1'000'000'000ULL / static_cast<std::uint64_t>(hz);
  s.cpuUserNs = cpuStat["user"] * nsPerTick;
  s.cpuKernelNs = cpuStat["system"] * nsPerTick;
  s.systemCpuNs = parseProcStatCpuNs(slurp(source.procRoot + "/stat"), hz);
  const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
  s.onlineCpus = online > 0 ? static_cast<int>(online) : 1;
  auto throttling = parseKeyValues(slurp(cpu + "/cpu.stat"));
  s.throttlePeriods = throttling["nr_periods"];
  s.throttledPeriods = throttling["nr_throttled"];
  s.throttledTimeNs = throttling["throttled_time"];

  s.memoryUsage = number(memory + "/memory.usage_in_bytes");
  s.memoryMaxUsage = number(memory + "/memory.max_usage_in_bytes");
  s.memoryLimit = number(memory + "/memory.limit_in_bytes");
  s.memoryStat = parseKeyValues(slurp(memory + "/memory.stat"));
  s.pids = number(pids + "/pids.current");
  s.ioServiceBytes = parseBlkio(slurp(blkio + "/blkio.throttle.io_service_bytes"));
  s.ioServiced = parseBlkio(slurp(blkio + "/blkio.throttle.io_serviced"));

  if (withNetwork) {
    // Any process of the container sees the task's namespace.
    for (const std::string& procs : {pids + "/cgroup.procs", memory + "/cgroup.procs"}) {
      auto list = parseNumbers(slurp(procs));
      if (list.empty()) continue;
      s.networks = parseNetDev(slurp(source.procRoot + "/" + std::to_string(list.front()) + "/net/dev"));
      break;
    }
  }
  return s;
}

}  // namespace berth::agent
