#include "network/cni_config.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <set>

namespace berth::network {

Result<std::uint32_t> parseIpv4(const std::string& text) {
  in_addr a{};
  if (inet_pton(AF_INET, text.c_str(), &a) != 1)
    return Error::make(ErrorCode::kInvalidParameter, "not an IPv4 address: " + text);
  return ntohl(a.s_addr);
}

std::string formatIpv4(std::uint32_t addr) {
  in_addr a{htonl(addr)};
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

Result<Ipv4Subnet> parseIpv4Subnet(const std::string& cidr) {
  auto slash = cidr.find('/');
  if (slash == std::string::npos) return Error::make(ErrorCode::kInvalidParameter, "subnet without /prefix: " + cidr);
  auto addr = parseIpv4(cidr.substr(0, slash));
  if (!addr) return addr.takeError();
  int prefix = -1;
  try {
    std::size_t used = 0;
    prefix = std::stoi(cidr.substr(slash + 1), &used);
    if (used != cidr.size() - slash - 1) prefix = -1;
  } catch (const std::exception&) {
    prefix = -1;
  }
  // A bridge subnet needs room for the gateway and at least a few tasks.
  if (prefix < 8 || prefix > 29) return Error::make(ErrorCode::kInvalidParameter, "subnet prefix must be 8..29: " + cidr);
  Ipv4Subnet s;
  s.prefix = prefix;
  s.network = *addr & (~0u << (32 - prefix));
  return s;
}

std::string Ipv4Subnet::cidr() const { return formatIpv4(network) + "/" + std::to_string(prefix); }
std::string Ipv4Subnet::gateway() const { return formatIpv4(network + 1); }
std::string Ipv4Subnet::gatewayCidr() const { return gateway() + "/" + std::to_string(prefix); }
bool Ipv4Subnet::contains(std::uint32_t addr) const { return (addr & (~0u << (32 - prefix))) == network; }

nlohmann::json bridgeConflist(const BridgeNetworkConfig& c) {
  nlohmann::json routes = nlohmann::json::array();
  for (const auto& a : c.hostAddresses) routes.push_back({{"dst", a + "/32"}, {"gw", c.subnet.gateway()}});
  nlohmann::json plugins = nlohmann::json::array();
  plugins.push_back({{"type", "bridge"},
                     {"bridge", c.bridgeName},
                     {"isGateway", false},
                     {"isDefaultGateway", false},
                     {"ipMasq", false},
                     {"hairpinMode", true},
                     {"ipam",
                      {{"type", "host-local"},
                       {"dataDir", c.ipamDataDir},
                       {"ranges", {{{{"subnet", c.subnet.cidr()}, {"gateway", c.subnet.gateway()}}}}},
                       {"routes", routes}}}});
  if (c.portMappings) {
    // snat: connections from 127.0.0.1 on the host are SNATed so the task
    // can answer them (portmap also sets route_localnet on the bridge).
    plugins.push_back({{"type", "portmap"}, {"snat", true}, {"capabilities", {{"portMappings", true}}}});
  }
  return {{"cniVersion", "1.0.0"}, {"name", c.networkName}, {"plugins", plugins}};
}

nlohmann::json portmapRuntimeConfig(const std::vector<PortBinding>& bindings) {
  nlohmann::json pm = nlohmann::json::array();
  for (const auto& b : bindings)
    pm.push_back({{"hostPort", b.hostPort}, {"containerPort", b.containerPort}, {"protocol", b.protocol}});
  return pm;
}

Result<CniAddress> addressFromResult(const nlohmann::json& result, const std::string& ifName) {
  if (!result.is_object()) return Error::make(ErrorCode::kInternal, "CNI result is not an object");
  const auto interfaces = result.value("interfaces", nlohmann::json::array());
  for (const auto& ip : result.value("ips", nlohmann::json::array())) {
    if (!ip.is_object()) continue;
    if (ip.contains("version") && ip["version"] != "4") continue;  // 0.4.0 results carry a version
    const std::string address = ip.value("address", "");
    auto slash = address.find('/');
    if (slash == std::string::npos) continue;
    if (!parseIpv4(address.substr(0, slash))) continue;  // IPv6
    CniAddress out;
    out.ipv4 = address.substr(0, slash);
    out.prefix = std::atoi(address.c_str() + slash + 1);
    out.gateway = ip.value("gateway", "");
    if (ip.contains("interface") && ip["interface"].is_number_integer()) {
      auto idx = ip["interface"].get<std::size_t>();
      if (idx < interfaces.size()) {
        const auto& itf = interfaces[idx];
        if (itf.value("name", "") != ifName) continue;  // the host-side veth or the bridge
        out.mac = itf.value("mac", "");
      }
    }
    return out;
  }
  return Error::make(ErrorCode::kInternal, "CNI result has no IPv4 address for " + ifName);
}

std::vector<std::string> hostIpv4Addresses(const std::vector<Ipv4Subnet>& exclude) {
  std::set<std::string> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return {};
  for (auto* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    auto addr = ntohl(reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr);
    if ((addr >> 24) == 127) continue;
    bool skip = false;
    for (const auto& s : exclude) skip = skip || s.contains(addr);
    if (!skip) out.insert(formatIpv4(addr));
  }
  freeifaddrs(list);
  return {out.begin(), out.end()};
}

}  // namespace berth::network
