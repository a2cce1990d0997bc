#pragma once
// Resolving an ECS/Docker `user` string ("user", "user:group", "uid",
// "uid:gid", "user:gid", "uid:group") against the container's own
// /etc/passwd and /etc/group, the way Docker (moby/sys/user GetExecUser) does.
// Pure: the caller reads the files from the rootfs and passes their contents.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::runtime {

struct ExecUser {
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  // Supplementary groups: the groups in /etc/group that list the user by name,
  // only when no group was given explicitly (as Docker does).
  std::vector<std::uint32_t> additionalGids;
  std::string home = "/";
};

// `spec` empty means root. Names not in the files are an error
// (kInvalidParameter, message names the file); numeric ids need no entry.
// Empty file contents are treated as absent files.
Result<ExecUser> resolveExecUser(std::string_view spec, std::string_view passwd, std::string_view group);

}  // namespace berth::runtime
