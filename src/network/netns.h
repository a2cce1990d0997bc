#pragma once
// Network namespaces pinned as files (like `ip netns add`, but under the
// agent's data dir): the namespace lives as long as the bind mount of its
// nsfs inode onto the file, independent of any process. runc joins it by path.
#include <functional>
#include <string>

#include "common/result.h"

namespace berth::network {

// Creates a new network namespace with `lo` up and pins it at `path` (the
// parent directory must exist). Runs unshare(CLONE_NEWNET) in a short-lived
// thread, so the calling thread's namespace never changes.
Status createPinnedNetns(const std::string& path);
// umount2(MNT_DETACH) + unlink. A missing file or a file that is not a mount
// (crash between create and mount) is fine: idempotent.
Status removePinnedNetns(const std::string& path);

// Whether `path` is a live pinned namespace (an nsfs mount). After a reboot
// the file is still there but is not: CNI DEL must then get an empty CNI_NETNS.
bool isPinnedNetns(const std::string& path);

// Injection point so CniTaskNetworking's bookkeeping is testable without root.
struct NetnsOps {
  std::function<Status(const std::string&)> create = createPinnedNetns;
  std::function<Status(const std::string&)> remove = removePinnedNetns;
  std::function<bool(const std::string&)> alive = isPinnedNetns;
};

}  // namespace berth::network
