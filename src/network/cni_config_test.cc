#include "network/cni_config.h"

#include <gtest/gtest.h>

namespace berth::network {
namespace {

TEST(CniConfigTest, ParsesSubnetsAndDerivesTheGateway) {
  auto s = parseIpv4Subnet("10.213.7.9/16");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->cidr(), "10.213.0.0/16");
  EXPECT_EQ(s->gateway(), "10.213.0.1");
  EXPECT_EQ(s->gatewayCidr(), "10.213.0.1/16");
  EXPECT_TRUE(s->contains(*parseIpv4("10.213.255.3")));
  EXPECT_FALSE(s->contains(*parseIpv4("10.214.0.3")));
  for (const char* bad : {"10.213.0.0", "10.213.0.0/33", "10.213.0.0/31", "x/16", "10.0.0.0/16x", "300.1.1.1/16"})
    EXPECT_FALSE(parseIpv4Subnet(bad).ok()) << bad;
}

TEST(CniConfigTest, BridgeConflistKeepsTrafficOnTheMachine) {
  BridgeNetworkConfig c;
  c.networkName = "berth-berth0";
  c.bridgeName = "berth0";
  c.subnet = *parseIpv4Subnet("10.213.0.0/16");
  c.ipamDataDir = "/var/lib/berth/cni/ipam";
  c.portMappings = true;
  c.hostAddresses = {"192.0.2.2"};
  auto j = bridgeConflist(c);
  EXPECT_EQ(j["cniVersion"], "1.0.0");
  EXPECT_EQ(j["name"], "berth-berth0");
  ASSERT_EQ(j["plugins"].size(), 2u);
  const auto& br = j["plugins"][0];
  EXPECT_EQ(br["type"], "bridge");
  EXPECT_EQ(br["bridge"], "berth0");
  EXPECT_EQ(br["isGateway"], false);  // would turn on ip_forward and add a default route
  EXPECT_EQ(br["isDefaultGateway"], false);
  EXPECT_EQ(br["ipMasq"], false);
  EXPECT_EQ(br["ipam"]["type"], "host-local");
  EXPECT_EQ(br["ipam"]["dataDir"], "/var/lib/berth/cni/ipam");
  EXPECT_EQ(br["ipam"]["ranges"][0][0]["subnet"], "10.213.0.0/16");
  EXPECT_EQ(br["ipam"]["ranges"][0][0]["gateway"], "10.213.0.1");
  ASSERT_EQ(br["ipam"]["routes"].size(), 1u);
  EXPECT_EQ(br["ipam"]["routes"][0]["dst"], "192.0.2.2/32");
  EXPECT_EQ(br["ipam"]["routes"][0]["gw"], "10.213.0.1");
  EXPECT_EQ(j["plugins"][1]["type"], "portmap");
  EXPECT_EQ(j["plugins"][1]["capabilities"]["portMappings"], true);

  c.portMappings = false;
  EXPECT_EQ(bridgeConflist(c)["plugins"].size(), 1u);
}

TEST(CniConfigTest, PortmapRuntimeConfig) {
  auto pm = portmapRuntimeConfig({{"web", "0.0.0.0", 80, 49200, "tcp"}, {"dns", "0.0.0.0", 53, 53, "udp"}});
  EXPECT_EQ(pm, nlohmann::json::parse(R"([{"hostPort":49200,"containerPort":80,"protocol":"tcp"},
                                          {"hostPort":53,"containerPort":53,"protocol":"udp"}])"));
}

TEST(CniConfigTest, AddressFromA100ResultPicksTheSandboxInterface) {
  auto r = nlohmann::json::parse(R"({"cniVersion":"1.0.0",
    "interfaces":[{"name":"berth0","mac":"aa:aa:aa:aa:aa:aa"},{"name":"veth1","mac":"bb:bb:bb:bb:bb:bb"},
                  {"name":"eth0","mac":"0a:58:0a:d5:00:05","sandbox":"/data/netns/t"}],
    "ips":[{"interface":2,"address":"fd00::5/64"},{"interface":2,"address":"10.213.0.5/16","gateway":"10.213.0.1"}]})");
  auto a = addressFromResult(r, "eth0");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->ipv4, "10.213.0.5");
  EXPECT_EQ(a->prefix, 16);
  EXPECT_EQ(a->gateway, "10.213.0.1");
  EXPECT_EQ(a->mac, "0a:58:0a:d5:00:05");
}

TEST(CniConfigTest, AddressFromA040Result) {
  auto r = nlohmann::json::parse(R"({"cniVersion":"0.4.0","interfaces":[{"name":"eth0","mac":"m"}],
    "ips":[{"version":"6","interface":0,"address":"fd00::5/64"},{"version":"4","interface":0,"address":"10.1.0.9/24"}]})");
  auto a = addressFromResult(r, "eth0");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->ipv4, "10.1.0.9");
  EXPECT_EQ(a->mac, "m");
}

TEST(CniConfigTest, ResultWithoutIpv4IsAnError) {
  EXPECT_FALSE(addressFromResult(nlohmann::json::parse(R"({"cniVersion":"1.0.0","ips":[]})"), "eth0").ok());
  EXPECT_FALSE(addressFromResult(nlohmann::json::parse(R"({"cniVersion":"1.0.0",
    "interfaces":[{"name":"veth0"}],"ips":[{"interface":0,"address":"10.1.0.9/24"}]})"), "eth0").ok());
}

TEST(CniConfigTest, HostAddressesSkipLoopbackAndExcludedSubnets) {
  std::vector<Ipv4Subnet> none;
  for (const auto& a : hostIpv4Addresses(none)) EXPECT_NE(a.rfind("127.", 0), 0u) << a;
  Ipv4Subnet everything{0, 1};  // 0.0.0.0/1 and 128.0.0.0/1 cover all
  Ipv4Subnet upper{0x80000000u, 1};
  EXPECT_TRUE(hostIpv4Addresses({everything, upper}).empty());
}

}  // namespace
}  // namespace berth::network
