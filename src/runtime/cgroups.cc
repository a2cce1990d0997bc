#include "runtime/cgroups.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace berth::runtime {
namespace fs = std::filesystem;

std::vector<std::string> cgroupMountPoints() {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mountpoint options [optional...] - fstype source superopts
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype;
    tail >> fstype;
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, dev, root, mountPoint;
    head >> id >> parent >> dev >> root >> mountPoint;
    out.push_back(mountPoint);
  }
  return out;
}

namespace {

// Depth-first: children before parents; cgroupfs files need no removal.
Status removeTree(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return okStatus();
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_directory(ec) && !entry.is_symlink(ec)) BERTH_TRY(removeTree(entry.path()));
  }
  if (rmdir(dir.c_str()) != 0 && errno != ENOENT) {
    const int err = errno;
    return Error::make(err == EBUSY ? ErrorCode::kConflict : ErrorCode::kIo,
                       "cannot remove cgroup " + dir.string() + ": " + std::strerror(err) +
                           (err == EBUSY ? " (processes are still in it: stop them first)" : ""),
                       dir.string());
  }
  return okStatus();
}

}  // namespace

Status removeCgroup(const std::string& path) {
  if (path.empty() || path == "/" || path.find("..") != std::string::npos) {
    return Error::make(ErrorCode::kInvalidParameter, "refusing to remove cgroup path '" + path + "'", path);
  }
  std::string rel = path;
  while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
  for (const auto& mountPoint : cgroupMountPoints()) {
    BERTH_TRY(removeTree(fs::path(mountPoint) / rel));
  }
  return okStatus();
}

}  // namespace berth::runtime
