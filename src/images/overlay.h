#pragma once
// A container's root filesystem: the image's unpacked layers stacked read-only
// under a per-container writable upper directory with overlayfs.
//
//   <containerDir>/upper    the container's writes
//   <containerDir>/work     overlayfs scratch (same filesystem as upper)
//   <containerDir>/merged   the mount point: the container's "/"
//   <containerDir>/l/<n>    short symlinks to layers, only for very deep images
//
// overlayfs takes its options in one page (4096 bytes). When the absolute
// lowerdir list would not fit, the mount is made by a forked child that chdir()s
// into containerDir and names the layers through the short l/<n> symlinks
// (relative paths are resolved at mount time; fork keeps the agent's own cwd
// untouched, which other threads rely on). That allows overlayfs's own maximum
// of 500 layers. read-only rootfs is the runtime's job (bundle's root.readonly).
#include <string>
#include <vector>

#include "common/result.h"
#include "images/image_store.h"

namespace berth::images {

struct MountedRootfs {
  std::string containerDir;
  std::string merged;  // pass as the OCI bundle's root.path
  std::string upper;
  std::string work;
};

// Mounts image.layerDirs (bottom first) under containerDir (created if missing).
// Mounting again over an existing mount fails with kConflict.
Result<MountedRootfs> mountOverlay(const Image& image, const std::string& containerDir);
Result<MountedRootfs> mountOverlayLayers(const std::vector<std::string>& layerDirsBottomFirst,
                                         const std::string& containerDir);

// Unmounts <containerDir>/merged if mounted (lazy detach if busy). Idempotent, so
// it also works after an agent restart with only the directory to go on.
Status unmountOverlay(const std::string& containerDir);
// unmountOverlay, then deletes upper/, work/, merged/ and l/ (and containerDir if
// it is then empty).
Status removeRootfs(const std::string& containerDir);

bool isMountPoint(const std::string& path);

}  // namespace berth::images
