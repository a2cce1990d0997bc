#include "network/port_allocator.h"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>

namespace berth::network {
namespace {

HostPortProbe allFree() {
  return [](const std::string&, int) { return true; };
}

TEST(PortAllocatorTest, FiftyTasksNeverCollide) {
  PortAllocator ports({40000, 40200}, allFree());
  std::set<std::pair<std::string, int>> seen;
  for (int t = 0; t < 50; ++t) {
    auto b = ports.allocate("task" + std::to_string(t), {{"web", 80, 0, "tcp"}, {"dns", 53, 0, "udp"}, {"adm", 81, 0, "tcp"}});
    ASSERT_TRUE(b.ok()) << b.error().message;
    ASSERT_EQ(b->size(), 3u);
    for (const auto& x : *b) {
      EXPECT_GE(x.hostPort, 40000);
      EXPECT_LE(x.hostPort, 40200);
      EXPECT_EQ(x.bindIP, "0.0.0.0");
      EXPECT_TRUE(seen.insert({x.protocol, x.hostPort}).second) << x.protocol << " " << x.hostPort;
    }
  }
  EXPECT_EQ(ports.heldCount(), 150u);
}

TEST(PortAllocatorTest, FixedPortHeldByAnotherTaskIsAConflict) {
  PortAllocator ports({40000, 40010}, allFree());
  ASSERT_TRUE(ports.allocate("a", {{"web", 80, 8080, "tcp"}}).ok());
  auto b = ports.allocate("b", {{"web", 80, 8080, "tcp"}});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::kConflict);
  EXPECT_NE(b.error().message.find("RESOURCE:PORTS"), std::string::npos);
  EXPECT_NE(b.error().message.find("task a"), std::string::npos);
  // Same number, other protocol: no conflict.
  EXPECT_TRUE(ports.allocate("c", {{"dns", 80, 8080, "udp"}}).ok());
  // Twice in one task: conflict, and nothing of the failed request is held.
  auto d = ports.allocate("d", {{"x", 1, 9000, "tcp"}, {"y", 2, 9000, "tcp"}});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(ports.holder("tcp", 9000), "");
}

TEST(PortAllocatorTest, PortsInUseOnTheHostAreSkippedOrConflict) {
  PortAllocator ports({40000, 40003}, [](const std::string&, int port) { return port != 40000 && port != 7000; });
  auto b = ports.allocate("a", {{"web", 80, 0, "tcp"}});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)[0].hostPort, 40001);
  auto fixed = ports.allocate("b", {{"web", 80, 7000, "tcp"}});
  ASSERT_FALSE(fixed.ok());
  EXPECT_EQ(fixed.error().code, ErrorCode::kConflict);
  EXPECT_NE(fixed.error().message.find("in use on the host"), std::string::npos);
}

TEST(PortAllocatorTest, DynamicPickNeverStealsALaterFixedPort) {
  PortAllocator ports({40000, 40001}, allFree());
  auto b = ports.allocate("a", {{"dyn", 80, 0, "tcp"}, {"fixed", 81, 40000, "tcp"}});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)[0].hostPort, 40001);
  EXPECT_EQ((*b)[1].hostPort, 40000);
}

TEST(PortAllocatorTest, ExhaustionIsUnavailableAndReleaseMakesRoom) {
  PortAllocator ports({40000, 40001}, allFree());
  ASSERT_TRUE(ports.allocate("a", {{"w", 80, 0, "tcp"}}).ok());
  ASSERT_TRUE(ports.allocate("b", {{"w", 80, 0, "tcp"}}).ok());
  auto c = ports.allocate("c", {{"w", 80, 0, "tcp"}});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kUnavailable);
  ports.release("a");
  auto d = ports.allocate("d", {{"w", 80, 0, "tcp"}});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(ports.holder("tcp", (*d)[0].hostPort), "d");
}

TEST(PortAllocatorTest, ReleasedPortsAreNotReusedAtOnce) {
  PortAllocator ports({40000, 40100}, allFree());
  auto a = ports.allocate("a", {{"w", 80, 0, "tcp"}});
  ports.release("a");
  auto b = ports.allocate("b", {{"w", 80, 0, "tcp"}});
  EXPECT_NE((*a)[0].hostPort, (*b)[0].hostPort);
}

TEST(PortAllocatorTest, HoldReservesRecordedPorts) {
  PortAllocator ports({40000, 40001}, allFree());
  ports.hold("old", {{"w", "0.0.0.0", 80, 40000, "tcp"}});
  auto b = ports.allocate("new", {{"w", 80, 0, "tcp"}});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)[0].hostPort, 40001);
  EXPECT_FALSE(ports.allocate("x", {{"w", 80, 40000, "tcp"}}).ok());
}

TEST(PortAllocatorTest, RejectsBadMappings) {
  PortAllocator ports({40000, 40001}, allFree());
  EXPECT_EQ(ports.allocate("a", {{"w", 80, 0, "sctp"}}).error().code, ErrorCode::kInvalidParameter);
  EXPECT_EQ(ports.allocate("a", {{"w", 0, 0, "tcp"}}).error().code, ErrorCode::kInvalidParameter);
  EXPECT_EQ(ports.allocate("a", {{"w", 80, 70000, "tcp"}}).error().code, ErrorCode::kInvalidParameter);
}

TEST(PortAllocatorTest, RangeParsingAndDefault) {
  auto r = parsePortRange("32768-60999");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->first, 32768);
  EXPECT_EQ(r->last, 60999);
  for (const char* bad : {"", "100", "200-100", "0-10", "1-70000", "1-2x"}) EXPECT_FALSE(parsePortRange(bad).ok()) << bad;
  auto d = defaultDynamicPortRange();
  EXPECT_LE(d.first, d.last);
  EXPECT_GE(d.first, 1);
}

TEST(PortAllocatorTest, HostProbeSeesABoundSocket) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(s, 1), 0);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  EXPECT_FALSE(hostPortFree("tcp", port));
  close(s);
  EXPECT_TRUE(hostPortFree("tcp", port));
}

}  // namespace
}  // namespace berth::network
