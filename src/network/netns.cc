#include "network/netns.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "common/fs_util.h"
#include "common/unique_fd.h"

namespace berth::network {
namespace {

// Sets IFF_UP on lo in the calling thread's network namespace.
Status loopbackUp() {
  UniqueFd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return ioError("socket for lo", "lo", errno);
  ifreq req{};
  std::strncpy(req.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl(s.get(), SIOCGIFFLAGS, &req) != 0) return ioError("SIOCGIFFLAGS", "lo", errno);
  req.ifr_flags |= IFF_UP;
  if (ioctl(s.get(), SIOCSIFFLAGS, &req) != 0) return ioError("SIOCSIFFLAGS", "lo", errno);
  return okStatus();
}

}  // namespace

Status createPinnedNetns(const std::string& path) {
  {
    UniqueFd f(open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
    if (!f.valid()) return ioError("create netns file", path, errno);
  }
  Status result = okStatus();
  // unshare(CLONE_NEWNET) changes only this thread's namespace; the thread
  // exits right after pinning, so no other work ever runs inside it.
  std::thread worker([&] {
    if (unshare(CLONE_NEWNET) != 0) {
      result = ioError("unshare(CLONE_NEWNET)", path, errno);
      return;
    }
    const std::string self = "/proc/self/task/" + std::to_string(syscall(SYS_gettid)) + "/ns/net";
    if (mount(self.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      result = ioError("bind-mount " + self, path, errno);
      return;
    }
    result = loopbackUp();
  });
  worker.join();
  if (!result) (void)removePinnedNetns(path);
  return result;
}

bool isPinnedNetns(const std::string& path) {
  constexpr long kNsfsMagic = 0x6e736673;  // linux/magic.h NSFS_MAGIC
  struct statfs st {};
  return statfs(path.c_str(), &st) == 0 && static_cast<long>(st.f_type) == kNsfsMagic;
}

Status removePinnedNetns(const std::string& path) {
  if (umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    return ioError("umount netns", path, errno);
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return ioError("remove netns file", path, errno);
  return okStatus();
}

}  // namespace berth::network
