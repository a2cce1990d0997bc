#include "network/fake_networking.h"

#include <cassert>
#include <cstdio>

namespace berth::network {
namespace {

Ipv4Subnet mustParse(const std::string& cidr) {
  auto s = parseIpv4Subnet(cidr);
  assert(s.ok() && "FakeNetworking subnet options are compile-time constants in tests");
  return s.ok() ? *s : Ipv4Subnet{0x0AD50000u, 16};
}

std::string fakeMac(std::uint32_t addr) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "0a:58:%02x:%02x:%02x:%02x", (addr >> 24) & 0xff, (addr >> 16) & 0xff,
                (addr >> 8) & 0xff, addr & 0xff);
  return buf;
}

}  // namespace

FakeNetworking::FakeNetworking(Options options)
    : options_(std::move(options)),
      bridgeSubnet_(mustParse(options_.bridgeSubnet)),
      awsvpcSubnet_(mustParse(options_.awsvpcSubnet)),
      ports_(options_.dynamicPortRange, options_.portProbe) {}

Result<std::uint32_t> FakeNetworking::allocateAddress(const Ipv4Subnet& subnet, std::set<std::uint32_t>& used,
                                                      std::uint32_t& cursor) {
  const std::uint32_t hosts = (1u << (32 - subnet.prefix)) - 3;  // minus network, gateway, broadcast
  for (std::uint32_t i = 0; i < hosts; ++i) {
    std::uint32_t addr = subnet.network + 2 + (cursor + i) % hosts;
    if (used.count(addr)) continue;
    used.insert(addr);
    cursor = (cursor + i + 1) % hosts;
    return addr;
  }
  return Error::make(ErrorCode::kUnavailable, "no free address left in " + subnet.cidr());
}

Result<TaskNetwork> FakeNetworking::setup(const TaskNetworkRequest& request) {
  std::lock_guard lock(mu_);
  if (failNext_) {
    Error e = *failNext_;
    failNext_.reset();
    return e;
  }
  if (request.taskId.empty()) return Error::make(ErrorCode::kInvalidParameter, "task id is empty");
  const std::string mode = request.networkMode.empty() ? "bridge" : request.networkMode;
  if (auto it = tasks_.find(request.taskId); it != tasks_.end()) return it->second;
  TaskNetwork n;
  n.networkMode = mode;
  if (mode == "host") {
    std::vector<PortMappingRequest> fixed = request.portMappings;
    for (auto& m : fixed) {
      if (m.hostPort != 0 && m.hostPort != m.containerPort)
        return Error::make(ErrorCode::kInvalidParameter, "networkMode host: hostPort must be empty or equal containerPort");
      m.hostPort = m.containerPort;
    }
    auto b = ports_.allocate(request.taskId, fixed);
    if (!b) return b.takeError();
    n.bindings = *b;
    n.ipv4Address = "127.0.0.1";
  } else if (mode == "none") {
    if (!request.portMappings.empty())
      return Error::make(ErrorCode::kInvalidParameter, "portMappings are not allowed with networkMode none");
  } else if (mode == "bridge" || mode == "awsvpc") {
    const bool bridged = mode == "bridge";
    if (!bridged) {
      for (const auto& m : request.portMappings)
        if (m.hostPort != 0 && m.hostPort != m.containerPort)
          return Error::make(ErrorCode::kInvalidParameter, "networkMode awsvpc: hostPort must be empty or equal containerPort");
    }
    const Ipv4Subnet& subnet = bridged ? bridgeSubnet_ : awsvpcSubnet_;
    if (bridged) {
      auto b = ports_.allocate(request.taskId, request.portMappings);
      if (!b) return b.takeError();
      n.bindings = *b;
    }
    auto addr = allocateAddress(subnet, bridged ? usedBridge_ : usedAwsvpc_, bridged ? bridgeCursor_ : awsvpcCursor_);
    if (!addr) {
      ports_.release(request.taskId);
      return addr.takeError();
    }
    addressOf_[request.taskId] = *addr;
    n.ipv4Address = formatIpv4(*addr);
    n.ipv4SubnetCidrBlock = subnet.cidr();
    n.gatewayIpv4Address = subnet.gateway();
    n.macAddress = fakeMac(*addr);
    n.interfaceName = "eth0";
  } else {
    return Error::make(ErrorCode::kInvalidParameter, "unsupported networkMode: " + mode);
  }
  tasks_[request.taskId] = n;
  return n;
}

Result<std::optional<TaskNetwork>> FakeNetworking::recover(const std::string& taskId) {
  std::lock_guard lock(mu_);
  auto it = tasks_.find(taskId);
  if (it == tasks_.end()) return std::optional<TaskNetwork>();
  return std::optional<TaskNetwork>(it->second);
}

Status FakeNetworking::teardown(const std::string& taskId) {
  std::lock_guard lock(mu_);
  auto it = tasks_.find(taskId);
  if (it == tasks_.end()) return okStatus();
  if (auto a = addressOf_.find(taskId); a != addressOf_.end()) {
    usedBridge_.erase(a->second);
    usedAwsvpc_.erase(a->second);
    addressOf_.erase(a);
  }
  ports_.release(taskId);
  tasks_.erase(it);
  return okStatus();
}

void FakeNetworking::failNextSetup(Error e) {
  std::lock_guard lock(mu_);
  failNext_ = std::move(e);
}

std::size_t FakeNetworking::activeTasks() const {
  std::lock_guard lock(mu_);
  return tasks_.size();
}

}  // namespace berth::network
