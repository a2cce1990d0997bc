// Placement throughput (issue #6): 100,000 tasks placed on 10,000 instances
// (3 availability zones, four instance types), RunTask-style calls of count
// 10, each result applied to the snapshot with reserve() before the next call
// (as the server does). Every variant keeps the memberOf constraint
// `attribute:ecs.instance-type =~ m5.*` (a quarter of the instances are c5).
//
//   BM_Place/<strategies>          place() with a PlacementMemo: 10,000 calls = the full 100,000 tasks
//   BM_PlaceWithoutMemo/...        place() with no memo: every call re-evaluates the regex on every instance
//   BM_NaivePlace/...              testing/naive_placement.h: every task scans every instance with strings
//
// items_per_second = placements per second (wall time of the placing thread).
// The no-memo and naive variants run fewer calls (they are slow), so they
// measure the emptier cluster at the start of the scenario, which favours them.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "scheduler/placement.h"
#include "scheduler/testing/instances.h"
#include "scheduler/testing/naive_placement.h"

namespace {

using namespace berth::scheduler;  // NOLINT: benchmark file

constexpr int kInstances = 10000;
constexpr int kTasks = 100000;
constexpr int kCount = 10;  // RunTask's maximum
constexpr int kServices = 20;

struct InstanceType {
  const char* name;
  std::int64_t cpu, memory;
};
constexpr InstanceType kTypes[] = {
    {"m5.large", 2048, 7680}, {"m5.xlarge", 4096, 15360}, {"m5.2xlarge", 8192, 31232}, {"c5.xlarge", 4096, 7168}};

ClusterSnapshot buildCluster() {
  ClusterSnapshot s;
  s.instances.reserve(kInstances);
  for (int i = 0; i < kInstances; ++i) {
    const InstanceType& type = kTypes[(i * 7) % 4];
    std::string id = std::to_string(100000 + i);
    Instance in = testing::makeInstance(
        id, type.cpu, type.memory,
        {{"ecs.availability-zone", "us-east-1" + std::string(1, static_cast<char>('a' + i % 3))},
         {"ecs.instance-type", type.name},
         {"ecs.os-type", "linux"},
         {"ecs.os-family", "LINUX"},
         {"ecs.cpu-architecture", "x86_64"},
         {"ecs.ami-id", "ami-0123456789abcdef0"},
         {"ecs.vpc-id", "vpc-0abc"},
         {"ecs.subnet-id", "subnet-" + std::to_string(i % 3)},
         {"com.amazonaws.ecs.capability.logging-driver.awslogs", ""},
         {"com.amazonaws.ecs.capability.docker-remote-api.1.44", ""}});
    in.remaining.ports = {22, 2375, 2376, 51678, 51679};
    in.attributesVersion = static_cast<std::uint64_t>(i) + 1;
    s.instances.push_back(std::move(in));
  }
  return s;
}

const ClusterSnapshot& pristineCluster() {
  static const ClusterSnapshot cluster = buildCluster();
  return cluster;
}

PlacementRequest requestFor(int call, const std::vector<Strategy>& strategies, const Constraint& memberOf) {
  static constexpr std::int64_t kSizes[][2] = {{128, 256}, {256, 512}, {512, 1024}, {64, 128}};
  PlacementRequest r;
  r.demand.cpu = kSizes[call % 4][0];
  r.demand.memory = kSizes[call % 4][1];
  r.group = "service:svc" + std::to_string(call % kServices);
  r.strategies = strategies;
  r.constraints = {memberOf};
  r.count = kCount;
  return r;
}

enum class Placer { kMemo, kNoMemo, kNaive };

std::vector<Strategy> strategiesNamed(const std::string& name) {
  if (name == "spreadAz_binpackMemory")
    return {testing::spread("attribute:ecs.availability-zone"), testing::binpack("memory")};
  if (name == "binpackMemory") return {testing::binpack("memory")};
  if (name == "random") return {testing::randomStrategy()};
  if (name == "spreadInstanceId") return {testing::spread("instanceId")};
  return {};  // firstFit
}

void runScenario(benchmark::State& state, Placer placer, const std::string& strategiesName) {
  const std::vector<Strategy> strategies = strategiesNamed(strategiesName);
  const Constraint memberOf = testing::memberOf("attribute:ecs.instance-type =~ m5.*");
  ClusterSnapshot cluster = pristineCluster();
  PlacementMemo memo;
  berth::SeededRandom random(6);
  std::int64_t placed = 0, placedSinceReset = 0, failedCalls = 0;
  int call = 0;
  for (auto _ : state) {
    if (placedSinceReset >= kTasks) {  // scenario done: start over on an empty cluster
      state.PauseTiming();
      cluster = pristineCluster();
      memo = PlacementMemo();
      placedSinceReset = 0;
      state.ResumeTiming();
    }
    PlacementRequest request = requestFor(call++, strategies, memberOf);
    PlacementResult result = placer == Placer::kMemo     ? place(request, cluster, random, &memo)
                             : placer == Placer::kNoMemo ? place(request, cluster, random)
                                                         : testing::naivePlace(request, cluster, random);
    testing::applyPlacement(cluster, request, result);
    placed += static_cast<std::int64_t>(result.placed.size());
    placedSinceReset += static_cast<std::int64_t>(result.placed.size());
    if (result.placed.size() != static_cast<std::size_t>(kCount)) ++failedCalls;
  }
  state.SetItemsProcessed(placed);
  state.counters["callsShort"] = static_cast<double>(failedCalls);  // calls that placed fewer than 10: should be 0
}

constexpr int kFullScenarioCalls = kTasks / kCount;  // 10,000 calls = 100,000 tasks

void registerAll() {
  const std::vector<std::string> names = {"spreadAz_binpackMemory", "binpackMemory", "random", "spreadInstanceId"};
  for (const auto& name : names)
    benchmark::RegisterBenchmark(("BM_Place/" + name).c_str(),
                                 [name](benchmark::State& s) { runScenario(s, Placer::kMemo, name); })
        ->Iterations(kFullScenarioCalls)
        ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_Place/firstFit",
                               [](benchmark::State& s) { runScenario(s, Placer::kMemo, "firstFit"); })
      ->Iterations(kFullScenarioCalls)
      ->Unit(benchmark::kMicrosecond);
  for (const auto& name : {std::string("spreadAz_binpackMemory"), std::string("firstFit")}) {
    benchmark::RegisterBenchmark(("BM_PlaceWithoutMemo/" + name).c_str(),
                                 [name](benchmark::State& s) { runScenario(s, Placer::kNoMemo, name); })
        ->Iterations(200)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("BM_NaivePlace/" + name).c_str(),
                                 [name](benchmark::State& s) { runScenario(s, Placer::kNaive, name); })
        ->Iterations(20)
        ->Unit(benchmark::kMicrosecond);
  }
}

}  // namespace

int main(int argc, char** argv) {
  registerAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
