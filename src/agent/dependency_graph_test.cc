#include "agent/dependency_graph.h"

#include <gtest/gtest.h>

// Progress is written with designated initializers that leave the rest at
// their defaults on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace berth::agent {
namespace {

using namespace std::chrono_literals;

TaskPlan planOf(std::vector<ContainerPlan> containers) {
  TaskPlan p;
  p.taskId = "t";
  p.containers = std::move(containers);
  return p;
}

ContainerPlan container(const std::string& name, std::vector<ContainerDependency> deps = {},
                        std::optional<int> startTimeout = std::nullopt) {
  ContainerPlan c;
  c.name = name;
  c.image = "busybox";
  c.dependsOn = std::move(deps);
  c.startTimeoutSeconds = startTimeout;
  return c;
}

const auto t0 = std::chrono::steady_clock::time_point(100s);

TEST(DependencyGraph, StartsInDependencyOrderAndReversesOnStop) {
  auto plan = planOf({container("web", {{"app", "START"}}), container("app", {{"db", "HEALTHY"}, {"init", "SUCCESS"}}),
                      container("db"), container("init")});
  EXPECT_EQ(startOrder(plan), (std::vector<std::string>{"db", "init", "app", "web"}));
  std::map<std::string, ContainerProgress> progress;
  auto d = decideStarts(plan, progress, t0);
  EXPECT_EQ(d.ready, (std::vector<std::string>{"db", "init"}));
  EXPECT_EQ(d.waiting, (std::vector<std::string>{"app", "web"}));

  progress["db"] = {.started = true, .startedAt = t0};
  progress["init"] = {.started = true, .exited = true, .exitCode = 0, .startedAt = t0};
  EXPECT_EQ(decideStarts(plan, progress, t0).waiting, (std::vector<std::string>{"app", "web"})) << "db not HEALTHY yet";
  progress["db"].health = "HEALTHY";
  EXPECT_EQ(decideStarts(plan, progress, t0).ready, std::vector<std::string>{"app"});
  progress["app"] = {.started = true, .startedAt = t0};
  EXPECT_EQ(decideStarts(plan, progress, t0).ready, std::vector<std::string>{"web"});

  // Stop: web first, then app, and only then db/init.
  std::map<std::string, bool> stopped = {{"web", false}, {"app", false}, {"db", false}, {"init", true}};
  EXPECT_TRUE(mayStop(plan, "web", stopped));
  EXPECT_FALSE(mayStop(plan, "app", stopped));
  EXPECT_FALSE(mayStop(plan, "db", stopped));
  stopped["web"] = true;
  EXPECT_TRUE(mayStop(plan, "app", stopped));
  EXPECT_FALSE(mayStop(plan, "db", stopped));
  stopped["app"] = true;
  EXPECT_TRUE(mayStop(plan, "db", stopped));
}

TEST(DependencyGraph, NeverStartsPropagateWithReasons) {
  auto plan = planOf({container("init"), container("app", {{"init", "SUCCESS"}}), container("web", {{"app", "START"}}),
                      container("db"), container("api", {{"db", "HEALTHY"}})});
  std::map<std::string, ContainerProgress> progress;
  progress["init"] = {.started = true, .exited = true, .exitCode = 3};
  progress["db"] = {.started = true, .health = "UNHEALTHY"};
  auto d = decideStarts(plan, progress, t0);
  EXPECT_EQ(d.never["app"], "dependency init exited with code 3 (condition SUCCESS)");
  EXPECT_EQ(d.never["web"], "dependency app can never start");
  EXPECT_EQ(d.never["api"], "dependency db is UNHEALTHY (condition HEALTHY)");
  EXPECT_TRUE(d.ready.empty());

  progress["db"] = {.started = true, .exited = true, .exitCode = 0};
  EXPECT_EQ(decideStarts(plan, progress, t0).never["api"], "dependency db exited before it became HEALTHY");
}

TEST(DependencyGraph, StartTimeoutOfTheDependencyBoundsTheWait) {
  auto plan = planOf({container("db", {}, 30), container("api", {{"db", "HEALTHY"}}), container("job"),
                      container("after", {{"job", "COMPLETE"}})});
  std::map<std::string, ContainerProgress> progress;
  progress["db"] = {.started = true, .startedAt = t0};
  progress["job"] = {.started = true, .startedAt = t0};
  EXPECT_EQ(decideStarts(plan, progress, t0 + 29s).waiting, (std::vector<std::string>{"api", "after"}));
  auto d = decideStarts(plan, progress, t0 + 30s);
  EXPECT_EQ(d.never["api"], "dependency db did not reach HEALTHY within its startTimeout (30s)");
  EXPECT_EQ(decideStarts(plan, progress, t0 + 1h).waiting, std::vector<std::string>{"after"})
      << "no startTimeout on job: wait as long as it runs";
}

TEST(DependencyGraph, ValidationNamesTheProblem) {
  auto check = [](TaskPlan p, std::map<std::string, bool> hc = {}) {
    auto st = validateDependencies(p, hc);
    return st.ok() ? std::string("ok") : st.error().message;
  };
  EXPECT_EQ(check(planOf({container("a", {{"b", "START"}}), container("b")})), "ok");
  EXPECT_EQ(check(planOf({container("a", {{"x", "START"}})})), "container a depends on unknown container x");
  EXPECT_EQ(check(planOf({container("a", {{"a", "START"}})})), "container a depends on itself");
  EXPECT_EQ(check(planOf({container("a", {{"b", "RUNNING"}}), container("b")})),
            "container a: dependsOn condition 'RUNNING' is not START, COMPLETE, SUCCESS or HEALTHY");
  EXPECT_EQ(check(planOf({container("a", {{"b", "HEALTHY"}}), container("b")})),
            "container a depends on b being HEALTHY, but b has no healthCheck");
  EXPECT_EQ(check(planOf({container("a", {{"b", "HEALTHY"}}), container("b")}), {{"b", true}}), "ok");
  EXPECT_EQ(check(planOf({container("a", {{"b", "START"}}), container("b", {{"c", "START"}}),
                          container("c", {{"a", "START"}})})),
            "dependsOn cycle: a -> b -> c -> a");
}

}  // namespace
}  // namespace berth::agent
