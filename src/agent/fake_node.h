#pragma once
// Node-side fakes for tests and `berth agent --simulate`: images that "pull"
// instantly and root filesystems that are plain directories. Paired with
// runtime::FakeRuntime they move tasks through the ECS lifecycle with no
// containers at all.
#include <mutex>
#include <set>
#include <string>

#include "agent/task_runner.h"

namespace berth::agent {

class FakeImageStore final : public images::ImageStore {
 public:
  // Images whose reference contains `failingSubstring` fail to pull (tests).
  explicit FakeImageStore(std::string failingSubstring = "does-not-exist") : failing_(std::move(failingSubstring)) {}
  Result<images::Image> pull(const images::PullRequest& request) override;

 private:
  std::string failing_;
};

class DirectoryRootfs final : public RootfsProvider {
 public:
  Result<std::string> prepare(const images::Image& image, const std::string& containerDir) override;
  Status release(const std::string& containerDir) override;
};

// A spec builder for fakes: the runtime ignores the spec's contents.
Result<nlohmann::json> fakeSpec(const SpecInput& in);

}  // namespace berth::agent
