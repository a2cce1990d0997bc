#include "agent/metadata_responses.h"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <sstream>

#include "agent/task_plan.h"

namespace berth::agent {
namespace {

using nlohmann::json;
using std::chrono::system_clock;

// By value: callers pass temporaries as the fallback.
json fieldOr(const json& j, const char* key, const json& fallback) {
  if (j.is_object()) {
    auto it = j.find(key);
    if (it != j.end() && !it->is_null()) return *it;
  }
  return fallback;
}

std::string str(const json& j, const char* key) {
  const json v = fieldOr(j, key, json());
  return v.is_string() ? v.get<std::string>() : "";
}

// The last "/"-separated segment of an ARN ("task/cluster/ID" → ID).
std::string lastSegment(const std::string& arn) {
  auto slash = arn.rfind('/');
  return slash == std::string::npos ? arn : arn.substr(slash + 1);
}

// ECS reports the family and revision of the task definition ARN
// ("...:task-definition/web:3").
std::pair<std::string, std::string> familyRevision(const TaskView& view) {
  const json& td = fieldOr(view.task, "taskDefinition", json::object());
  std::string family = str(td, "family");
  std::string revision;
  if (auto r = fieldOr(td, "revision", json()); r.is_number_integer()) revision = std::to_string(r.get<long long>());
  const std::string arn = str(view.task, "taskDefinitionArn");
  auto slash = arn.rfind('/');
  if (slash != std::string::npos) {
    std::string fr = arn.substr(slash + 1);
    auto colon = fr.rfind(':');
    if (colon != std::string::npos) {
      if (family.empty()) family = fr.substr(0, colon);
      if (revision.empty()) revision = fr.substr(colon + 1);
    }
  }
  return {family, revision};
}

const ContainerRecord* recordFor(const TaskView& view, const std::string& name) {
  for (const auto& c : view.record.containers)
    if (c.name == name) return &c;
  return nullptr;
}

json taskContainerDoc(const TaskView& view, const std::string& name) {
  for (const auto& c : fieldOr(view.task, "containers", json::array()))
    if (str(c, "name") == name) return c;
  return json::object();
}

void putTime(json& out, const char* key, const json& epochSeconds) {
  if (auto t = rfc3339FromEpoch(epochSeconds)) out[key] = *t;
}

// "10.0.2.0/24" → "/24" (ECS writes the gateway with the subnet's prefix).
std::string prefixOf(const std::string& cidr) {
  auto slash = cidr.find('/');
  return slash == std::string::npos ? "" : cidr.substr(slash);
}

json networksFor(const TaskView& view, const MetadataContext& ctx) {
  json networks = json::array();
  if (!view.network) return networks;
  const network::TaskNetwork& n = *view.network;
  json entry{{"NetworkMode", n.networkMode.empty() ? "bridge" : n.networkMode}};
  if (!n.ipv4Address.empty()) entry["IPv4Addresses"] = json::array({n.ipv4Address});
  if (n.networkMode == "awsvpc") {
    entry["AttachmentIndex"] = 0;
    if (!n.macAddress.empty()) entry["MACAddress"] = n.macAddress;
    if (!n.ipv4SubnetCidrBlock.empty()) entry["IPv4SubnetCIDRBlock"] = n.ipv4SubnetCidrBlock;
    if (!n.ipv4Address.empty() && !ctx.region.empty()) {
      std::string dashed = n.ipv4Address;
      for (char& ch : dashed)
        if (ch == '.') ch = '-';
      entry["PrivateDNSName"] = "ip-" + dashed + "." + ctx.region + ".compute.internal";
    }
    if (!n.gatewayIpv4Address.empty())
      entry["SubnetGatewayIpv4Address"] = n.gatewayIpv4Address + prefixOf(n.ipv4SubnetCidrBlock);
  }
  networks.push_back(std::move(entry));
  return networks;
}

json containerFrom(const TaskView& view, const ContainerPlan& plan, const std::string& family,
                   const std::string& revision, const MetadataContext& ctx) {
  const ContainerRecord* rec = recordFor(view, plan.name);
  const json& doc = taskContainerDoc(view, plan.name);
  const std::string clusterArn = str(view.task, "clusterArn");
  const std::string runtimeId = rec ? rec->runtimeId : "";
  json out{
      {"DockerId", runtimeId},
      {"Name", plan.name},
      {"DockerName", runtimeId},
      {"Image", plan.image},
      {"ImageID", rec && !rec->imageDigest.empty() ? rec->imageDigest : str(doc, "imageDigest")},
      {"Labels",
       {{"com.amazonaws.ecs.cluster", clusterArn},
        {"com.amazonaws.ecs.container-name", plan.name},
        {"com.amazonaws.ecs.task-arn", str(view.task, "taskArn")},
        {"com.amazonaws.ecs.task-definition-family", family},
        {"com.amazonaws.ecs.task-definition-version", revision}}},
      {"DesiredStatus", view.record.desiredStatus == "STOPPED" ? "STOPPED" : "RUNNING"},
      {"KnownStatus", rec ? rec->lastStatus : "PENDING"},
      {"Limits", {{"CPU", plan.cpu}, {"Memory", plan.memoryMiB > 0 ? plan.memoryMiB : plan.memoryReservationMiB}}},
      {"Type", "NORMAL"},
  };
  const json labels = fieldOr(plan.definition, "dockerLabels", json::object());
  for (const auto& [k, v] : labels.items())
    if (v.is_string()) out["Labels"][k] = v;
  if (rec && rec->exitCode) out["ExitCode"] = *rec->exitCode;
  const json& times = fieldOr(view.containerTimes, plan.name.c_str(), json::object());
  putTime(out, "CreatedAt", fieldOr(times, "createdAt", json()));
  putTime(out, "StartedAt", fieldOr(times, "startedAt", json()));
  putTime(out, "FinishedAt", fieldOr(times, "finishedAt", json()));
  if (const json& log = fieldOr(plan.definition, "logConfiguration", json()); log.is_object()) {
    out["LogDriver"] = str(log, "logDriver");
    out["LogOptions"] = fieldOr(log, "options", json::object());
  }
  if (!str(doc, "containerArn").empty()) out["ContainerARN"] = str(doc, "containerArn");
  if (fieldOr(plan.definition, "healthCheck", json()).is_object()) {
    json health{{"status", rec ? rec->healthStatus : "UNKNOWN"}};
    putTime(health, "statusSince", fieldOr(times, "healthSince", json()));
    if (auto o = fieldOr(times, "healthOutput", json()); o.is_string()) health["output"] = o;
    out["Health"] = std::move(health);
  }
  json ports = json::array();
  if (view.network)
    for (const auto& b : view.network->bindings)
      if (b.containerName == plan.name)
        ports.push_back(json{{"ContainerPort", b.containerPort},
                             {"Protocol", b.protocol},
                             {"HostPort", b.hostPort},
                             {"HostIp", b.bindIP}});
  if (!ports.empty()) out["Ports"] = std::move(ports);
  out["Networks"] = networksFor(view, ctx);
  if (auto rc = fieldOr(times, "restartCount", json()); rc.is_number_integer()) out["RestartCount"] = rc;
  return out;
}

json cpuStats(const ContainerStatsSample& s) {
  json percpu = json::array();
  for (auto v : s.perCpuNs) percpu.push_back(v);
  return json{{"cpu_usage",
               {{"total_usage", s.cpuTotalNs},
                {"percpu_usage", percpu},
                {"usage_in_kernelmode", s.cpuKernelNs},
                {"usage_in_usermode", s.cpuUserNs}}},
              {"system_cpu_usage", s.systemCpuNs},
              {"online_cpus", s.onlineCpus},
              {"throttling_data",
               {{"periods", s.throttlePeriods},
                {"throttled_periods", s.throttledPeriods},
                {"throttled_time", s.throttledTimeNs}}}};
}

json blkio(const std::vector<BlkioEntry>& entries) {
  json out = json::array();
  for (const auto& e : entries) out.push_back(json{{"major", e.major}, {"minor", e.minor}, {"op", e.op}, {"value", e.value}});
  return out;
}

}  // namespace

std::string rfc3339Nano(system_clock::time_point t) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  long long frac = ns % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

std::optional<std::string> rfc3339FromEpoch(const json& seconds) {
  if (!seconds.is_number()) return std::nullopt;
  // Microsecond precision: a double holds no more for current epochs.
  const auto micros = std::chrono::microseconds(std::llround(seconds.get<double>() * 1e6));
  return rfc3339Nano(system_clock::time_point(std::chrono::duration_cast<system_clock::duration>(micros)));
}

std::optional<json> containerMetadata(const TaskView& view, const std::string& containerName,
                                      const MetadataContext& ctx) {
  auto plan = planTask(view.task);
  if (!plan.ok()) return std::nullopt;
  auto [family, revision] = familyRevision(view);
  for (const auto& c : plan->containers)
    if (c.name == containerName) return containerFrom(view, c, family, revision, ctx);
  return std::nullopt;
}

json taskMetadata(const TaskView& view, const MetadataContext& ctx) {
  auto [family, revision] = familyRevision(view);
  const std::string taskArn = str(view.task, "taskArn");
  json out{
      {"Cluster", str(view.task, "clusterArn")},
      {"TaskARN", taskArn},
      {"Family", family},
      {"Revision", revision},
      {"DesiredStatus", view.record.desiredStatus},
      {"KnownStatus", view.record.lastStatus},
      {"LaunchType", str(view.task, "launchType").empty() ? "EC2" : str(view.task, "launchType")},
  };
  const std::string group = str(view.task, "group");
  if (group.rfind("service:", 0) == 0) out["ServiceName"] = group.substr(8);
  // Task-level limits only when the task has them (CPU in vCPUs, as ECS).
  json limits = json::object();
  if (auto cpu = str(view.task, "cpu"); !cpu.empty()) {
    try {
      limits["CPU"] = std::stod(cpu) / 1024.0;
    } catch (...) {
    }
  }
  if (auto mem = str(view.task, "memory"); !mem.empty()) {
    try {
      limits["Memory"] = std::stoll(mem);
    } catch (...) {
    }
  }
  if (!limits.empty()) out["Limits"] = limits;
  putTime(out, "PullStartedAt", fieldOr(view.timestamps, "pullStartedAt", json()));
  putTime(out, "PullStoppedAt", fieldOr(view.timestamps, "pullStoppedAt", json()));
  putTime(out, "ExecutionStoppedAt", fieldOr(view.timestamps, "executionStoppedAt", json()));
  const std::string az = !ctx.availabilityZone.empty() ? ctx.availabilityZone : str(view.task, "availabilityZone");
  if (!az.empty()) out["AvailabilityZone"] = az;
  json containers = json::array();
  if (auto plan = planTask(view.task); plan.ok())
    for (const auto& c : plan->containers) containers.push_back(containerFrom(view, c, family, revision, ctx));
  out["Containers"] = std::move(containers);
  if (ctx.clockErrorBoundMs) {
    out["ClockDrift"] = {{"ClockErrorBound", *ctx.clockErrorBoundMs},
                         {"ReferenceTimestamp", rfc3339Nano(ctx.now)},
                         {"ClockSynchronizationStatus", ctx.clockSynchronized ? "SYNCHRONIZED" : "NOT_SYNCHRONIZED"}};
  }
  if (lastSegment(taskArn).empty()) out.erase("TaskARN");
  return out;
}

json dockerStats(const ContainerStatsSample& s, const ContainerStatsSample* prev, const std::string& id,
                 const std::string& name) {
  json memory{{"usage", s.memoryUsage}, {"max_usage", s.memoryMaxUsage}, {"limit", s.memoryLimit}, {"stats", json::object()}};
  for (const auto& [k, v] : s.memoryStat) memory["stats"][k] = v;
  json nets = json::object();
  double rxRate = 0, txRate = 0;
  for (const auto& [ifname, c] : s.networks) {
    nets[ifname] = {{"rx_bytes", c.rxBytes},   {"rx_packets", c.rxPackets}, {"rx_errors", c.rxErrors},
                    {"rx_dropped", c.rxDropped}, {"tx_bytes", c.txBytes},   {"tx_packets", c.txPackets},
                    {"tx_errors", c.txErrors}, {"tx_dropped", c.txDropped}};
  }
  ContainerStatsSample zero;
  const ContainerStatsSample& p = prev ? *prev : zero;
  if (prev) {
    const double dt = std::chrono::duration<double>(s.read - prev->read).count();
    if (dt > 0) {
      std::uint64_t rx = 0, tx = 0, prx = 0, ptx = 0;
      for (const auto& [_, c] : s.networks) rx += c.rxBytes, tx += c.txBytes;
      for (const auto& [_, c] : prev->networks) prx += c.rxBytes, ptx += c.txBytes;
      if (rx >= prx) rxRate = static_cast<double>(rx - prx) / dt;
      if (tx >= ptx) txRate = static_cast<double>(tx - ptx) / dt;
    }
  }
  json out{
      {"read", rfc3339Nano(s.read)},
      {"preread", prev ? rfc3339Nano(prev->read) : "0001-01-01T00:00:00Z"},
      {"pids_stats", {{"current", s.pids}}},
      {"blkio_stats",
       {{"io_service_bytes_recursive", blkio(s.ioServiceBytes)},
        {"io_serviced_recursive", blkio(s.ioServiced)},
        {"io_queue_recursive", json::array()},
        {"io_service_time_recursive", json::array()},
        {"io_wait_time_recursive", json::array()},
        {"io_merged_recursive", json::array()},
        {"io_time_recursive", json::array()},
        {"sectors_recursive", json::array()}}},
      {"num_procs", 0},
      {"storage_stats", json::object()},
      {"cpu_stats", cpuStats(s)},
      {"precpu_stats", cpuStats(p)},
      {"memory_stats", memory},
      {"name", name},
      {"id", id},
      {"networks", nets},
      {"network_rate_stats", {{"rx_bytes_per_sec", rxRate}, {"tx_bytes_per_sec", txRate}}},
  };
  return out;
}

std::map<std::string, NetDevCounters> parseNetDev(const std::string& text) {
  std::map<std::string, NetDevCounters> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;  // the two header lines
    std::string name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    if (name.empty() || name == "lo") continue;
    std::istringstream fields(line.substr(colon + 1));
    std::uint64_t v[16] = {};
    int n = 0;
    while (n < 16 && (fields >> v[n])) ++n;
    if (n < 12) continue;
    // rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes packets errs drop ...
    out[name] = NetDevCounters{v[0], v[1], v[2], v[3], v[8], v[9], v[10], v[11]};
  }
  return out;
}

std::map<std::string, std::uint64_t> parseKeyValues(const std::string& text) {
  std::map<std::string, std::uint64_t> out;
  std::istringstream in(text);
  std::string key;
  std::uint64_t value = 0;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream l(line);
    if (l >> key >> value) out[key] = value;
  }
  return out;
}

std::vector<std::uint64_t> parseNumbers(const std::string& text) {
  std::vector<std::uint64_t> out;
  std::istringstream in(text);
  std::uint64_t v = 0;
  while (in >> v) out.push_back(v);
  return out;
}

std::vector<BlkioEntry> parseBlkio(const std::string& text) {
  std::vector<BlkioEntry> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    unsigned long long major = 0, minor = 0, value = 0;
    char op[32] = {};
    if (std::sscanf(line.c_str(), "%llu:%llu %31s %llu", &major, &minor, op, &value) == 4)
      out.push_back(BlkioEntry{major, minor, op, value});
  }
  return out;
}

std::uint64_t parseProcStatCpuNs(const std::string& procStat, long ticksPerSecond) {
  std::istringstream in(procStat);
  std::string label;
  if (!(in >> label) || label != "cpu" || ticksPerSecond <= 0) return 0;
  std::uint64_t total = 0, v = 0;
  // user nice system idle iowait irq softirq steal (guest time is inside user).
  for (int i = 0; i < 8 && (in >> v); ++i) total += v;
  return total * (1'000'000'000ULL / static_cast<std::uint64_t>(ticksPerSecond));
}

json credentialsResponse(const TaskRoleCredentials& c) {
  auto secs = std::chrono::time_point_cast<std::chrono::seconds>(c.expiration);
  std::string exp = rfc3339Nano(secs);
  exp = exp.substr(0, 19) + "Z";  // "2024-01-02T03:04:05Z", as the ECS agent writes it
  return json{{"RoleArn", c.roleArn},
              {"AccessKeyId", c.accessKeyId},
              {"SecretAccessKey", c.secretAccessKey},
              {"Token", c.sessionToken},
              {"Expiration", exp}};
}

json endpointError(const std::string& code, const std::string& message) {
  return json{{"code", code}, {"message", message}};
}

}  // namespace berth::agent
