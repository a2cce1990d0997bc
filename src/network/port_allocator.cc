#include "network/port_allocator.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "common/unique_fd.h"

namespace berth::network {

PortRange defaultDynamicPortRange() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  PortRange r;
  int first = 0, last = 0;
  if (in >> first >> last && first > 0 && first <= last && last <= 65535) {
    r.first = first;
    r.last = last;
  }
  return r;
}

Result<PortRange> parsePortRange(const std::string& text) {
  std::istringstream in(text);
  int first = 0, last = 0;
  char dash = 0;
  if (!(in >> first >> dash >> last) || dash != '-' || !in.eof() || first < 1 || last > 65535 || first > last)
    return Error::make(ErrorCode::kInvalidParameter, "port range must be FIRST-LAST within 1-65535: " + text);
  return PortRange{first, last};
}

bool hostPortFree(const std::string& protocol, int port) {
  const bool udp = protocol == "udp";
  UniqueFd s(socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0));
  if (!s.valid()) return false;
  int one = 1;
  if (!udp) setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  return bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

PortAllocator::PortAllocator(PortRange dynamicRange, HostPortProbe probe)
    : range_(dynamicRange), probe_(std::move(probe)), cursor_(dynamicRange.first) {}

std::string PortAllocator::holder(const std::string& protocol, int port) const {
  auto it = held_.find({protocol, port});
  return it == held_.end() ? std::string() : it->second;
}

Result<std::vector<PortBinding>> PortAllocator::allocate(const std::string& taskId,
                                                         const std::vector<PortMappingRequest>& mappings) {
  std::vector<PortBinding> out;
  std::set<Key> mine;  // taken by earlier mappings of this same request
  auto taken = [&](const Key& k) { return held_.count(k) > 0 || mine.count(k) > 0; };
  // Fixed ports first, so a dynamic pick can never steal a port a later
  // mapping of the same task asks for explicitly.
  for (const auto& m : mappings) {
    if (m.protocol != "tcp" && m.protocol != "udp")
      return Error::make(ErrorCode::kInvalidParameter, "port mapping protocol must be tcp or udp: " + m.protocol);
    if (m.hostPort < 0 || m.hostPort > 65535 || m.containerPort < 1 || m.containerPort > 65535)
      return Error::make(ErrorCode::kInvalidParameter, "port out of range in mapping of " + m.containerName);
    if (m.hostPort == 0) continue;
    Key k{m.protocol, m.hostPort};
    if (taken(k)) {
      auto h = holder(m.protocol, m.hostPort);
      return Error::make(ErrorCode::kConflict,
                         "RESOURCE:PORTS host port " + std::to_string(m.hostPort) + "/" + m.protocol +
                             " is already used by " + (h.empty() ? std::string("this task") : "task " + h));
    }
    if (!probe_(m.protocol, m.hostPort))
      return Error::make(ErrorCode::kConflict, "RESOURCE:PORTS host port " + std::to_string(m.hostPort) + "/" +
                                                   m.protocol + " is in use on the host");
    mine.insert(k);
  }
  const int span = range_.last - range_.first + 1;
  for (const auto& m : mappings) {
    PortBinding b{m.containerName, "0.0.0.0", m.containerPort, m.hostPort, m.protocol};
    if (m.hostPort == 0) {
      bool found = false;
      for (int i = 0; i < span && !found; ++i) {
        int port = range_.first + (cursor_ - range_.first + i) % span;
        Key k{m.protocol, port};
        if (taken(k) || !probe_(m.protocol, port)) continue;
        found = true;
        b.hostPort = port;
        mine.insert(k);
        cursor_ = port + 1 > range_.last ? range_.first : port + 1;
      }
      if (!found)
        return Error::make(ErrorCode::kUnavailable, "RESOURCE:PORTS no free " + m.protocol + " host port in " +
                                                        std::to_string(range_.first) + "-" + std::to_string(range_.last));
    }
    out.push_back(b);
  }
  for (const auto& k : mine) held_[k] = taskId;
  return out;
}

void PortAllocator::hold(const std::string& taskId, const std::vector<PortBinding>& bindings) {
  for (const auto& b : bindings) held_[{b.protocol, b.hostPort}] = taskId;
}

void PortAllocator::release(const std::string& taskId) {
  std::erase_if(held_, [&](const auto& kv) { return kv.second == taskId; });
}

}  // namespace berth::network
