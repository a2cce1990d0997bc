#pragma once
// The CNI network configurations Berth generates, and reading back what the
// plugins returned. Pure functions: unit-tested without root.
//
// Network rule (why the configs look like this): task traffic never leaves the
// machine. The bridge plugin runs with isGateway=false and ipMasq=false —
// isGateway=true would also flip the host-wide net.ipv4.ip_forward to 1 and
// install a default route in the task. Instead the agent gives the bridge its
// gateway address itself (ensureBridge) and the task namespace gets only
//  * its on-link subnet route (the bridge), and
//  * /32 routes to the host's own addresses via the bridge address, so replies
//    to connections made from the host to a host address (DNATed by portmap)
//    find their way back. Those addresses are local to the host, so no
//    forwarding is involved.
// No default route: anything else is unreachable from the task.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "network/task_network.h"

namespace berth::network {

struct Ipv4Subnet {
  std::uint32_t network = 0;  // host byte order, host bits zero
  int prefix = 0;
  std::string cidr() const;          // "10.213.0.0/16"
  std::string gateway() const;       // first host address, given to the bridge
  std::string gatewayCidr() const;   // "10.213.0.1/16"
  bool contains(std::uint32_t addr) const;
};
Result<Ipv4Subnet> parseIpv4Subnet(const std::string& cidr);
Result<std::uint32_t> parseIpv4(const std::string& text);
std::string formatIpv4(std::uint32_t addr);

struct BridgeNetworkConfig {
  std::string networkName;    // CNI network name, e.g. "berth-bridge"
  std::string bridgeName;     // e.g. "berth0"
  Ipv4Subnet subnet;
  std::string ipamDataDir;    // host-local state, under the agent data dir
  bool portMappings = false;  // append portmap (bridge mode)
  std::vector<std::string> hostAddresses;  // routed via the bridge (see above)
};

// bridge (+ host-local) [+ portmap] conflist, cniVersion 1.0.0.
nlohmann::json bridgeConflist(const BridgeNetworkConfig& c);

// portmap's runtimeConfig.portMappings for the task's bindings.
nlohmann::json portmapRuntimeConfig(const std::vector<PortBinding>& bindings);

// The task's address on `ifName` from a CNI 1.0.0 (or 0.4.0) result.
struct CniAddress {
  std::string ipv4;      // "10.213.0.5"
  int prefix = 0;
  std::string gateway;   // from the result; may be empty
  std::string mac;
};
Result<CniAddress> addressFromResult(const nlohmann::json& result, const std::string& ifName);

// The host's IPv4 addresses except loopback and those inside `exclude`.
std::vector<std::string> hostIpv4Addresses(const std::vector<Ipv4Subnet>& exclude);

}  // namespace berth::network
