#pragma once
// TaskNetworking without a host: addresses and ports in memory, no namespaces
// (netnsPath is always empty), no plugins. Same allocation and conflict rules
// as CniTaskNetworking (it uses the same PortAllocator), so unit tests and
// `berth agent --simulate` see realistic bindings, RESOURCE:PORTS conflicts
// and awsvpc addresses. State lives only as long as the object.
#include <map>
#include <mutex>
#include <set>

#include "network/cni_config.h"
#include "network/port_allocator.h"
#include "network/task_network.h"

namespace berth::network {

class FakeNetworking : public TaskNetworking {
 public:
  struct Options {
    std::string bridgeSubnet = "10.213.0.0/16";
    std::string awsvpcSubnet = "10.214.0.0/16";
    PortRange dynamicPortRange{49153, 65535};
    // Host ports "in use by something else" (tests of kConflict); by default
    // nothing on the host is considered busy, so simulations are deterministic.
    HostPortProbe portProbe = [](const std::string&, int) { return true; };
  };
  FakeNetworking() : FakeNetworking(Options{}) {}
  explicit FakeNetworking(Options options);

  Result<TaskNetwork> setup(const TaskNetworkRequest& request) override;
  Result<std::optional<TaskNetwork>> recover(const std::string& taskId) override;
  Status teardown(const std::string& taskId) override;

  // Test hooks.
  void failNextSetup(Error e);
  std::size_t activeTasks() const;

 private:
  // Next free host address after the gateway, rotating like host-local.
  static Result<std::uint32_t> allocateAddress(const Ipv4Subnet& subnet, std::set<std::uint32_t>& used,
                                               std::uint32_t& cursor);

  Options options_;
  Ipv4Subnet bridgeSubnet_, awsvpcSubnet_;
  mutable std::mutex mu_;
  PortAllocator ports_;
  std::map<std::string, TaskNetwork> tasks_;
  std::map<std::string, std::uint32_t> addressOf_;  // task -> its address (bridge/awsvpc)
  std::set<std::uint32_t> usedBridge_, usedAwsvpc_;
  std::uint32_t bridgeCursor_ = 0, awsvpcCursor_ = 0;
  std::optional<Error> failNext_;
};

}  // namespace berth::network
