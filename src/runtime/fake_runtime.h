#pragma once
// In-memory Runtime for tests and `berth agent --simulate`: containers move
// through created -> running -> stopped on an injected clock. By default a
// started container runs until killed; rules keyed by id prefix or image
// (the kImageAnnotation annotation of the spec) make it exit on its own after
// a duration with a chosen exit code, get OOM-killed, ignore SIGTERM, or fail
// to create/start. Thread-safe.
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "runtime/runtime.h"

namespace berth::runtime {

struct FakeBehavior {
  // Exit on its own this long after start(); nullopt = run until killed.
  std::optional<std::chrono::milliseconds> runFor;
  int exitCode = 0;
  bool oomKilled = false;       // when it exits on its own: report an OOM kill (exit 137)
  bool ignoreSigterm = false;   // like a shell as pid 1: only SIGKILL stops it
  std::optional<Error> createError;
  std::optional<Error> startError;
};

class FakeRuntime final : public Runtime {
 public:
  explicit FakeRuntime(const Clock& clock);

  // Rules: the longest matching id prefix wins; otherwise the image rule;
  // otherwise the default behaviour.
  void setBehaviorForIdPrefix(const std::string& prefix, FakeBehavior behavior);
  void setBehaviorForImage(const std::string& image, FakeBehavior behavior);
  void setDefaultBehavior(FakeBehavior behavior);

  Status create(const ContainerCreate& request) override;
  Status start(const std::string& id) override;
  Status kill(const std::string& id, int signal) override;
  Result<ContainerState> state(const std::string& id) override;
  Status remove(const std::string& id, bool force) override;
  Result<std::vector<std::string>> list() override;
  // Runs nothing: answers from the exec script for the container (the
  // longest matching id prefix), default exit 0. kNotFound / kFailedPrecondition
  // as the real runtime when the container is missing or not running.
  Result<ExecResult> exec(const std::string& id, const ExecRequest& request) override;

  // Exec script: results handed out in order; the last one repeats.
  void setExecResultsForIdPrefix(const std::string& prefix, std::vector<ExecResult> results);
  std::vector<ExecRequest> execsForTest(const std::string& id) const;

  // Test hooks.
  std::optional<nlohmann::json> specForTest(const std::string& id) const;
  std::vector<int> signalsForTest(const std::string& id) const;

 private:
  struct Container {
    FakeBehavior behavior;
    nlohmann::json spec;
    ContainerStatus status = ContainerStatus::kCreated;
    int pid = 0;
    std::optional<int> exitCode;
    bool oomKilled = false;
    std::optional<std::chrono::system_clock::time_point> startedAt, finishedAt;
    std::vector<int> signals;
  };
  FakeBehavior behaviorFor(const std::string& id, const nlohmann::json& spec) const;
  // Applies a scheduled exit whose time has come. Caller holds mu_.
  void advance(Container& c) const;

  const Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, FakeBehavior> byPrefix_;
  std::map<std::string, FakeBehavior> byImage_;
  FakeBehavior default_;
  std::map<std::string, Container> containers_;
  std::map<std::string, std::vector<ExecResult>> execScripts_;
  std::map<std::string, std::size_t> execCursor_;  // by prefix
  std::map<std::string, std::vector<ExecRequest>> execs_;  // by container id
  int nextPid_ = 1000;
};

}  // namespace berth::runtime
