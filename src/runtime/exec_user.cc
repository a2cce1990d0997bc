#include "runtime/exec_user.h"

#include <charconv>
#include <optional>

namespace berth::runtime {
namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    auto pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

// Non-negative decimal id that fits in 31 bits (runc refuses larger ids).
std::optional<std::uint32_t> parseId(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > 0x7fffffffULL) return std::nullopt;
  return static_cast<std::uint32_t>(v);
}

// Calls fn(fields) for every non-comment line with at least minFields fields.
template <typename Fn>
void forEachEntry(std::string_view file, std::size_t minFields, Fn&& fn) {
  for (auto line : split(file, '\n')) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    auto fields = split(line, ':');
    if (fields.size() < minFields) continue;
    if (fn(fields)) return;
  }
}

}  // namespace

Result<ExecUser> resolveExecUser(std::string_view spec, std::string_view passwd, std::string_view group) {
  std::string_view userArg = spec, groupArg;
  if (auto colon = spec.find(':'); colon != std::string_view::npos) {
    userArg = spec.substr(0, colon);
    groupArg = spec.substr(colon + 1);
  }
  if (userArg.empty()) userArg = "0";

  ExecUser out;
  const auto userId = parseId(userArg);
  std::string userName;
  bool found = false;
  // passwd: name:password:uid:gid:gecos:home:shell
  forEachEntry(passwd, 4, [&](const std::vector<std::string_view>& f) {
    auto uid = parseId(f[2]);
    if (!uid) return false;
    if (f[0] == userArg || (userId && *uid == *userId)) {
      auto gid = parseId(f[3]);
      out.uid = *uid;
      out.gid = gid.value_or(0);
      if (f.size() > 5 && !f[5].empty()) out.home = std::string(f[5]);
      userName = std::string(f[0]);
      found = true;
      return true;
    }
    return false;
  });
  if (!found) {
    if (!userId) {
      return Error::make(ErrorCode::kInvalidParameter,
                         "unable to find user '" + std::string(userArg) +
                             "': no matching entry in the image's /etc/passwd; use a numeric uid or add the user "
                             "to the image",
                         "user");
    }
    out.uid = *userId;
  }

  if (!groupArg.empty()) {
    const auto groupId = parseId(groupArg);
    bool groupFound = false;
    // group: name:password:gid:member,member
    forEachEntry(group, 3, [&](const std::vector<std::string_view>& f) {
      auto gid = parseId(f[2]);
      if (!gid) return false;
      if (f[0] == groupArg || (groupId && *gid == *groupId)) {
        out.gid = *gid;
        groupFound = true;
        return true;
      }
      return false;
    });
    if (!groupFound) {
      if (!groupId) {
        return Error::make(ErrorCode::kInvalidParameter,
                           "unable to find group '" + std::string(groupArg) +
                               "': no matching entry in the image's /etc/group; use a numeric gid",
                           "user");
      }
      out.gid = *groupId;
    }
  } else if (!userName.empty()) {
    forEachEntry(group, 3, [&](const std::vector<std::string_view>& f) {
      auto gid = parseId(f[2]);
      if (!gid || f.size() < 4) return false;
      for (auto member : split(f[3], ',')) {
        if (member == userName) {
          out.additionalGids.push_back(*gid);
          break;
        }
      }
      return false;
    });
  }
  return out;
}

}  // namespace berth::runtime
