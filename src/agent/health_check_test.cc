#include "agent/health_check.h"

#include <gtest/gtest.h>

namespace berth::agent {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

std::string parseError(const json& hc) {
  auto r = parseHealthCheck(json{{"healthCheck", hc}});
  return r.ok() ? "ok" : r.error().message;
}

TEST(HealthCheck, DefaultsCommandsAndRanges) {
  auto none = parseHealthCheck(json{{"name", "a"}});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto disabled = parseHealthCheck(json{{"healthCheck", {{"command", {"NONE"}}}}});
  ASSERT_TRUE(disabled.ok());
  EXPECT_FALSE(disabled->has_value());

  auto shell = parseHealthCheck(json{{"healthCheck", {{"command", {"CMD-SHELL", "curl -f localhost || exit 1"}}}}});
  ASSERT_TRUE(shell.ok() && shell->has_value());
  const auto& c = **shell;
  EXPECT_EQ(c.argv, (std::vector<std::string>{"/bin/sh", "-c", "curl -f localhost || exit 1"}));
  EXPECT_EQ(c.interval, 30s);
  EXPECT_EQ(c.timeout, 5s);
  EXPECT_EQ(c.retries, 3);
  EXPECT_EQ(c.startPeriod, 0s);

  auto exec = parseHealthCheck(json{{"healthCheck", {{"command", {"CMD", "/bin/check", "--fast"}}, {"interval", 5},
                                                     {"timeout", 60}, {"retries", 10}, {"startPeriod", 300}}}});
  ASSERT_TRUE(exec.ok() && exec->has_value());
  EXPECT_EQ((*exec)->argv, (std::vector<std::string>{"/bin/check", "--fast"}));
  EXPECT_EQ((*exec)->interval, 5s);
  EXPECT_EQ((*exec)->retries, 10);
  EXPECT_EQ((*exec)->startPeriod, 300s);

  EXPECT_EQ(parseError({{"command", {"curl"}}}), "healthCheck.command must start with CMD, CMD-SHELL or NONE (got curl)");
  EXPECT_EQ(parseError({{"command", {"CMD"}}}), "healthCheck.command has nothing to run after CMD");
  EXPECT_EQ(parseError({{"command", {"CMD", "x"}}, {"interval", 4}}), "healthCheck.interval must be between 5 and 300 (got 4)");
  EXPECT_EQ(parseError({{"command", {"CMD", "x"}}, {"timeout", 61}}), "healthCheck.timeout must be between 2 and 60 (got 61)");
  EXPECT_EQ(parseError({{"command", {"CMD", "x"}}, {"retries", 0}}), "healthCheck.retries must be between 1 and 10 (got 0)");
  EXPECT_EQ(parseError({{"command", {"CMD", "x"}}, {"startPeriod", 301}}),
            "healthCheck.startPeriod must be between 0 and 300 (got 301)");
}

TEST(HealthCheck, StateMachineCountsFailuresOutsideStartPeriod) {
  HealthCheckConfig config;
  config.retries = 2;
  config.startPeriod = 60s;
  const auto t0 = std::chrono::steady_clock::time_point(1000s);
  HealthState s(config, t0);
  s.record(false, t0 + 30s);
  s.record(false, t0 + 59s);
  EXPECT_EQ(s.status(), "UNKNOWN");
  EXPECT_EQ(s.failingStreak(), 0) << "failures in the start period do not count";
  s.record(false, t0 + 60s);
  EXPECT_EQ(s.status(), "UNKNOWN");
  s.record(false, t0 + 90s);
  EXPECT_EQ(s.status(), "UNHEALTHY");
  s.record(true, t0 + 120s);
  EXPECT_EQ(s.status(), "HEALTHY");
  EXPECT_EQ(s.failingStreak(), 0);
  s.record(false, t0 + 150s);
  EXPECT_EQ(s.status(), "HEALTHY") << "one failure is below retries";

  // A pass during the start period ends it: later failures count at once.
  HealthState early(config, t0);
  early.record(true, t0 + 10s);
  early.record(false, t0 + 20s);
  early.record(false, t0 + 30s);
  EXPECT_EQ(early.status(), "UNHEALTHY");
}

}  // namespace
}  // namespace berth::agent
