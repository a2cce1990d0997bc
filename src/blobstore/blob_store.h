#pragma once
// BlobStore: the registry's content-addressed blob storage on local disk.
//
// Layout under `root`:
//   blobs/sha256/<first 2 hex>/<hex>   committed blobs, read-only (0444), immutable
//                                      (sha512 digests: blobs/sha512/<first 2 hex>/<hex>)
//   uploads/<uuid>/data                an upload in progress (its mtime: the last append, for expiry)
//   uploads/<uuid>/started             its creation time (startedAt after a restart)
//
// Guarantees (these are what the OCI distribution and ECR layer APIs promise):
// - A blob becomes visible (exists/open/list) only after all its bytes were
//   written, fsynced, its digest verified, and it was renamed into blobs/ with
//   the directory fsynced. An interrupted, truncated, oversized or wrong-digest
//   upload leaves nothing visible.
// - Concurrent uploads of the same content are safe: the first commit wins, the
//   others find the blob present and discard their copy (same bytes).
// - Readers hold an open descriptor, so a sweep that removes a blob never breaks
//   a download in flight (POSIX unlink semantics).
// - Sweeping never races a commit: commitUpload() runs its `publish` callback
//   (which records the blob in the registry's metadata) under the digest's lock,
//   and sweep() checks `isReferenced` and unlinks under the same lock.
//
// Upload sessions live in memory (offset and incremental hash state) with the
// data on disk; after a restart a session is reloaded lazily from its directory
// by re-hashing the data file. Thread-safe; one upload accepts one append at a
// time (a concurrent append to the same upload fails with kUploadInvalid).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/random.h"
#include "common/result.h"
#include "oci/digest.h"

namespace berth::blobstore {

struct BlobInfo {
  oci::Digest digest;
  std::uint64_t size = 0;
};

// A committed blob opened for reading. Independent of the store's lifetime
// once opened (it owns the descriptor). Not thread-safe per instance.
class BlobReader {
 public:
  virtual ~BlobReader() = default;
  virtual std::uint64_t size() const = 0;
  // pread semantics: reads up to `max` bytes at `offset`; 0 at end.
  virtual Result<std::size_t> readAt(std::uint64_t offset, char* out, std::size_t max) = 0;
};

// Pulls bytes for an append: fills up to `max` bytes, returns 0 at the end of
// the input. Errors abort the append (the bytes appended so far stay; see append()).
using ByteSource = std::function<Result<std::size_t>(char* out, std::size_t max)>;

struct UploadState {
  std::string id;
  std::uint64_t size = 0;  // bytes received so far (next append starts here)
  std::chrono::system_clock::time_point startedAt;
};

struct SweepStats {
  std::size_t blobsExamined = 0;
  std::size_t blobsRemoved = 0;
  std::uint64_t bytesRemoved = 0;
  std::size_t uploadsExpired = 0;
};

class BlobStore {
 public:
  // Creates the layout if missing. Fails with kIo when the root is unusable.
  static Result<std::unique_ptr<BlobStore>> open(const std::string& root, const Clock& clock, Random& random);
  virtual ~BlobStore() = default;

  // --- committed blobs -------------------------------------------------------
  // Size of a committed blob, or kBlobUnknown.
  virtual Result<std::uint64_t> stat(const oci::Digest& digest) const = 0;
  virtual bool exists(const oci::Digest& digest) const = 0;
  // kBlobUnknown when absent.
  virtual Result<std::unique_ptr<BlobReader>> openBlob(const oci::Digest& digest) const = 0;
  // Whole small blob (manifests, configs) into memory; kPayloadTooLarge above maxBytes.
  virtual Result<std::string> readSmall(const oci::Digest& digest, std::size_t maxBytes) const = 0;
  // Every committed blob (for garbage collection and the catalog of sizes).
  virtual std::vector<BlobInfo> list() const = 0;

  // --- uploads ---------------------------------------------------------------
  virtual Result<UploadState> beginUpload() = 0;
  // kUploadNotFound for an unknown or finished id.
  virtual Result<UploadState> uploadState(const std::string& uploadId) const = 0;
  // Appends the source's bytes at `expectedOffset`, which must equal the
  // upload's current size (else kRangeNotSatisfiable, nothing appended).
  // The upload may not grow beyond `maxTotalBytes` (kPayloadTooLarge; the upload
  // is then cancelled). On a source error the bytes read before it stay
  // appended (the client can resume from uploadState().size). Returns the new size.
  virtual Result<std::uint64_t> append(const std::string& uploadId, std::uint64_t expectedOffset,
                                       const ByteSource& source, std::uint64_t maxTotalBytes) = 0;
  // Verifies the data against `expected` (kDigestInvalid on mismatch: the upload
  // is discarded), fsyncs it and makes it visible, then calls `publish` with the
  // blob while holding the digest's lock (so sweep() cannot remove it between
  // the commit and the caller recording a reference). A publish error is
  // returned; the blob stays (sweep collects it if it stays unreferenced).
  // The upload id is gone afterwards either way. Same content committed twice is fine.
  virtual Result<BlobInfo> commitUpload(const std::string& uploadId, const oci::Digest& expected,
                                        const std::function<Status(const BlobInfo&)>& publish) = 0;
  virtual Status cancelUpload(const std::string& uploadId) = 0;

  // --- garbage collection ----------------------------------------------------
  // Runs `fn` holding the lock of `digest` (the same lock commitUpload holds
  // around publish). Used by callers that record a reference to an existing
  // blob (cross-repository mount, ECR layer already present) so a concurrent
  // sweep cannot remove the blob between the existence check and the record.
  // Digest locks are striped and not recursive: `fn`, `publish` and
  // `isReferenced` must not call withBlobLocked, commitUpload or sweep.
  virtual Status withBlobLocked(const oci::Digest& digest, const std::function<Status()>& fn) = 0;
  // Removes committed blobs for which isReferenced(digest) is false and whose
  // file is older than `grace` (fresh blobs may be about to be referenced by a
  // manifest push), each check+unlink under the digest's lock; and removes
  // uploads not touched for `uploadExpiry`.
  // Ages are measured with the injected Clock: the store stamps a blob's mtime
  // with the clock at commit (again when the same content is committed again)
  // and an upload's data file at each append, so a FakeClock works anywhere in
  // time. Age >= grace counts as old (grace 0: no grace).
  virtual SweepStats sweep(const std::function<bool(const oci::Digest&)>& isReferenced,
                           std::chrono::seconds grace, std::chrono::seconds uploadExpiry) = 0;
};

}  // namespace berth::blobstore
