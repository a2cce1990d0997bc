#include "runtime/capabilities.h"

#include <algorithm>
#include <cctype>

namespace berth::runtime {

const std::vector<std::string>& allCapabilities() {
  // Index == capability bit number (linux/capability.h).
  static const std::vector<std::string> kAll = {
      "CAP_CHOWN",           "CAP_DAC_OVERRIDE",    "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
      "CAP_FSETID",          "CAP_KILL",            "CAP_SETGID",          "CAP_SETUID",
      "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
      "CAP_NET_ADMIN",       "CAP_NET_RAW",         "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
      "CAP_SYS_MODULE",      "CAP_SYS_RAWIO",       "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
      "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",       "CAP_SYS_BOOT",        "CAP_SYS_NICE",
      "CAP_SYS_RESOURCE",    "CAP_SYS_TIME",        "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
      "CAP_LEASE",           "CAP_AUDIT_WRITE",     "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
      "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",       "CAP_SYSLOG",          "CAP_WAKE_ALARM",
      "CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",      "CAP_PERFMON",         "CAP_BPF",
      "CAP_CHECKPOINT_RESTORE",
  };
  return kAll;
}

const std::vector<std::string>& defaultCapabilities() {
  static const std::vector<std::string> kDefault = {
      "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",      "CAP_MKNOD",
      "CAP_NET_RAW", "CAP_SETGID",      "CAP_SETUID",           "CAP_SETFCAP",     "CAP_SETPCAP",
      "CAP_NET_BIND_SERVICE",           "CAP_SYS_CHROOT",       "CAP_KILL",        "CAP_AUDIT_WRITE",
  };
  return kDefault;
}

Result<std::string> normalizeCapability(std::string_view name) {
  std::string upper;
  upper.reserve(name.size() + 4);
  for (char c : name) upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  if (upper == "ALL") return upper;
  if (upper.rfind("CAP_", 0) != 0) upper = "CAP_" + upper;
  const auto& all = allCapabilities();
  if (std::find(all.begin(), all.end(), upper) == all.end()) {
    return Error::make(ErrorCode::kInvalidParameter,
                       "unknown Linux capability '" + std::string(name) + "'",
                       "linuxParameters.capabilities");
  }
  return upper;
}

namespace {

Result<std::vector<std::string>> normalizeAll(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const auto& n : names) {
    auto r = normalizeCapability(n);
    if (!r) return r.takeError();
    if (std::find(out.begin(), out.end(), *r) == out.end()) out.push_back(*r);
  }
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

Result<std::vector<std::string>> containerCapabilities(
    const std::vector<std::string>& add, const std::vector<std::string>& drop,
    const std::optional<std::vector<std::string>>& available) {
  auto addN = normalizeAll(add);
  if (!addN) return addN.takeError();
  auto dropN = normalizeAll(drop);
  if (!dropN) return dropN.takeError();

  auto isAvailable = [&](const std::string& cap) { return !available || contains(*available, cap); };

  std::vector<std::string> caps;
  if (contains(*addN, "ALL")) {
    for (const auto& c : allCapabilities()) {
      if (!contains(*dropN, c) && isAvailable(c)) caps.push_back(c);
    }
    return caps;
  }
  if (!contains(*dropN, "ALL")) {
    for (const auto& c : defaultCapabilities()) {
      if (!contains(*dropN, c)) caps.push_back(c);
    }
  }
  for (const auto& c : *addN) {
    if (!isAvailable(c)) {
      return Error::make(ErrorCode::kInvalidParameter,
                         "capability " + c + " is not in this agent's bounding set, so no container "
                         "on this instance can be granted it",
                         "linuxParameters.capabilities.add");
    }
    if (!contains(caps, c)) caps.push_back(c);
  }
  // A default capability the agent itself lacks cannot be granted either.
  std::erase_if(caps, [&](const std::string& c) { return !isAvailable(c); });
  return caps;
}

std::vector<std::string> capabilitiesFromMask(unsigned long long mask) {
  std::vector<std::string> out;
  const auto& all = allCapabilities();
  for (std::size_t bit = 0; bit < all.size() && bit < 64; ++bit) {
    if (mask & (1ULL << bit)) out.push_back(all[bit]);
  }
  return out;
}

}  // namespace berth::runtime
