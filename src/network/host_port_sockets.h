#pragma once
// Keeps the host ports of bridge-mode tasks bound while the tasks run (the
// kubelet hostport manager does the same). portmap only installs DNAT rules,
// which no bind() sees; an open socket per port makes every other process —
// including another agent sharing this network namespace, whose hostPortFree
// probe then fails — treat the port as taken. Traffic to the port is DNATed
// before socket lookup, so the sockets never receive anything. They are bound
// WITHOUT SO_REUSEADDR (the probe uses it; Linux lets two sockets share a port
// only if both set it) and never listen.
//
// Not used for host mode: there the task's own container binds the port.
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "network/task_network.h"

namespace berth::network {

class HostPortSockets {
 public:
  // Binds one socket per binding. A port someone else grabbed in the
  // meantime is logged and skipped (the DNAT rule still works).
  void hold(const std::string& taskId, const std::vector<PortBinding>& bindings);
  void release(const std::string& taskId);
  std::size_t openSockets() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::vector<UniqueFd>> sockets_;
};

}  // namespace berth::network
