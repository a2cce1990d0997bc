// Randomized snapshots and requests, many seeds: place() must agree with the
// obvious implementation (testing/naive_placement.h) task for task and reason
// for reason, and never break the invariants that matter to a cluster.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "scheduler/placement.h"
#include "scheduler/testing/instances.h"
#include "scheduler/testing/naive_placement.h"

namespace berth::scheduler {
namespace {

using testing::applyPlacement;
using testing::makeInstance;

constexpr int kSeeds = 400;

struct Gen {
  explicit Gen(std::uint64_t seed) : rng(seed) {}
  std::mt19937_64 rng;
  int between(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
  bool chance(int percent) { return between(1, 100) <= percent; }
};

ClusterSnapshot randomSnapshot(Gen& g) {
  ClusterSnapshot s;
  GroupId web = s.internGroup("family:web");
  GroupId other = s.internGroup("family:other");
  int n = g.between(1, 40);
  for (int i = 0; i < n; ++i) {
    std::vector<std::pair<std::string, std::string>> attrs;
    if (!g.chance(10)) attrs.push_back({"ecs.availability-zone", "az" + std::to_string(g.between(0, 2))});
    attrs.push_back({"ecs.instance-type", g.chance(70) ? "m5.large" : "c5.xlarge"});
    if (g.chance(80)) attrs.push_back({"cap.awslogs", ""});
    Instance in = makeInstance("i" + std::to_string(i), g.between(0, 4096), g.between(0, 8192), attrs);
    if (g.chance(5)) in.status = "DRAINING";
    if (g.chance(5)) in.agentConnected = false;
    for (int port : {80, 443, 8080})
      if (g.chance(15)) in.remaining.ports.push_back(port);
    if (g.chance(15)) in.remaining.portsUdp.push_back(53);
    in.remaining.gpus = g.between(0, 2);
    if (g.chance(30)) in.groupCounts.push_back({web, g.between(1, 3)});
    if (g.chance(30)) in.groupCounts.push_back({other, g.between(1, 3)});
    in.runningTasksCount = g.between(0, 5);
    in.attributesVersion = g.chance(80) ? 1 : 0;
    s.instances.push_back(std::move(in));
  }
  return s;
}

PlacementRequest randomRequest(Gen& g, std::size_t instances) {
  PlacementRequest r;
  r.group = g.chance(80) ? "family:web" : "family:new";
  r.demand.cpu = g.between(0, 1024);
  r.demand.memory = g.between(1, 2048);
  if (g.chance(20)) r.demand.ports = {g.chance(50) ? 80 : 8080};
  if (g.chance(10)) r.demand.portsUdp = {53};
  if (g.chance(10)) r.demand.gpus = 1;
  r.count = g.between(1, 10);
  if (g.chance(30)) r.constraints.push_back(testing::distinctInstance());
  if (g.chance(30)) r.constraints.push_back(testing::memberOf("attribute:ecs.instance-type =~ m5.*"));
  if (g.chance(10)) r.constraints.push_back(testing::memberOf("not(task:group == family:other)"));
  if (g.chance(10)) r.constraints.push_back(testing::memberOf("runningTasksCount < 4"));
  if (g.chance(10)) r.requiredAttributes.push_back("cap.awslogs");
  static const std::vector<Strategy> kChoices = {
      testing::binpack("cpu"), testing::binpack("memory"), testing::spread("instanceId"),
      testing::spread("attribute:ecs.availability-zone"), testing::spread("attribute:ecs.instance-type"),
      testing::randomStrategy()};
  int strategies = g.between(0, 3);
  for (int i = 0; i < strategies; ++i) r.strategies.push_back(kChoices[g.between(0, kChoices.size() - 1)]);
  if (g.chance(15))
    for (int i = 0; i < 3; ++i) r.onlyInstances.push_back(g.between(0, instances - 1));
  return r;
}

std::string describe(const PlacementRequest& r) {
  std::string d = "group=" + r.group + " count=" + std::to_string(r.count) + " strategies=";
  for (const auto& st : r.strategies) d += std::to_string(static_cast<int>(st.type)) + ":" + st.field + ",";
  d += " constraints=";
  for (const auto& c : r.constraints) d += c.expression ? c.expression->text() + "," : std::string("distinctInstance,");
  return d;
}

TEST(PlacementPropertyTest, AgreesWithTheNaivePlacementTaskForTaskAndReasonForReason) {
  for (int seed = 0; seed < kSeeds; ++seed) {
    Gen g(seed);
    ClusterSnapshot s = randomSnapshot(g);
    PlacementMemo memo;
    // Several calls on an evolving snapshot, as the server makes them.
    for (int call = 0; call < 4; ++call) {
      PlacementRequest r = randomRequest(g, s.instances.size());
      SeededRandom a(seed * 31 + call), b(seed * 31 + call), c(seed * 31 + call);
      auto fast = place(r, s, a, &memo);
      auto plain = place(r, s, c);
      auto naive = testing::naivePlace(r, s, b);
      ASSERT_EQ(fast.placed, naive.placed) << "seed " << seed << " call " << call << ": " << describe(r);
      ASSERT_EQ(plain.placed, naive.placed) << "seed " << seed << " call " << call;
      ASSERT_EQ(fast.rejections.size(), naive.rejections.size()) << "seed " << seed;
      for (std::size_t i = 0; i < fast.rejections.size(); ++i) {
        EXPECT_EQ(fast.rejections[i].instance, naive.rejections[i].instance) << "seed " << seed;
        EXPECT_EQ(fast.rejections[i].reason, naive.rejections[i].reason) << "seed " << seed;
      }
      applyPlacement(s, r, fast);
    }
  }
}

TEST(PlacementPropertyTest, NeverOvercommitsAndRejectsEachCandidateOnce) {
  for (int seed = 0; seed < kSeeds; ++seed) {
    Gen g(seed + 100000);
    ClusterSnapshot s = randomSnapshot(g);
    PlacementRequest r = randomRequest(g, s.instances.size());
    SeededRandom random(seed);
    auto result = place(r, s, random);
    ASSERT_LE(result.placed.size(), static_cast<std::size_t>(r.count));

    std::map<std::size_t, int> perInstance;
    for (std::size_t i : result.placed) ++perInstance[i];
    bool distinct = std::any_of(r.constraints.begin(), r.constraints.end(),
                                [](const Constraint& c) { return c.type == Constraint::Type::kDistinctInstance; });
    auto group = s.findGroup(r.group);
    for (auto [i, n] : perInstance) {
      const Instance& in = s.instances[i];
      EXPECT_EQ(in.status, "ACTIVE");
      EXPECT_TRUE(in.agentConnected);
      EXPECT_LE(r.demand.cpu * n, in.remaining.cpu) << "seed " << seed;
      EXPECT_LE(r.demand.memory * n, in.remaining.memory) << "seed " << seed;
      EXPECT_LE(r.demand.gpus * n, in.remaining.gpus) << "seed " << seed;
      if (!r.demand.ports.empty() || !r.demand.portsUdp.empty()) EXPECT_EQ(n, 1) << "seed " << seed;
      if (!r.onlyInstances.empty()) EXPECT_EQ(n, 1) << "StartTask: one task per named instance, seed " << seed;
      for (int port : r.demand.ports) EXPECT_FALSE(std::count(in.remaining.ports.begin(), in.remaining.ports.end(), port));
      for (int port : r.demand.portsUdp)
        EXPECT_FALSE(std::count(in.remaining.portsUdp.begin(), in.remaining.portsUdp.end(), port));
      if (distinct) {
        EXPECT_EQ(n, 1) << "seed " << seed;
        EXPECT_EQ(group ? in.tasksInGroup(*group) : 0, 0) << "seed " << seed;
      }
    }

    if (result.placed.size() == static_cast<std::size_t>(r.count)) {
      EXPECT_TRUE(result.rejections.empty());
      continue;
    }
    std::set<std::size_t> candidates;
    if (r.onlyInstances.empty())
      for (std::size_t i = 0; i < s.instances.size(); ++i) candidates.insert(i);
    else  // StartTask: a named instance that took its task is done, not rejected
      for (std::size_t i : r.onlyInstances)
        if (!perInstance.count(i)) candidates.insert(i);
    std::set<std::size_t> rejected;
    for (const auto& rej : result.rejections) {
      EXPECT_TRUE(rejected.insert(rej.instance).second) << "two reasons for instance " << rej.instance;
      EXPECT_FALSE(rej.reason.empty());
    }
    EXPECT_EQ(rejected, candidates) << "seed " << seed;
  }
}

// Ample room, every instance eligible: spreading keeps buckets within one task.
void expectBalanced(const std::string& field, int zones, int instances) {
  for (int seed = 0; seed < 50; ++seed) {
    Gen g(seed + 7);
    ClusterSnapshot s;
    for (int i = 0; i < instances; ++i) {
      s.instances.push_back(makeInstance("i" + std::to_string(i), 1 << 20, 1 << 20,
                                         {{"ecs.availability-zone", "az" + std::to_string(g.between(0, zones - 1))}}));
      s.instances.back().attributesVersion = 1;
    }
    PlacementRequest r;
    r.group = "service:web";
    r.demand.cpu = g.between(1, 64);
    r.demand.memory = g.between(1, 64);
    r.strategies = {testing::spread(field), testing::binpack("memory")};
    PlacementMemo memo;
    SeededRandom random(seed);
    for (int call = 0; call < 12; ++call) {
      r.count = g.between(1, 10);
      auto result = place(r, s, random, &memo);
      ASSERT_EQ(result.placed.size(), static_cast<std::size_t>(r.count));
      applyPlacement(s, r, result);
      GroupId group = *s.findGroup(r.group);
      std::map<std::string, int> perBucket;
      for (const auto& in : s.instances) {
        std::string bucket = field == "instanceId" ? in.id : *in.attribute("ecs.availability-zone");
        perBucket[bucket] += in.tasksInGroup(group);
      }
      auto [lo, hi] = std::minmax_element(perBucket.begin(), perBucket.end(),
                                          [](const auto& a, const auto& b) { return a.second < b.second; });
      ASSERT_LE(hi->second - lo->second, 1) << field << " seed " << seed << " call " << call;
    }
  }
}

TEST(PlacementPropertyTest, SpreadByZoneImbalanceAtMostOne) { expectBalanced("attribute:ecs.availability-zone", 3, 30); }

TEST(PlacementPropertyTest, SpreadByInstanceImbalanceAtMostOne) { expectBalanced("instanceId", 1, 17); }

TEST(PlacementPropertyTest, SameSeedSameResult) {
  for (int seed = 0; seed < 100; ++seed) {
    Gen g(seed + 5000);
    ClusterSnapshot s = randomSnapshot(g);
    PlacementRequest r = randomRequest(g, s.instances.size());
    r.strategies.push_back(testing::randomStrategy());
    SeededRandom a(seed), b(seed);
    EXPECT_EQ(place(r, s, a).placed, place(r, s, b).placed);
  }
}

}  // namespace
}  // namespace berth::scheduler
