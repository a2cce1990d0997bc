#pragma once
// The default seccomp profile: the same policy as Docker's default profile
// (moby profiles/seccomp/default.json) kept as data, then resolved for one
// container's capability set and the host architecture into the OCI
// `linux.seccomp` object (runtime-spec config-linux.md#seccomp).
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace berth::runtime {

// "amd64" or "arm64" (Go/OCI image naming). Others get only their native arch.
nlohmann::json defaultSeccompProfile(const std::vector<std::string>& capabilities, std::string_view arch);

// The architecture this binary was built for, in the naming above.
std::string_view hostArchitecture();

}  // namespace berth::runtime
