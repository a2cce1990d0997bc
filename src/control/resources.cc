#include "control/resources.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "common/log.h"
#include "control/json_fields.h"
#include "control/task_size.h"

namespace berth::control {
namespace {

using nlohmann::json;

Error invalid(std::string message) { return Error::make(ErrorCode::kInvalidParameter, std::move(message)); }

json intsToJson(const std::set<int>& s) {
  json a = json::array();
  for (int p : s) a.push_back(p);
  return a;
}

std::set<int> intsFromJson(const json& j) {
  std::set<int> s;
  if (!j.is_array()) return s;
  for (const auto& v : j)
    if (v.is_number_integer()) s.insert(v.get<int>());
  return s;
}

// Integer value of a Resource, whichever numeric member carries it.
std::optional<std::int64_t> numericValue(const json& r) {
  for (const char* f : {"integerValue", "longValue"}) {
    auto it = r.find(f);
    if (it != r.end() && it->is_number_integer() && it->get<std::int64_t>() != 0) return it->get<std::int64_t>();
  }
  auto d = r.find("doubleValue");
  if (d != r.end() && d->is_number() && d->get<double>() != 0.0) {
    double v = d->get<double>();
    if (v != std::floor(v)) return std::nullopt;
    return static_cast<std::int64_t>(v);
  }
  return 0;  // every member absent or 0: a zero-sized resource
}

Result<std::set<int>> portSet(const json& r, const std::string& name) {
  std::set<int> out;
  for (const auto& v : arrayOrEmpty(r, "stringSetValue")) {
    std::string s = v.is_string() ? v.get<std::string>() : "";
    int port = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), port);
    if (ec != std::errc() || p != s.data() + s.size() || port < 1 || port > 65535)
      return invalid("Resource " + name + " contains '" + s + "', which is not a port number (1-65535).");
    out.insert(port);
  }
  return out;
}

json numericResource(const std::string& name, std::int64_t value) {
  return {{"name", name}, {"type", "INTEGER"}, {"doubleValue", 0.0}, {"longValue", 0}, {"integerValue", value}};
}

json portsResource(const std::string& name, const std::set<int>& ports) {
  json set = json::array();
  for (int p : ports) set.push_back(std::to_string(p));
  return {{"name", name}, {"type", "STRINGSET"}, {"doubleValue", 0.0}, {"longValue", 0}, {"integerValue", 0},
          {"stringSetValue", set}};
}

std::optional<std::int64_t> intField(const json& j, const char* f) {
  auto* v = optField(j, f);
  if (!v || !v->is_number_integer()) return std::nullopt;
  return v->get<std::int64_t>();
}

const json* containerOverride(const json& overrides, const std::string& name) {
  // Iterate the request's own array: a pointer into a copy would dangle.
  const json* list = optField(overrides, "containerOverrides");
  if (!list || !list->is_array()) return nullptr;
  for (const auto& o : *list)
    if (stringOr(o, "name", "") == name) return &o;
  return nullptr;
}

}  // namespace

json TaskDemand::toJson() const {
  json j = {{"cpu", cpu}, {"memory", memory}, {"ports", intsToJson(ports)}, {"portsUdp", intsToJson(portsUdp)}};
  if (gpus > 0) {
    j["gpus"] = gpus;
    j["gpuIds"] = gpuIds;
  }
  return j;
}

TaskDemand TaskDemand::fromJson(const json& j) {
  TaskDemand d;
  if (!j.is_object()) return d;
  d.cpu = j.value("cpu", std::int64_t{0});
  d.memory = j.value("memory", std::int64_t{0});
  d.ports = intsFromJson(j.value("ports", json::array()));
  d.portsUdp = intsFromJson(j.value("portsUdp", json::array()));
  d.gpus = j.value("gpus", std::int64_t{0});
  for (const auto& id : j.value("gpuIds", json::array()))
    if (id.is_string()) d.gpuIds.insert(id.get<std::string>());
  return d;
}

Result<InstanceResources> parseResources(const json& resources) {
  InstanceResources out;
  bool haveCpu = false, haveMemory = false;
  if (!resources.is_array()) return invalid("totalResources must be a list of resources.");
  for (const auto& r : resources) {
    std::string name = stringOr(r, "name", "");
    std::string type = stringOr(r, "type", "");
    if (name == "CPU" || name == "MEMORY") {
      if (!type.empty() && type != "INTEGER" && type != "LONG" && type != "DOUBLE")
        return invalid("Resource " + name + " must have type INTEGER.");
      auto v = numericValue(r);
      if (!v || *v < 0) return invalid("Resource " + name + " must be a non-negative whole number.");
      (name == "CPU" ? out.cpu : out.memory) = *v;
      (name == "CPU" ? haveCpu : haveMemory) = true;
    } else if (name == "PORTS" || name == "PORTS_UDP") {
      if (!type.empty() && type != "STRINGSET") return invalid("Resource " + name + " must have type STRINGSET.");
      auto ports = portSet(r, name);
      if (!ports.ok()) return ports.takeError();
      (name == "PORTS" ? out.ports : out.portsUdp) = std::move(*ports);
    } else if (name == "GPU") {
      if (!type.empty() && type != "STRINGSET") return invalid("Resource GPU must have type STRINGSET (the GPU ids).");
      out.hasGpu = true;
      for (const auto& v : arrayOrEmpty(r, "stringSetValue")) {
        if (!v.is_string() || v.get<std::string>().empty()) return invalid("Resource GPU ids must be non-empty strings.");
        out.gpus.insert(v.get<std::string>());
      }
    } else if (!name.empty()) {
      out.other.push_back(r);
    } else {
      return invalid("Every resource needs a name.");
    }
  }
  if (!haveCpu || !haveMemory) return invalid("totalResources must include CPU and MEMORY.");
  return out;
}

json renderResources(const InstanceResources& r) {
  json out = json::array({numericResource("CPU", r.cpu), numericResource("MEMORY", r.memory),
                          portsResource("PORTS", r.ports), portsResource("PORTS_UDP", r.portsUdp)});
  if (r.hasGpu) {
    json ids = json::array();
    for (const auto& id : r.gpus) ids.push_back(id);
    out.push_back({{"name", "GPU"}, {"type", "STRINGSET"}, {"doubleValue", 0.0}, {"longValue", 0}, {"integerValue", 0},
                   {"stringSetValue", ids}});
  }
  for (const auto& o : r.other) out.push_back(o);
  return out;
}

Result<TaskDemand> taskDemand(const json& td, const json& overrides) {
  TaskDemand d;
  std::optional<std::int64_t> taskCpu, taskMemory;
  if (auto s = optString(overrides, "cpu")) {
    auto v = parseTaskCpu(*s);
    if (!v.ok()) return v.takeError();
    taskCpu = *v;
  } else if (auto s2 = optString(td, "cpu")) {
    auto v = parseTaskCpu(*s2);
    if (!v.ok()) return v.takeError();
    taskCpu = *v;
  }
  if (auto s = optString(overrides, "memory")) {
    auto v = parseTaskMemory(*s);
    if (!v.ok()) return v.takeError();
    taskMemory = *v;
  } else if (auto s2 = optString(td, "memory")) {
    auto v = parseTaskMemory(*s2);
    if (!v.ok()) return v.takeError();
    taskMemory = *v;
  }

  const std::string networkMode = stringOr(td, "networkMode", "bridge");
  std::int64_t cpuSum = 0, memorySum = 0;
  for (const auto& c : arrayOrEmpty(td, "containerDefinitions")) {
    const std::string name = stringOr(c, "name", "");
    const json* o = containerOverride(overrides, name);
    static const json kEmpty = json::object();
    const json& ov = o ? *o : kEmpty;
    auto cpu = intField(ov, "cpu");
    if (!cpu) cpu = intField(c, "cpu");
    auto reservation = intField(ov, "memoryReservation");
    auto memory = intField(ov, "memory");
    if (!reservation && !memory) {
      reservation = intField(c, "memoryReservation");
      memory = intField(c, "memory");
    }
    if (cpu && *cpu < 0) return invalid("Container cpu for '" + name + "' must not be negative.");
    if ((memory && *memory < 0) || (reservation && *reservation < 0))
      return invalid("Container memory for '" + name + "' must not be negative.");
    cpuSum += cpu.value_or(0);
    for (const auto& rr : arrayOrEmpty(c, "resourceRequirements"))
      if (stringOr(rr, "type", "") == "GPU") {
        std::int64_t n = 0;
        const std::string v = stringOr(rr, "value", "");
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (ec != std::errc() || p != v.data() + v.size() || n < 0)
          return invalid("GPU resource requirement for '" + name + "' must be a whole number.");
        d.gpus += n;
      }
    // Placement reserves the soft limit when there is one (ecs-tasks.md §2).
    memorySum += reservation ? *reservation : memory.value_or(0);
    if (networkMode == "awsvpc" || networkMode == "none") continue;
    for (const auto& pm : arrayOrEmpty(c, "portMappings")) {
      auto host = intField(pm, "hostPort");
      if (networkMode == "host" && (!host || *host == 0)) host = intField(pm, "containerPort");
      if (!host || *host <= 0) continue;  // dynamic port: nothing reserved
      (stringOr(pm, "protocol", "tcp") == "udp" ? d.portsUdp : d.ports).insert(static_cast<int>(*host));
    }
  }
  d.cpu = taskCpu.value_or(cpuSum);
  d.memory = taskMemory.value_or(memorySum);
  return d;
}

std::optional<std::string> shortfall(const InstanceResources& remaining, const TaskDemand& demand) {
  if (demand.cpu > remaining.cpu) return std::string("RESOURCE:CPU");
  if (demand.memory > remaining.memory) return std::string("RESOURCE:MEMORY");
  for (int p : demand.ports)
    if (remaining.ports.count(p)) return std::string("RESOURCE:PORTS");
  for (int p : demand.portsUdp)
    if (remaining.portsUdp.count(p)) return std::string("RESOURCE:PORTS_UDP");
  if (demand.gpus > static_cast<std::int64_t>(remaining.gpus.size())) return std::string("RESOURCE:GPU");
  return std::nullopt;
}

TaskDemand reserve(InstanceResources& remaining, const TaskDemand& demand) {
  TaskDemand taken = demand;
  remaining.cpu -= demand.cpu;
  remaining.memory -= demand.memory;
  remaining.ports.insert(demand.ports.begin(), demand.ports.end());
  remaining.portsUdp.insert(demand.portsUdp.begin(), demand.portsUdp.end());
  if (demand.gpus > 0 && demand.gpuIds.empty()) {
    for (auto it = remaining.gpus.begin();
         it != remaining.gpus.end() && static_cast<std::int64_t>(taken.gpuIds.size()) < demand.gpus;)
      taken.gpuIds.insert(*it), it = remaining.gpus.erase(it);
  } else {
    for (const auto& id : demand.gpuIds) remaining.gpus.erase(id);
  }
  return taken;
}

void release(InstanceResources& remaining, const InstanceResources& registered, const TaskDemand& demand) {
  remaining.cpu += demand.cpu;
  remaining.memory += demand.memory;
  if (remaining.cpu > registered.cpu || remaining.memory > registered.memory) {
    // A release without a matching reserve: accounting is broken somewhere.
    // Clamp so the instance never shows more than it has, and say so.
    log::error("resource release exceeds registered resources; clamping",
               {{"remainingCpu", remaining.cpu}, {"remainingMemory", remaining.memory}});
    remaining.cpu = std::min(remaining.cpu, registered.cpu);
    remaining.memory = std::min(remaining.memory, registered.memory);
  }
  // Ports the instance reserved at registration stay reserved.
  for (int p : demand.ports)
    if (!registered.ports.count(p)) remaining.ports.erase(p);
  for (int p : demand.portsUdp)
    if (!registered.portsUdp.count(p)) remaining.portsUdp.erase(p);
  for (const auto& id : demand.gpuIds)
    if (registered.gpus.count(id)) remaining.gpus.insert(id);
}

TaskDemand unreservedBoundPorts(const json& networkBindings, const InstanceResources& remaining) {
  TaskDemand d;
  if (!networkBindings.is_array()) return d;
  for (const auto& b : networkBindings) {
    auto it = b.is_object() ? b.find("hostPort") : b.end();
    if (it == b.end() || !it->is_number_integer()) continue;
    const std::int64_t port = it->get<std::int64_t>();
    if (port < 1 || port > 65535) continue;
    const bool udp = stringOr(b, "protocol", "tcp") == "udp";
    const std::set<int>& inUse = udp ? remaining.portsUdp : remaining.ports;
    if (!inUse.count(static_cast<int>(port))) (udp ? d.portsUdp : d.ports).insert(static_cast<int>(port));
  }
  return d;
}

void addPorts(TaskDemand& into, const TaskDemand& more) {
  into.ports.insert(more.ports.begin(), more.ports.end());
  into.portsUdp.insert(more.portsUdp.begin(), more.portsUdp.end());
}

}  // namespace berth::control
