#include "blobstore/file_blob_reader.h"

#include <cerrno>

#include "common/fs_util.h"

namespace berth::blobstore {

Result<std::size_t> FileBlobReader::readAt(std::uint64_t offset, char* out, std::size_t max) {
  if (offset >= size_ || max == 0) return std::size_t{0};
  // Blobs are immutable; clamp to the size seen at open so a reader never
  // reports more than size() even if the file were tampered with.
  std::uint64_t left = size_ - offset;
  if (max > left) max = static_cast<std::size_t>(left);
  while (true) {
    ssize_t n = ::pread(fd_.get(), out, max, static_cast<off_t>(offset));
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) return ioError("cannot read blob", path_, errno);
  }
}

}  // namespace berth::blobstore
