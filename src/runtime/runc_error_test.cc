#include "runtime/runc_error.h"

#include <gtest/gtest.h>

namespace berth::runtime {
namespace {

TEST(ClassifyRuncError, KnownMessages) {
  struct Case {
    const char* stderrText;
    RuncFailure kind;
  };
  const std::vector<Case> cases = {
      // runc 1.1 with --log-format json
      {R"({"level":"error","msg":"container does not exist","time":"2026-01-01T00:00:00Z"})", RuncFailure::kNotFound},
      {R"({"level":"error","msg":"container not running","time":"x"})", RuncFailure::kNotRunning},
      {R"({"level":"error","msg":"container with id exists: abc","time":"x"})", RuncFailure::kAlreadyExists},
      {R"({"level":"error","msg":"cannot delete container abc that is not stopped: running","time":"x"})",
       RuncFailure::kNotStopped},
      // plain text logger
      {"time=\"2026\" level=error msg=\"container does not exist\"\n", RuncFailure::kNotFound},
      {R"({"level":"error","msg":"runc run failed: unable to start container process: exec: \"/nope\": stat /nope: no such file or directory","time":"x"})",
       RuncFailure::kOther},
      {"", RuncFailure::kOther},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(classifyRuncError(c.stderrText).kind, c.kind) << c.stderrText;
  }
}

TEST(ClassifyRuncError, KeepsOnlyErrorMessagesAndJoinsThem) {
  auto e = classifyRuncError(
      "{\"level\":\"warning\",\"msg\":\"ignored\"}\n"
      "{\"level\":\"error\",\"msg\":\"first\"}\n"
      "{\"level\":\"fatal\",\"msg\":\"second\"}\n");
  EXPECT_EQ(e.message, "first; second");
}

TEST(RuncErrorToError, MapsKinds) {
  EXPECT_EQ(toError({RuncFailure::kNotFound, "container does not exist"}, "state", "c1").code, ErrorCode::kNotFound);
  EXPECT_EQ(toError({RuncFailure::kNotStopped, "x"}, "delete", "c1").code, ErrorCode::kConflict);
  auto other = toError({RuncFailure::kOther, "boom"}, "start", "c1");
  EXPECT_EQ(other.code, ErrorCode::kInternal);
  EXPECT_NE(other.message.find("runc start c1: boom"), std::string::npos);
}

}  // namespace
}  // namespace berth::runtime
