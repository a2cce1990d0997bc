#pragma once
// BlobReader over an open descriptor. Holding the descriptor (not a path) is
// what lets a download finish after sweep() unlinked the blob.
#include <string>

#include "blobstore/blob_store.h"
#include "common/unique_fd.h"

namespace berth::blobstore {

class FileBlobReader final : public BlobReader {
 public:
  FileBlobReader(UniqueFd fd, std::uint64_t size, std::string path)
      : fd_(std::move(fd)), size_(size), path_(std::move(path)) {}

  std::uint64_t size() const override { return size_; }
  Result<std::size_t> readAt(std::uint64_t offset, char* out, std::size_t max) override;

 private:
  UniqueFd fd_;
  std::uint64_t size_;
  std::string path_;  // root-relative, for error messages
};

}  // namespace berth::blobstore
