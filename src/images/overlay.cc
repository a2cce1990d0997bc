#include "images/overlay.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/fs_util.h"

namespace berth::images {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxLayers = 500;  // overlayfs OVL_MAX_STACK

bool safeForOptions(const std::string& p) { return p.find_first_of(",:\\") == std::string::npos; }

int mountIn(const std::string& cwd, const std::string& target, const std::string& options) {
  if (cwd.empty()) {
    return ::mount("overlay", target.c_str(), "overlay", 0, options.c_str()) == 0 ? 0 : errno;
  }
  // Only async-signal-safe calls in the child (the parent is multi-threaded).
  pid_t pid = ::fork();
  if (pid < 0) return errno;
  if (pid == 0) {
    if (::chdir(cwd.c_str()) != 0) ::_exit(errno & 0xff);
    if (::mount("overlay", target.c_str(), "overlay", 0, options.c_str()) != 0) ::_exit(errno & 0xff);
    ::_exit(0);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return errno;
  }
  if (!WIFEXITED(status)) return EIO;
  return WEXITSTATUS(status);
}

}  // namespace

bool isMountPoint(const std::string& path) {
  struct stat st, parent;
  if (::lstat(path.c_str(), &st) != 0) return false;
  std::string up = path + "/..";
  if (::stat(up.c_str(), &parent) != 0) return false;
  // A mount point's device differs from its parent's (overlayfs has its own dev).
  return st.st_dev != parent.st_dev;
}

Result<MountedRootfs> mountOverlay(const Image& image, const std::string& containerDir) {
  return mountOverlayLayers(image.layerDirs, containerDir);
}

Result<MountedRootfs> mountOverlayLayers(const std::vector<std::string>& layersIn, const std::string& containerDirIn) {
  std::error_code ec;
  std::string containerDir = fs::absolute(containerDirIn, ec).lexically_normal().string();
  while (containerDir.size() > 1 && containerDir.back() == '/') containerDir.pop_back();
  MountedRootfs m{containerDir, containerDir + "/merged", containerDir + "/upper", containerDir + "/work"};
  if (layersIn.size() > kMaxLayers) {
    return Error::make(ErrorCode::kInvalidParameter,
                       "image has " + std::to_string(layersIn.size()) + " layers; overlayfs stacks at most 500");
  }
  for (const auto& dir : {m.merged, m.upper, m.work}) BERTH_TRY(makeDirs(dir, 0755));
  if (isMountPoint(m.merged)) {
    return Error::make(ErrorCode::kConflict, "rootfs already mounted at " + m.merged, m.merged);
  }

  std::vector<std::string> layers;
  for (const auto& l : layersIn) layers.push_back(fs::absolute(l, ec).lexically_normal().string());
  if (layers.empty()) {
    // overlayfs needs a lower layer; an image with no layers gets an empty one.
    std::string empty = containerDir + "/empty";
    BERTH_TRY(makeDirs(empty, 0755));
    layers.push_back(empty);
  }
  for (const auto& p : layers) {
    if (!safeForOptions(p)) {
      return Error::make(ErrorCode::kInvalidParameter, "layer path has a character overlayfs options cannot carry: " + p);
    }
  }
  if (!safeForOptions(containerDir)) {
    return Error::make(ErrorCode::kInvalidParameter, "container dir has ',' ':' or '\\': " + containerDir);
  }

  auto build = [&](const std::vector<std::string>& lower, const std::string& upper, const std::string& work,
                   bool indexOff) {
    std::string opts = "lowerdir=";
    for (auto it = lower.rbegin(); it != lower.rend(); ++it) {  // overlayfs wants top first
      if (it != lower.rbegin()) opts += ':';
      opts += *it;
    }
    opts += ",upperdir=" + upper + ",workdir=" + work;
    // index=off: layers are shared by many mounts; the inode index would tie a
    // lower layer to one upper and make later mounts fail with EBUSY.
    if (indexOff) opts += ",index=off";
    return opts;
  };

  const long page = ::sysconf(_SC_PAGESIZE);
  std::string cwd;
  std::vector<std::string> lower = layers;
  std::string upper = m.upper, work = m.work;
  if (static_cast<long>(build(lower, upper, work, true).size()) >= page) {
    std::string links = containerDir + "/l";
    (void)removeTree(links);
    BERTH_TRY(makeDirs(links, 0700));
    lower.clear();
    for (std::size_t i = 0; i < layers.size(); ++i) {
      std::string name = std::to_string(i);
      if (::symlink(layers[i].c_str(), (links + "/" + name).c_str()) != 0) {
        return ioError("cannot create layer link", links + "/" + name, errno);
      }
      lower.push_back("l/" + name);
    }
    cwd = containerDir;
    upper = "upper";
    work = "work";
  }
  int err = mountIn(cwd, m.merged, build(lower, upper, work, true));
  if (err == EINVAL) err = mountIn(cwd, m.merged, build(lower, upper, work, false));  // kernels without index=
  if (err != 0) {
    return Error::make(ErrorCode::kIo,
                       "cannot mount overlay rootfs at " + m.merged + " (" + std::to_string(layers.size()) +
                           " layers): " + std::strerror(err),
                       m.merged);
  }
  return m;
}

Status unmountOverlay(const std::string& containerDir) {
  std::string merged = containerDir + "/merged";
  if (!isMountPoint(merged)) return okStatus();
  if (::umount2(merged.c_str(), 0) == 0) return okStatus();
  if (errno == EINVAL || errno == ENOENT) return okStatus();
  if (errno == EBUSY && ::umount2(merged.c_str(), MNT_DETACH) == 0) return okStatus();
  return ioError("cannot unmount", merged, errno);
}

Status removeRootfs(const std::string& containerDir) {
  BERTH_TRY(unmountOverlay(containerDir));
  if (isMountPoint(containerDir + "/merged")) {
    return Error::make(ErrorCode::kIo, "rootfs still mounted at " + containerDir + "/merged", containerDir);
  }
  for (const char* sub : {"merged", "upper", "work", "l", "empty"}) BERTH_TRY(removeTree(containerDir + "/" + sub));
  ::rmdir(containerDir.c_str());  // only if empty: the runtime may keep other files there
  return okStatus();
}

}  // namespace berth::images
