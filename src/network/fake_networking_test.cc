#include "network/fake_networking.h"

#include <gtest/gtest.h>

#include <set>

namespace berth::network {
namespace {

TEST(FakeNetworkingTest, BridgeTasksGetDistinctPortsAndAddresses) {
  FakeNetworking net;
  std::set<int> ports;
  std::set<std::string> ips;
  for (int i = 0; i < 50; ++i) {
    auto n = net.setup({"t" + std::to_string(i), "arn", "", {{"web", 80, 0, "tcp"}}});
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(n->networkMode, "bridge");
    EXPECT_TRUE(n->netnsPath.empty());
    EXPECT_TRUE(ports.insert(n->bindings[0].hostPort).second);
    EXPECT_TRUE(ips.insert(n->ipv4Address).second);
    EXPECT_EQ(n->gatewayIpv4Address, "10.213.0.1");
  }
  EXPECT_EQ(net.activeTasks(), 50u);
}

TEST(FakeNetworkingTest, ConflictsReleaseAndRecover) {
  FakeNetworking net;
  ASSERT_TRUE(net.setup({"a", "arn", "bridge", {{"web", 80, 8080, "tcp"}}}).ok());
  auto b = net.setup({"b", "arn", "bridge", {{"web", 80, 8080, "tcp"}}});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::kConflict);
  auto rec = net.recover("a");
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_EQ((*rec)->bindings[0].hostPort, 8080);
  ASSERT_TRUE(net.teardown("a").ok());
  ASSERT_TRUE(net.teardown("a").ok());
  EXPECT_FALSE(net.recover("a")->has_value());
  EXPECT_TRUE(net.setup({"b", "arn", "bridge", {{"web", 80, 8080, "tcp"}}}).ok());
}

TEST(FakeNetworkingTest, ModesAndInjectedFailures) {
  FakeNetworking::Options o;
  o.portProbe = [](const std::string&, int port) { return port != 9999; };
  FakeNetworking net(o);
  auto v = net.setup({"v", "arn", "awsvpc", {{"web", 80, 0, "tcp"}}});
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->bindings.empty());
  EXPECT_EQ(v->ipv4Address.rfind("10.214.", 0), 0u);
  auto h = net.setup({"h", "arn", "host", {{"web", 9000, 0, "tcp"}}});
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->bindings[0].hostPort, 9000);
  EXPECT_EQ(net.setup({"h2", "arn", "host", {{"web", 9999, 0, "tcp"}}}).error().code, ErrorCode::kConflict);
  EXPECT_EQ(net.setup({"n", "arn", "none", {{"web", 1, 0, "tcp"}}}).error().code, ErrorCode::kInvalidParameter);
  EXPECT_EQ(net.setup({"x", "arn", "nat", {}}).error().code, ErrorCode::kInvalidParameter);
  net.failNextSetup(Error::make(ErrorCode::kInternal, "CNI plugin bridge ADD failed: injected"));
  EXPECT_FALSE(net.setup({"y", "arn", "bridge", {}}).ok());
  EXPECT_TRUE(net.setup({"y", "arn", "bridge", {}}).ok());
}

}  // namespace
}  // namespace berth::network
