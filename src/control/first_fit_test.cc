#include "control/first_fit.h"

#include <gtest/gtest.h>

namespace berth::control {
namespace {

PlacementCandidate instance(const std::string& arn, std::int64_t cpu, std::int64_t memory,
                            const std::string& status = "ACTIVE", bool connected = true) {
  PlacementCandidate c;
  c.arn = arn;
  c.status = status;
  c.agentConnected = connected;
  c.remaining.cpu = cpu;
  c.remaining.memory = memory;
  c.remaining.ports = {22};
  return c;
}

TEST(FirstFitTest, PicksFirstInstanceThatFitsAndExplainsTheOthers) {
  std::vector<PlacementCandidate> all = {instance("a", 100, 1000), instance("b", 1000, 100),
                                         instance("c", 1000, 1000, "DRAINING"), instance("d", 1000, 1000, "ACTIVE", false),
                                         instance("e", 1000, 1000), instance("f", 1000, 1000)};
  auto r = place(PlacementRequest{TaskDemand{512, 512, {}, {}}}, all);
  ASSERT_TRUE(r.chosen);
  EXPECT_EQ(*r.chosen, 4u);
  ASSERT_EQ(r.failures.size(), 4u);
  EXPECT_EQ(r.failures[0].arn, "a");
  EXPECT_EQ(r.failures[0].reason, "RESOURCE:CPU");
  EXPECT_EQ(r.failures[1].reason, "RESOURCE:MEMORY");
  EXPECT_EQ(r.failures[2].reason, "INACTIVE");
  EXPECT_EQ(r.failures[3].reason, "AGENT");
}

TEST(FirstFitTest, NothingFitsReportsEveryInstance) {
  std::vector<PlacementCandidate> all = {instance("a", 1000, 1000), instance("b", 1000, 1000)};
  auto r = place(PlacementRequest{TaskDemand{1, 1, {22}, {}}}, all);
  EXPECT_FALSE(r.chosen);
  ASSERT_EQ(r.failures.size(), 2u);
  EXPECT_EQ(r.failures[1].reason, "RESOURCE:PORTS");
  EXPECT_FALSE(place(PlacementRequest{}, {}).chosen);
}

TEST(FirstFitTest, ExactFitIsAFit) {
  std::vector<PlacementCandidate> all = {instance("a", 512, 512)};
  EXPECT_TRUE(place(PlacementRequest{TaskDemand{512, 512, {}, {}}}, all).chosen);
}

}  // namespace
}  // namespace berth::control
