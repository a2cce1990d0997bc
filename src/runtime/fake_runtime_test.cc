#include "runtime/fake_runtime.h"

#include <gtest/gtest.h>

#include <csignal>
#include <thread>

#include "runtime/oci_spec.h"

// Behaviours are written with designated initializers that leave the rest
// at their defaults on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace berth::runtime {
namespace {

using namespace std::chrono_literals;

ContainerCreate request(const std::string& id, const std::string& image = "") {
  ContainerCreate r;
  r.id = id;
  r.bundleDir = "/unused/" + id;
  if (!image.empty()) r.ociSpec = {{"annotations", {{std::string(kImageAnnotation), image}}}};
  return r;
}

TEST(FakeRuntime, RunsUntilKilled) {
  FakeClock clock;
  FakeRuntime rt(clock);
  ASSERT_TRUE(rt.create(request("t1-web")).ok());
  EXPECT_EQ(rt.state("t1-web")->status, ContainerStatus::kCreated);
  ASSERT_TRUE(rt.start("t1-web").ok());
  clock.advance(1h);
  auto st = rt.state("t1-web");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->status, ContainerStatus::kRunning);
  EXPECT_GT(st->pid, 0);
  ASSERT_TRUE(rt.kill("t1-web", SIGTERM).ok());
  st = rt.state("t1-web");
  EXPECT_EQ(st->status, ContainerStatus::kStopped);
  EXPECT_EQ(st->exitCode, 143);
  EXPECT_EQ(st->finishedAt, clock.now());
  EXPECT_TRUE(rt.kill("t1-web", SIGKILL).ok()) << "killing an exited container is not an error";
}

TEST(FakeRuntime, ExitsOnScheduleByPrefixOrImage) {
  FakeClock clock;
  FakeRuntime rt(clock);
  rt.setBehaviorForIdPrefix("batch-", {.runFor = 5s, .exitCode = 3});
  rt.setBehaviorForIdPrefix("batch-oom-", {.runFor = 1s, .oomKilled = true});
  rt.setBehaviorForImage("busybox:exit0", {.runFor = 2s, .exitCode = 0});
  for (const auto* id : {"batch-1", "batch-oom-1"}) ASSERT_TRUE(rt.create(request(id)).ok());
  ASSERT_TRUE(rt.create(request("svc-1", "busybox:exit0")).ok());
  for (const auto* id : {"batch-1", "batch-oom-1", "svc-1"}) ASSERT_TRUE(rt.start(id).ok());
  const auto started = clock.now();

  clock.advance(1500ms);
  auto oom = rt.state("batch-oom-1");
  EXPECT_EQ(oom->status, ContainerStatus::kStopped);
  EXPECT_TRUE(oom->oomKilled);
  EXPECT_EQ(oom->exitCode, 137);
  EXPECT_EQ(rt.state("batch-1")->status, ContainerStatus::kRunning);

  clock.advance(4s);
  auto batch = rt.state("batch-1");
  EXPECT_EQ(batch->status, ContainerStatus::kStopped);
  EXPECT_EQ(batch->exitCode, 3);
  EXPECT_EQ(batch->finishedAt, started + 5s);
  EXPECT_EQ(rt.state("svc-1")->exitCode, 0);
}

TEST(FakeRuntime, IgnoresSigtermWhenAsked) {
  FakeClock clock;
  FakeRuntime rt(clock);
  rt.setDefaultBehavior({.ignoreSigterm = true});
  ASSERT_TRUE(rt.create(request("c")).ok());
  ASSERT_TRUE(rt.start("c").ok());
  ASSERT_TRUE(rt.kill("c", SIGTERM).ok());
  EXPECT_EQ(rt.state("c")->status, ContainerStatus::kRunning);
  ASSERT_TRUE(rt.kill("c", SIGKILL).ok());
  EXPECT_EQ(rt.state("c")->exitCode, 137);
  EXPECT_EQ(rt.signalsForTest("c"), (std::vector<int>{SIGTERM, SIGKILL}));
}

TEST(FakeRuntime, ErrorsAndRemoval) {
  FakeClock clock;
  FakeRuntime rt(clock);
  rt.setBehaviorForIdPrefix("bad-", {.createError = Error::make(ErrorCode::kInternal, "boom")});
  EXPECT_EQ(rt.create(request("bad-1")).error().code, ErrorCode::kInternal);
  EXPECT_EQ(rt.state("nope").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(rt.start("nope").error().code, ErrorCode::kNotFound);

  ASSERT_TRUE(rt.create(request("c")).ok());
  EXPECT_EQ(rt.create(request("c")).error().code, ErrorCode::kConflict);
  ASSERT_TRUE(rt.start("c").ok());
  EXPECT_EQ(rt.start("c").error().code, ErrorCode::kConflict);
  EXPECT_EQ(rt.remove("c", false).error().code, ErrorCode::kConflict);
  EXPECT_EQ(*rt.list(), (std::vector<std::string>{"c"}));
  ASSERT_TRUE(rt.remove("c", true).ok());
  EXPECT_TRUE(rt.list()->empty());
  EXPECT_TRUE(rt.remove("c", false).ok());
}

TEST(FakeRuntime, ThreadSafe) {
  FakeClock clock;
  FakeRuntime rt(clock);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const auto id = "c-" + std::to_string(t) + "-" + std::to_string(i);
        ASSERT_TRUE(rt.create(request(id)).ok());
        ASSERT_TRUE(rt.start(id).ok());
        ASSERT_TRUE(rt.kill(id, SIGKILL).ok());
        ASSERT_TRUE(rt.state(id).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(rt.list()->size(), 800u);
}

TEST(FakeRuntime, ExecFollowsTheScriptAndNeedsARunningContainer) {
  FakeClock clock;
  FakeRuntime rt(clock);
  rt.setExecResultsForIdPrefix("t9-", {{1, false, "no"}, {0, false, "yes"}});
  ASSERT_TRUE(rt.create(request("t9-web")).ok());
  auto early = rt.exec("t9-web", {{"true"}, {}, 1s});
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(rt.exec("t9-none", {{"true"}, {}, 1s}).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(rt.start("t9-web").ok());
  EXPECT_EQ(rt.exec("t9-web", {{"check"}, {}, 1s})->exitCode, 1);
  EXPECT_EQ(rt.exec("t9-web", {{"check"}, {}, 1s})->output, "yes");
  EXPECT_EQ(rt.exec("t9-web", {{"check"}, {}, 1s})->exitCode, 0) << "the last result repeats";
  ASSERT_EQ(rt.execsForTest("t9-web").size(), 3u);
  EXPECT_EQ(rt.execsForTest("t9-web")[0].argv, std::vector<std::string>{"check"});
}

}  // namespace
}  // namespace berth::runtime
