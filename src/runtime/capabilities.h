#pragma once
// Linux capability sets for containers, following Docker's rules so task
// definitions written for ECS-on-Docker behave the same here.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::runtime {

// Every capability the kernel defines (0..CAP_LAST_CAP as of Linux 5.9), in
// kernel bit order, spelled "CAP_XXX".
const std::vector<std::string>& allCapabilities();

// Docker's default set (moby oci/caps/defaults.go): what a container gets when
// the task definition asks for nothing.
const std::vector<std::string>& defaultCapabilities();

// "sys_admin", "SYS_ADMIN", "CAP_SYS_ADMIN" -> "CAP_SYS_ADMIN"; "ALL" -> "ALL".
// kInvalidParameter for a name the kernel does not define.
Result<std::string> normalizeCapability(std::string_view name);

// The container's capability set from ECS linuxParameters.capabilities
// add/drop, with Docker's precedence: add ALL = every capability minus drop;
// drop ALL = exactly add; otherwise defaults minus drop plus add.
// `available` is the agent's bounding set (nullopt = everything): ALL is cut
// down to it silently, an explicit add outside it is an error because runc
// could not grant it.
Result<std::vector<std::string>> containerCapabilities(
    const std::vector<std::string>& add, const std::vector<std::string>& drop,
    const std::optional<std::vector<std::string>>& available);

// Capability names from a /proc/<pid>/status "CapBnd:" style hex mask.
std::vector<std::string> capabilitiesFromMask(unsigned long long mask);

}  // namespace berth::runtime
