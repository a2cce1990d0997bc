#include "network/host_port_sockets.h"

#include <gtest/gtest.h>

#include "network/port_allocator.h"

namespace berth::network {
namespace {

// A port the kernel reports free for both protocols right now.
int freePort() {
  for (int port = 45000; port < 45500; ++port)
    if (hostPortFree("tcp", port) && hostPortFree("udp", port)) return port;
  return 0;
}

TEST(HostPortSocketsTest, HeldPortsLookTakenToTheProbeUntilReleased) {
  const int port = freePort();
  ASSERT_NE(port, 0);
  HostPortSockets sockets;
  sockets.hold("t1", {{"web", "0.0.0.0", 80, port, "tcp"}, {"dns", "0.0.0.0", 53, port, "udp"}});
  EXPECT_EQ(sockets.openSockets(), 2u);
  EXPECT_FALSE(hostPortFree("tcp", port));
  EXPECT_FALSE(hostPortFree("udp", port));
  // A second holder (another agent) cannot get it; it logs and skips.
  HostPortSockets other;
  other.hold("t2", {{"web", "0.0.0.0", 80, port, "tcp"}});
  EXPECT_EQ(other.openSockets(), 0u);
  sockets.release("t1");
  EXPECT_EQ(sockets.openSockets(), 0u);
  EXPECT_TRUE(hostPortFree("tcp", port));
  EXPECT_TRUE(hostPortFree("udp", port));
}

}  // namespace
}  // namespace berth::network
