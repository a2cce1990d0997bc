#pragma once
// Host-port bookkeeping for one node: which (protocol, port) pairs the node's
// tasks hold, dynamic allocation from the ephemeral range, and conflicts for
// fixed hostPorts. Shared by CniTaskNetworking (which rebuilds it from its
// per-task records on start, so holdings survive restarts) and FakeNetworking.
// Not thread-safe: owners lock around it.
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "network/task_network.h"

namespace berth::network {

struct PortRange {
  int first = 49153;
  int last = 65535;
};

// ECS agent behaviour on Linux: the kernel's ephemeral range
// (/proc/sys/net/ipv4/ip_local_port_range, typically 32768-60999); when it
// cannot be read, ECS's documented fallback 49153-65535.
PortRange defaultDynamicPortRange();
// Parses "first-last" (ECS_DYNAMIC_HOST_PORT_RANGE syntax).
Result<PortRange> parsePortRange(const std::string& text);

// Whether nothing on the host holds the port: bind(0.0.0.0:port) succeeds
// (tcp with SO_REUSEADDR so TIME_WAIT leftovers do not count).
bool hostPortFree(const std::string& protocol, int port);
using HostPortProbe = std::function<bool(const std::string& protocol, int port)>;

class PortAllocator {
 public:
  explicit PortAllocator(PortRange dynamicRange, HostPortProbe probe = hostPortFree);

  // Bindings for the task's mappings: hostPort != 0 is fixed (kConflict when
  // another task holds it or the host has it bound — the scheduler's
  // RESOURCE:PORTS), hostPort 0 gets a free port from the dynamic range
  // (kUnavailable when none is left). All or nothing; held under taskId
  // until release(). bindIP is 0.0.0.0.
  Result<std::vector<PortBinding>> allocate(const std::string& taskId, const std::vector<PortMappingRequest>& mappings);
  // Re-holds bindings read from a durable record (no probing: they are ours).
  void hold(const std::string& taskId, const std::vector<PortBinding>& bindings);
  void release(const std::string& taskId);

  // The task holding (protocol, port), or "".
  std::string holder(const std::string& protocol, int port) const;
  std::size_t heldCount() const { return held_.size(); }

 private:
  using Key = std::pair<std::string, int>;  // protocol, port
  PortRange range_;
  HostPortProbe probe_;
  std::map<Key, std::string> held_;
  // Dynamic ports rotate through the range (like the kernel's ephemeral
  // allocation) so a just-released port is not handed out again at once.
  int cursor_;
};

}  // namespace berth::network
