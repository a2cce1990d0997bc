#pragma once
// The node's content store, shared by every image:
//
//   <root>/blobs/<alg>/<hex>      verified blobs (manifests, configs, layers)
//   <root>/ingest/                temp files of blobs being downloaded
//   <root>/layers/<alg>/<hex>     each layer unpacked once, keyed by its blob digest
//   <root>/images/<sha256(ref)>.json   image records: reference → manifest, config, layers
//   <root>/locks/                 per-digest flock files
//
// Invariants: a path under blobs/ or layers/ exists only once complete and
// verified (written to a temp name, fsynced, renamed). A blob whose bytes do not
// hash to its digest never appears. Concurrent writers of the same digest (threads
// or processes) are safe: each writes its own temp file and the rename is atomic;
// lockDigest() lets callers avoid duplicate downloads/unpacks.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "oci/digest.h"

namespace berth::images {

// Streams one blob into the store, hashing as it goes.
class BlobWriter {
 public:
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;
  ~BlobWriter();  // an uncommitted writer deletes its temp file

  // Fails (kInvalidParameter) as soon as more than the expected size arrives.
  Status write(const void* data, std::size_t size);
  Status write(std::string_view data) { return write(data.data(), data.size()); }
  // Verifies size and digest, fsyncs and renames into place. On a mismatch the
  // temp file is deleted and the error (kInvalidParameter) names both digests.
  Status commit();
  std::uint64_t bytesWritten() const { return written_; }

 private:
  friend class ContentStore;
  BlobWriter(oci::Digest expected, std::optional<std::int64_t> size, std::string tempPath, std::string finalPath,
             int fd);
  void abort();

  oci::Digest expected_;
  std::optional<std::int64_t> expectedSize_;
  std::string tempPath_, finalPath_;
  int fd_;
  std::uint64_t written_ = 0;
  oci::DigestHasher hasher_;
  bool done_ = false;
};

// What a pulled image is, recorded so `once`/`prefer-cached` work across restarts.
struct ImageRecord {
  std::string reference;  // normalised reference it was pulled as
  oci::Digest manifestDigest;
  std::string manifestMediaType;
  oci::Digest configDigest;
  std::vector<oci::Digest> layers;  // bottom first (blob digests)
  std::vector<std::string> layerMediaTypes;

  nlohmann::json toJson() const;
  static Result<ImageRecord> fromJson(const nlohmann::json& j);
};

// Held while a digest is being fetched or unpacked; releases on destruction.
class DigestLock {
 public:
  DigestLock(DigestLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  DigestLock& operator=(DigestLock&&) = delete;
  ~DigestLock();

 private:
  friend class ContentStore;
  explicit DigestLock(int fd) : fd_(fd) {}
  int fd_;
};

struct ContentStoreOptions {
  // syncfs() an unpacked layer before publishing it, so a crash cannot leave a
  // published layer with missing contents. Off only for benchmarks/tests.
  bool syncLayers = true;
};

class ContentStore {
 public:
  // Creates the layout under `root` if needed and removes stale temp files.
  static Result<std::unique_ptr<ContentStore>> open(const std::string& root, ContentStoreOptions options = {});

  const std::string& root() const { return root_; }
  std::string blobPath(const oci::Digest& d) const;
  std::string layerPath(const oci::Digest& d) const;
  bool hasBlob(const oci::Digest& d) const;
  bool hasLayer(const oci::Digest& d) const;

  // `size` (from the descriptor) is enforced while streaming when given.
  Result<std::unique_ptr<BlobWriter>> beginWrite(const oci::Digest& expected, std::optional<std::int64_t> size);
  // Verifies and stores an in-memory blob (manifests, configs).
  Status putBlob(const oci::Digest& expected, std::string_view data);
  Result<std::string> readBlob(const oci::Digest& d, std::size_t maxBytes) const;

  // Exclusive lock on a digest across threads and processes (flock).
  Result<DigestLock> lockDigest(const oci::Digest& d);

  // Unpacks the layer blob (which must be in the store) into layerPath() once;
  // later calls (and concurrent ones) return the existing directory.
  Result<std::string> ensureUnpacked(const oci::Digest& layer);

  Status putImage(const ImageRecord& record);
  // kNotFound when no record exists for the (normalised) reference.
  Result<ImageRecord> getImage(const std::string& reference) const;

 private:
  ContentStore(std::string root, ContentStoreOptions options) : root_(std::move(root)), options_(options) {}
  std::string imageRecordPath(const std::string& reference) const;

  std::string root_;
  ContentStoreOptions options_;
};

}  // namespace berth::images
