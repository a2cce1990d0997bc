#pragma once
// The real node: overlayfs root filesystems and OCI specs built from ECS
// container definitions for conmon + runc.
#include "agent/task_runner.h"

namespace berth::agent {

class OverlayRootfs final : public RootfsProvider {
 public:
  Result<std::string> prepare(const images::Image& image, const std::string& containerDir) override;
  Status release(const std::string& containerDir) override;
};

// SpecInput → runtime::ContainerSpecInput → config.json. Host facts (hard
// rlimits, capability bounding set) are read once by the caller and captured.
SpecBuilder makeOciSpecBuilder();

}  // namespace berth::agent
