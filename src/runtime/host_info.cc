#include "runtime/host_info.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "runtime/capabilities.h"

namespace berth::runtime {

std::map<std::string, std::uint64_t> hostHardLimits() {
  static const std::pair<const char*, int> kLimits[] = {
      {"RLIMIT_CORE", RLIMIT_CORE},         {"RLIMIT_CPU", RLIMIT_CPU},
      {"RLIMIT_DATA", RLIMIT_DATA},         {"RLIMIT_FSIZE", RLIMIT_FSIZE},
      {"RLIMIT_LOCKS", RLIMIT_LOCKS},       {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
      {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
      {"RLIMIT_NOFILE", RLIMIT_NOFILE},     {"RLIMIT_NPROC", RLIMIT_NPROC},
      {"RLIMIT_RSS", RLIMIT_RSS},           {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
      {"RLIMIT_RTTIME", RLIMIT_RTTIME},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
      {"RLIMIT_STACK", RLIMIT_STACK},
  };
  std::map<std::string, std::uint64_t> out;
  for (const auto& [name, resource] : kLimits) {
    struct rlimit rl {};
    if (getrlimit(resource, &rl) == 0 && rl.rlim_max != RLIM_INFINITY) out[name] = rl.rlim_max;
  }
  return out;
}

Result<std::vector<std::string>> hostCapabilities() {
  std::ifstream in("/proc/self/status");
  if (!in) return Error::make(ErrorCode::kIo, "cannot read /proc/self/status", "/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("CapBnd:", 0) == 0) {
      unsigned long long mask = std::stoull(line.substr(7), nullptr, 16);
      return capabilitiesFromMask(mask);
    }
  }
  return Error::make(ErrorCode::kIo, "no CapBnd line in /proc/self/status", "/proc/self/status");
}

Result<LinuxDevice> resolveDevice(const std::string& hostPath, const std::string& containerPath,
                                  const std::string& permissions) {
  struct stat st {};
  if (stat(hostPath.c_str(), &st) != 0) {
    return Error::make(ErrorCode::kInvalidParameter,
                       "device " + hostPath + " is not available on this instance: " + std::strerror(errno),
                       "linuxParameters.devices");
  }
  if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) {
    return Error::make(ErrorCode::kInvalidParameter, hostPath + " is not a device node", "linuxParameters.devices");
  }
  LinuxDevice d;
  d.path = containerPath.empty() ? hostPath : containerPath;
  d.type = S_ISBLK(st.st_mode) ? 'b' : 'c';
  d.major = major(st.st_rdev);
  d.minor = minor(st.st_rdev);
  d.fileMode = st.st_mode & 07777;
  d.permissions = permissions.empty() ? "rwm" : permissions;
  return d;
}

std::string readRootfsFile(const std::string& rootfs, const std::string& relativePath) {
  int dirfd = open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) return {};
  // RESOLVE_NO_SYMLINKS|RESOLVE_BENEATH: a hostile image cannot point
  // /etc/passwd at a host file.
  struct open_how how {};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  std::string rel = relativePath;
  while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
  int fd = static_cast<int>(syscall(SYS_openat2, dirfd, rel.c_str(), &how, sizeof(how)));
  close(dirfd);
  if (fd < 0) return {};
  struct stat st {};
  std::string out;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < (16 << 20)) {
    char buf[8192];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return out;
}

}  // namespace berth::runtime
