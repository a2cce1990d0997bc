#include "scheduler/placement.h"

#include <gtest/gtest.h>

#include <set>

#include "scheduler/testing/instances.h"

namespace berth::scheduler {
namespace {

using testing::applyPlacement;
using testing::binpack;
using testing::distinctInstance;
using testing::makeInstance;
using testing::memberOf;
using testing::randomStrategy;
using testing::spread;

PlacementRequest task(std::int64_t cpu, std::int64_t memory, int count = 1) {
  PlacementRequest r;
  r.demand.cpu = cpu;
  r.demand.memory = memory;
  r.group = "family:web";
  r.count = count;
  return r;
}

std::vector<std::string> reasons(const PlacementResult& result) {
  std::vector<std::string> out;
  for (const auto& r : result.rejections) out.push_back(std::to_string(r.instance) + "=" + r.reason);
  return out;
}

// ---- snapshot helpers, reserve/release ----

TEST(InstanceTest, AttributeLooksUpTheSortedVector) {
  Instance i = makeInstance("a", 1, 1, {{"ecs.os-type", "linux"}, {"cap.awslogs", ""}, {"ecs.availability-zone", "az1"}});
  ASSERT_NE(i.attribute("ecs.availability-zone"), nullptr);
  EXPECT_EQ(*i.attribute("ecs.availability-zone"), "az1");
  ASSERT_NE(i.attribute("cap.awslogs"), nullptr);
  EXPECT_EQ(*i.attribute("cap.awslogs"), "");
  EXPECT_EQ(i.attribute("ecs.instance-type"), nullptr);
}

TEST(ClusterSnapshotTest, InternGroupIsStable) {
  ClusterSnapshot s;
  GroupId a = s.internGroup("family:a");
  GroupId b = s.internGroup("family:b");
  EXPECT_NE(a, b);
  EXPECT_EQ(s.internGroup("family:a"), a);
  EXPECT_EQ(s.findGroup("family:b"), b);
  EXPECT_EQ(s.findGroup("family:c"), std::nullopt);
}

TEST(ReserveTest, ReserveAndReleaseKeepPortsSortedUniqueAndCountGroups) {
  Instance i = makeInstance("a", 1024, 2048);
  i.remaining.ports = {22, 2375};
  Resources demand;
  demand.cpu = 256;
  demand.memory = 512;
  demand.gpus = 0;
  demand.ports = {8080, 80};
  demand.portsUdp = {53};
  reserve(i, demand, 7);
  EXPECT_EQ(i.remaining.cpu, 768);
  EXPECT_EQ(i.remaining.memory, 1536);
  EXPECT_EQ(i.remaining.ports, (std::vector<int>{22, 80, 2375, 8080}));
  EXPECT_EQ(i.remaining.portsUdp, (std::vector<int>{53}));
  EXPECT_EQ(i.tasksInGroup(7), 1);
  Resources other;
  reserve(i, other, 3);
  reserve(i, other, 7);
  EXPECT_EQ(i.tasksInGroup(7), 2);
  EXPECT_EQ(i.groupCounts, (std::vector<std::pair<GroupId, int>>{{3, 1}, {7, 2}}));
  release(i, demand, 7);
  EXPECT_EQ(i.remaining.cpu, 1024);
  EXPECT_EQ(i.remaining.ports, (std::vector<int>{22, 2375}));
  EXPECT_TRUE(i.remaining.portsUdp.empty());
  release(i, other, 7);
  release(i, other, 3);
  EXPECT_TRUE(i.groupCounts.empty());  // only groups with tasks are listed
}

// ---- validation ----

TEST(ParseConstraintTest, EcsMessages) {
  auto bad = [](std::string_view type, std::optional<std::string_view> e, bool td = false) {
    auto r = parseConstraint(type, e, td);
    EXPECT_FALSE(r.ok());
    if (r.ok()) return std::string();
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
    return r.error().message;
  };
  EXPECT_EQ(bad("distinctInstance", "attribute:a == b"),
            "Placement constraint type distinctInstance does not take an expression.");
  EXPECT_EQ(bad("memberOf", std::nullopt), "Placement constraint type memberOf requires an expression.");
  EXPECT_EQ(bad("memberOf", ""), "Placement constraint type memberOf requires an expression.");
  EXPECT_EQ(bad("sameHost", std::nullopt), "Invalid placement constraint type 'sameHost'. Valid values: distinctInstance, memberOf.");
  EXPECT_EQ(bad("distinctInstance", std::nullopt, true),
            "Task definition placement constraints may only be of type memberOf.");
  EXPECT_FALSE(parseConstraint("memberOf", "bogus").ok());  // the expression's own error

  auto distinct = parseConstraint("distinctInstance", std::nullopt);
  ASSERT_TRUE(distinct.ok());
  EXPECT_EQ(distinct->type, Constraint::Type::kDistinctInstance);
  auto member = parseConstraint("memberOf", "attribute:ecs.instance-type =~ t2.*", true);
  ASSERT_TRUE(member.ok());
  EXPECT_EQ(member->type, Constraint::Type::kMemberOf);
  ASSERT_TRUE(member->expression);
  EXPECT_EQ(member->expression->text(), "attribute:ecs.instance-type =~ t2.*");
}

TEST(ParseStrategyTest, EcsMessages) {
  auto bad = [](std::string_view type, std::optional<std::string_view> f) {
    auto r = parseStrategy(type, f);
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string() : r.error().message;
  };
  EXPECT_EQ(bad("binpack", "disk"), "The binpack placement strategy field must be cpu or memory.");
  EXPECT_EQ(bad("binpack", std::nullopt), "The binpack placement strategy field must be cpu or memory.");
  EXPECT_EQ(bad("spread", std::nullopt), "The spread placement strategy requires a field (instanceId, host or attribute:<name>).");
  EXPECT_EQ(bad("spread", "zone"), "Invalid spread placement strategy field 'zone'. Valid values: instanceId, host, attribute:<name>.");
  EXPECT_EQ(bad("spread", "attribute:"), "Invalid spread placement strategy field 'attribute:'. Valid values: instanceId, host, attribute:<name>.");
  EXPECT_EQ(bad("random", "cpu"), "The random placement strategy does not take a field.");
  EXPECT_EQ(bad("roundRobin", std::nullopt), "Invalid placement strategy type 'roundRobin'. Valid values: random, spread, binpack.");

  for (auto [type, field] : std::vector<std::pair<std::string, std::string>>{
           {"binpack", "cpu"}, {"binpack", "memory"}, {"spread", "instanceId"}, {"spread", "host"},
           {"spread", "attribute:ecs.availability-zone"}, {"random", ""}}) {
    auto r = parseStrategy(type, field.empty() ? std::nullopt : std::optional<std::string_view>(field));
    ASSERT_TRUE(r.ok()) << type << " " << field;
    EXPECT_EQ(r->field, field);
  }
  EXPECT_EQ(parseStrategy("random", std::nullopt)->type, Strategy::Type::kRandom);
}

// ---- rejections ----

TEST(PlaceTest, EveryRejectedInstanceGetsItsFirstReason) {
  ClusterSnapshot s;
  s.instances.push_back(makeInstance("inactive", 0, 0));
  s.instances.back().status = "DRAINING";
  s.instances.back().agentConnected = false;  // INACTIVE comes first
  s.instances.push_back(makeInstance("agent", 0, 0));
  s.instances.back().agentConnected = false;
  s.instances.push_back(makeInstance("cpu", 100, 100));  // short on cpu and memory: CPU first
  s.instances.push_back(makeInstance("memory", 1000, 100));
  s.instances.push_back(makeInstance("ports", 1000, 1000));
  s.instances.back().remaining.ports = {22, 80};
  s.instances.push_back(makeInstance("udp", 1000, 1000));
  s.instances.back().remaining.portsUdp = {53};
  s.instances.push_back(makeInstance("gpu", 1000, 1000));
  s.instances.push_back(makeInstance("attribute", 1000, 1000, {{"ecs.instance-type", "c5.large"}}));
  s.instances.back().remaining.gpus = 1;
  PlacementRequest r = task(500, 500);
  r.demand.ports = {80};
  r.demand.portsUdp = {53};
  r.demand.gpus = 1;
  r.constraints.push_back(memberOf("attribute:ecs.instance-type =~ m5.*"));
  SeededRandom random(1);
  auto result = place(r, s, random);
  EXPECT_TRUE(result.placed.empty());
  EXPECT_EQ(reasons(result), (std::vector<std::string>{"0=INACTIVE", "1=AGENT", "2=RESOURCE:CPU", "3=RESOURCE:MEMORY",
                                                       "4=RESOURCE:PORTS", "5=RESOURCE:PORTS_UDP", "6=RESOURCE:GPU",
                                                       "7=ATTRIBUTE"}));
}

TEST(PlaceTest, RequiredAttributesAndDistinctInstanceRejectAsAttribute) {
  ClusterSnapshot s;
  s.instances.push_back(makeInstance("a", 1000, 1000));
  s.instances.push_back(makeInstance("b", 1000, 1000, {{"com.amazonaws.ecs.capability.logging-driver.awslogs", ""}}));
  GroupId web = s.internGroup("family:web");
  s.instances.back().groupCounts = {{web, 1}};
  PlacementRequest r = task(1, 1);
  r.requiredAttributes = {"com.amazonaws.ecs.capability.logging-driver.awslogs"};
  r.constraints.push_back(distinctInstance());
  SeededRandom random(1);
  auto result = place(r, s, random);
  EXPECT_TRUE(result.placed.empty());
  EXPECT_EQ(reasons(result), (std::vector<std::string>{"0=ATTRIBUTE", "1=ATTRIBUTE"}));
}

TEST(PlaceTest, NoRejectionsWhenAllPlaced) {
  ClusterSnapshot s;
  s.instances.push_back(makeInstance("small", 10, 10));
  s.instances.push_back(makeInstance("big", 1000, 1000));
  SeededRandom random(1);
  auto result = place(task(100, 100), s, random);
  EXPECT_EQ(result.placed, std::vector<std::size_t>{1});
  EXPECT_TRUE(result.rejections.empty());
}

TEST(PlaceTest, PartialPlacementListsWhyTheNextTaskDidNotFit) {
  ClusterSnapshot s;
  s.instances.push_back(makeInstance("a", 1000, 250));
  s.instances.push_back(makeInstance("b", 150, 1000));
  SeededRandom random(1);
  auto result = place(task(100, 100, 5), s, random);
  // a takes two (memory 250), b takes one (cpu 150): then memory on a, cpu on b.
  EXPECT_EQ(result.placed, (std::vector<std::size_t>{0, 0, 1}));
  EXPECT_EQ(reasons(result), (std::vector<std::string>{"0=RESOURCE:MEMORY", "1=RESOURCE:CPU"}));
}

TEST(PlaceTest, EmptyClusterPlacesNothingAndRejectsNothing) {
  ClusterSnapshot s;
  SeededRandom random(1);
  auto result = place(task(1, 1), s, random);
  EXPECT_TRUE(result.placed.empty());
  EXPECT_TRUE(result.rejections.empty());
}

// ---- count > 1 accounting ----

TEST(PlaceTest, PortsPlacedEarlierInTheCallAreInUse) {
  ClusterSnapshot s;
  s.instances.push_back(makeInstance("a", 1000, 1000));
  s.instances.push_back(makeInstance("b", 1000, 1000));
  PlacementRequest r = task(1, 1, 3);
  r.demand.ports = {80};
  SeededRandom random(1);
  auto result = place(r, s, random);
  EXPECT_EQ(result.placed, (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(reasons(result), (std::vector<std::string>{"0=RESOURCE:PORTS", "1=RESOURCE:PORTS"}));
  EXPECT_TRUE(s.instances[0].remaining.ports.empty());  // the snapshot is untouched
}

TEST(PlaceTest, DistinctInstanceCountsTasksPlacedInTheSameCall) {
  ClusterSnapshot s;
  for (auto id : {"a", "b", "c"}) s.instances.push_back(makeInstance(id, 1000, 1000));
  s.instances.back().groupCounts = {{s.internGroup("family:web"), 1}};
  PlacementRequest r = task(1, 1, 3);
  r.constraints.push_back(distinctInstance());
  SeededRandom random(1);
  auto result = place(r, s, random);
  EXPECT_EQ(result.placed, (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(reasons(result), (std::vector<std::string>{"0=ATTRIBUTE", "1=ATTRIBUTE", "2=ATTRIBUTE"}));
}

TEST(PlaceTest, TaskReadingExpressionsSeeTasksPlacedInTheCall) {
  ClusterSnapshot s;
  for (auto id : {"a", "b", "c"}) s.instances.push_back(makeInstance(id, 1000, 1000));
  PlacementRequest r = task(1, 1, 3);
  r.constraints.push_back(memberOf("not(task:group == family:web)"));
  SeededRandom random(1);
  EXPECT_EQ(place(r, s, random).placed, (std::vector<std::size_t>{0, 1, 2}));

}

TEST(PlaceTest, RunningTasksCountExpressionRechecksAfterEachPlacement) {
  ClusterSnapshot s;
  for (auto id : {"a", "b"}) s.instances.push_back(makeInstance(id, 1000, 1000));
  s.instances[0].runningTasksCount = 1;
  PlacementRequest r = task(1, 1, 4);
  r.constraints.push_back(memberOf("runningTasksCount < 2"));
  SeededRandom random(1);
  auto result = place(r, s, random);
  // a has room for one more, b for two; then none.
  EXPECT_EQ(result.placed, (std::vector<std::size_t>{0, 1, 1}));
  EXPECT_EQ(reasons(result), (std::vector<std::string>{"0=ATTRIBUTE", "1=ATTRIBUTE"}));
}

// ---- strategies ----

TEST(PlaceTest, NoStrategyIsFirstFitInSnapshotOrder) {
  ClusterSnapshot s;
  s.instances.push_back(makeInstance("full", 0, 0));
  s.instances.push_back(makeInstance("b", 1000, 1000));
  s.instances.push_back(makeInstance("c", 1000, 1000));
  SeededRandom random(1);
  EXPECT_EQ(place(task(400, 1, 3), s, random).placed, (std::vector<std::size_t>{1, 1, 2}));
}

TEST(PlaceTest, BinpackPicksTheTightestFit) {
  ClusterSnapshot s;
  s.instances.push_back(makeInstance("roomy", 4096, 8192));
  s.instances.push_back(makeInstance("tight", 4096, 600));
  s.instances.push_back(makeInstance("too-small", 4096, 400));
  s.instances.push_back(makeInstance("medium", 1024, 2048));
  PlacementRequest r = task(256, 512);
  r.strategies = {binpack("memory")};
  SeededRandom random(1);
  EXPECT_EQ(place(r, s, random).placed, std::vector<std::size_t>{1});
  r.strategies = {binpack("cpu")};
  EXPECT_EQ(place(r, s, random).placed, std::vector<std::size_t>{3});
  // Packing continues on the same instance while it fits.
  r.strategies = {binpack("memory")};
  r.count = 4;
  EXPECT_EQ(place(r, s, random).placed, (std::vector<std::size_t>{1, 3, 3, 3}));
}

TEST(PlaceTest, SpreadInstanceIdPrefersFewestTasksOfTheGroup) {
  ClusterSnapshot s;
  for (auto id : {"a", "b", "c"}) s.instances.push_back(makeInstance(id, 10000, 10000));
  GroupId web = s.internGroup("family:web");
  GroupId other = s.internGroup("family:other");
  s.instances[0].groupCounts = {{web, 2}};
  s.instances[1].groupCounts = {{other, 5}};  // other groups do not count
  s.instances[2].groupCounts = {{web, 1}};
  PlacementRequest r = task(1, 1, 4);
  r.strategies = {spread("instanceId")};
  SeededRandom random(1);
  EXPECT_EQ(place(r, s, random).placed, (std::vector<std::size_t>{1, 1, 2, 0}));
  r.strategies = {spread("host")};
  EXPECT_EQ(place(r, s, random).placed, (std::vector<std::size_t>{1, 1, 2, 0}));
}

TEST(PlaceTest, SpreadAttributeBalancesBucketsAndMissingAttributeIsItsOwnBucket) {
  ClusterSnapshot s;
  s.instances.push_back(makeInstance("a1", 10000, 10000, {{"zone", "a"}}));
  s.instances.push_back(makeInstance("a2", 10000, 10000, {{"zone", "a"}}));
  s.instances.push_back(makeInstance("b1", 10000, 10000, {{"zone", "b"}}));
  s.instances.push_back(makeInstance("none", 10000, 10000));
  GroupId web = s.internGroup("family:web");
  s.instances[0].groupCounts = {{web, 1}};
  s.instances[1].groupCounts = {{web, 1}};  // zone a: 2 tasks
  PlacementRequest r = task(1, 1, 4);
  r.strategies = {spread("attribute:zone")};
  SeededRandom random(1);
  // b (0) and missing (0) tie: snapshot order picks b1, then "none" (b has 1),
  // then b1 and none are at 1 each (a at 2): b1, then none.
  EXPECT_EQ(place(r, s, random).placed, (std::vector<std::size_t>{2, 3, 2, 3}));
}

TEST(PlaceTest, SpreadByZoneThenBinpackMemoryPacksWithinTheZone) {
  ClusterSnapshot s;
  s.instances.push_back(makeInstance("a-roomy", 10000, 8000, {{"ecs.availability-zone", "az-a"}}));
  s.instances.push_back(makeInstance("a-tight", 10000, 2000, {{"ecs.availability-zone", "az-a"}}));
  s.instances.push_back(makeInstance("b-tight", 10000, 1500, {{"ecs.availability-zone", "az-b"}}));
  s.instances.push_back(makeInstance("b-roomy", 10000, 8000, {{"ecs.availability-zone", "az-b"}}));
  PlacementRequest r = task(1, 500, 4);
  r.strategies = {spread("attribute:ecs.availability-zone"), binpack("memory")};
  SeededRandom random(1);
  // Zones tie (0:0): the tightest across both is b-tight; then zone a (0) → a-tight;
  // then tie again → b-tight (1000 left), then a-tight (1500 left).
  EXPECT_EQ(place(r, s, random).placed, (std::vector<std::size_t>{2, 1, 2, 1}));
}

TEST(PlaceTest, RandomSameSeedSameResultDifferentSeedsDiffer) {
  ClusterSnapshot s;
  for (int i = 0; i < 50; ++i) s.instances.push_back(makeInstance("i" + std::to_string(i), 10000, 10000));
  PlacementRequest r = task(1, 1, 10);
  r.strategies = {randomStrategy()};
  SeededRandom a(42), b(42);
  auto first = place(r, s, a).placed;
  EXPECT_EQ(first, place(r, s, b).placed);
  std::set<std::vector<std::size_t>> seen;
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    SeededRandom random(seed);
    seen.insert(place(r, s, random).placed);
  }
  EXPECT_GT(seen.size(), 5u);
}

TEST(PlaceTest, RandomBreaksTiesOfEarlierStrategiesOnly) {
  ClusterSnapshot s;
  for (int i = 0; i < 20; ++i)
    s.instances.push_back(makeInstance("i" + std::to_string(i), 10000, i < 10 ? 1000 : 5000));
  PlacementRequest r = task(1, 100);
  r.strategies = {binpack("memory"), randomStrategy()};
  std::set<std::size_t> chosen;
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    SeededRandom random(seed);
    chosen.insert(place(r, s, random).placed.at(0));
  }
  EXPECT_GT(chosen.size(), 3u);
  EXPECT_LT(*chosen.rbegin(), 10u);  // always among the tightest
}

TEST(PlaceTest, OnlyInstancesPlacesOneTaskOnEachNamedInstance) {
  ClusterSnapshot s;
  s.instances.push_back(makeInstance("a", 1000, 1000));
  s.instances.push_back(makeInstance("b", 10, 10));
  s.instances.push_back(makeInstance("c", 1000, 1000));
  s.instances.push_back(makeInstance("d", 1000, 1000));
  PlacementRequest r = task(100, 100, 3);
  r.onlyInstances = {3, 2, 1, 2, 99};  // duplicates and unknown indexes are ignored
  SeededRandom random(1);
  auto result = place(r, s, random);
  // StartTask: c and d each take one task (though each has room for ten);
  // only b, which could not, is a rejection; a was not named.
  EXPECT_EQ(result.placed, (std::vector<std::size_t>{2, 3}));
  EXPECT_EQ(reasons(result), (std::vector<std::string>{"1=RESOURCE:CPU"}));

  r.count = 2;
  r.onlyInstances = {0, 3};
  EXPECT_EQ(place(r, s, random).placed, (std::vector<std::size_t>{0, 3}));
  EXPECT_TRUE(place(r, s, random).rejections.empty());
}

// ---- memo ----

TEST(PlacementMemoTest, CachesStaticResultsPerAttributesVersion) {
  ClusterSnapshot s;
  s.instances.push_back(makeInstance("a", 1000, 1000, {{"ecs.instance-type", "m5.large"}}));
  s.instances[0].attributesVersion = 1;
  PlacementRequest r = task(1, 1);
  r.constraints.push_back(memberOf("attribute:ecs.instance-type =~ m5.*"));
  PlacementMemo memo;
  SeededRandom random(1);
  EXPECT_EQ(place(r, s, random, &memo).placed.size(), 1u);
  // Attributes changed without a new version: the memo still answers from cache
  // (this is what the version is for).
  s.instances[0].attributes = {{"ecs.instance-type", "c5.large"}};
  EXPECT_EQ(place(r, s, random, &memo).placed.size(), 1u);
  EXPECT_EQ(place(r, s, random).placed.size(), 0u);  // without a memo: evaluated afresh
  s.instances[0].attributesVersion = 2;
  EXPECT_EQ(place(r, s, random, &memo).placed.size(), 0u);
  // Version 0 is never cached.
  s.instances[0].attributesVersion = 0;
  s.instances[0].attributes = {{"ecs.instance-type", "m5.large"}};
  EXPECT_EQ(place(r, s, random, &memo).placed.size(), 1u);
  s.instances[0].attributes = {{"ecs.instance-type", "c5.large"}};
  EXPECT_EQ(place(r, s, random, &memo).placed.size(), 0u);
}

TEST(PlacementMemoTest, SpreadBucketsFollowAttributeChanges) {
  ClusterSnapshot s;
  s.instances.push_back(makeInstance("a", 1000, 1000, {{"zone", "x"}}));
  s.instances.push_back(makeInstance("b", 1000, 1000, {{"zone", "y"}}));
  s.instances[0].attributesVersion = 1;
  s.instances[1].attributesVersion = 1;
  s.instances[0].groupCounts = {{s.internGroup("family:web"), 1}};
  PlacementRequest r = task(1, 1);
  r.strategies = {spread("attribute:zone")};
  PlacementMemo memo;
  SeededRandom random(1);
  EXPECT_EQ(place(r, s, random, &memo).placed, std::vector<std::size_t>{1});
  // Both now in zone x: one bucket, so the tie-break is snapshot order.
  s.instances[1].attributes = {{"zone", "x"}};
  s.instances[1].attributesVersion = 2;
  EXPECT_EQ(place(r, s, random, &memo).placed, std::vector<std::size_t>{0});
}

TEST(PlacementMemoTest, ApplyingResultsBetweenCallsMatchesFreshSnapshots) {
  ClusterSnapshot s;
  for (int i = 0; i < 30; ++i) {
    s.instances.push_back(makeInstance("i" + std::to_string(i), 2048, 1024 + 512 * (i % 4),
                                       {{"zone", "z" + std::to_string(i % 3)}}));
    s.instances.back().attributesVersion = 1;
  }
  PlacementRequest r = task(128, 256, 10);
  r.strategies = {spread("attribute:zone"), binpack("memory")};
  PlacementMemo memo;
  ClusterSnapshot fresh = s;
  for (int call = 0; call < 8; ++call) {
    SeededRandom a(call), b(call);
    auto withMemo = place(r, s, a, &memo);
    auto without = place(r, fresh, b);
    ASSERT_EQ(withMemo.placed, without.placed) << "call " << call;
    applyPlacement(s, r, withMemo);
    applyPlacement(fresh, r, without);
  }
}

}  // namespace
}  // namespace berth::scheduler
