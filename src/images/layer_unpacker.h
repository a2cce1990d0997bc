#pragma once
// Unpacks one image layer (a tar, plain / gzip / zstd, detected from the bytes)
// into its own directory, in the form overlayfs reads as a lower layer.
//
// Layers are hostile input. Every path is confined to the target directory:
//  * absolute paths and ".." components are refused;
//  * nothing is ever created "through" a symlink that leaves the target: every
//    parent directory is opened with openat2(RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS)
//    relative to the target's fd, and the last component is created with *at()
//    calls that never follow it (O_EXCL|O_NOFOLLOW; an existing entry is removed
//    first, so a planted symlink is replaced, never written through);
//  * hard links must name an existing non-directory inside the layer;
//  * character and block devices are refused (we run as root, so the kernel would
//    happily create them); the only device created is the 0/0 character device,
//    overlayfs's whiteout, and only by us. FIFOs are allowed (harmless);
//  * trusted.* and security.* xattrs other than security.capability are dropped,
//    so a layer cannot forge overlayfs metadata (trusted.overlay.redirect...).
// Symlink *contents* are not checked: a symlink to /etc is legitimate in an image;
// it is only ever resolved inside the container's root at run time.
//
// OCI whiteouts (image-spec layer.md): ".wh.<name>" becomes an overlay whiteout
// (char device 0/0) named <name>; ".wh..wh..opq" marks its directory opaque
// (xattr trusted.overlay.opaque=y). Since each layer unpacks into its own empty
// directory, lower layers can never influence where this layer's files land.
#include <cstdint>
#include <string>

#include "common/result.h"

namespace berth::images {

struct UnpackStats {
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;  // file content bytes written
};

// `targetDir` must exist (normally empty). On error the target may hold a
// partial tree (the caller unpacks into a temp dir and deletes it), but nothing
// is ever written outside it. Errors are kInvalidParameter for hostile or
// malformed archives (message names the entry) and kIo for local failures.
Result<UnpackStats> unpackLayer(const std::string& archivePath, const std::string& targetDir);

}  // namespace berth::images
