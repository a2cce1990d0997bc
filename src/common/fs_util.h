#pragma once
// Small POSIX file helpers: durable writes, bounded reads, safe removal.
// Shared by the credentials file, the image content store, the layer
// unpacker and the agent's local record.
#include <string>
#include <string_view>

#include "common/result.h"

namespace berth {

// "what failed: strerror(errno)" as a kIo error, with `path` as context.
Error ioError(std::string_view what, const std::string& path, int err);

// write(2) until all of `data` is written (retrying EINTR and short writes).
Status writeAll(int fd, std::string_view data, const std::string& path);

// mkdir -p with mode for newly created directories.
Status makeDirs(const std::string& path, unsigned mode = 0755);
// fsync a directory so a rename or create inside it is durable.
Status fsyncDir(const std::string& path);
// rm -rf that never follows symlinks; a missing path is success.
Status removeTree(const std::string& path);
// Writes `data` to `path` atomically: temp file in the same dir (created with
// `mode`), fsync, rename, fsync dir. Readers see the old or the new file, never a mix.
Status writeFileAtomic(const std::string& path, std::string_view data, unsigned mode = 0644);
// Reads a whole (small) file, refusing files larger than maxBytes.
Result<std::string> readFile(const std::string& path, std::size_t maxBytes);

}  // namespace berth
