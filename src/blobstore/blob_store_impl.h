#pragma once
// BlobStore on a local directory (layout and guarantees: blob_store.h).
//
// Time: every timestamp the store writes comes from the injected Clock: a
// committed blob's mtime is the commit time (refreshed when the same content
// is committed again) and an upload's data file mtime is its last append.
// sweep() compares those mtimes with clock.now(), so grace and expiry work the
// same with SystemClock and with a FakeClock anywhere in time. (Only leftovers
// of a crash, e.g. an upload directory without its data file, carry real-time
// mtimes; with a FakeClock far in the past they simply never look old.)
//
// Paths: the store keeps descriptors of root, blobs/<alg> and uploads/ open and
// reaches everything below with *at calls and O_NOFOLLOW, so a symlink planted
// under the root is never followed. Upload ids are validated before use.
//
// Locks: an UploadSession::mu may be held while taking sessionsMu_ (a new
// upload is locked before it becomes findable), never the reverse. A digest
// stripe is taken while holding neither (appends and commits own a session
// through its `busy` flag, not its mutex).
//
// Each loaded upload keeps two descriptors open (its directory and data file)
// until it is committed, cancelled or expired.
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "blobstore/blob_store.h"
#include "blobstore/digest_locks.h"
#include "common/unique_fd.h"
#include "blobstore/upload_session.h"

namespace berth::blobstore {

class BlobStoreImpl final : public BlobStore {
 public:
  static Result<std::unique_ptr<BlobStoreImpl>> create(const std::string& root, const Clock& clock, Random& random);

  Result<std::uint64_t> stat(const oci::Digest& digest) const override;
  bool exists(const oci::Digest& digest) const override;
  Result<std::unique_ptr<BlobReader>> openBlob(const oci::Digest& digest) const override;
  Result<std::string> readSmall(const oci::Digest& digest, std::size_t maxBytes) const override;
  std::vector<BlobInfo> list() const override;

  Result<UploadState> beginUpload() override;
  Result<UploadState> uploadState(const std::string& uploadId) const override;
  Result<std::uint64_t> append(const std::string& uploadId, std::uint64_t expectedOffset, const ByteSource& source,
                               std::uint64_t maxTotalBytes) override;
  Result<BlobInfo> commitUpload(const std::string& uploadId, const oci::Digest& expected,
                                const std::function<Status(const BlobInfo&)>& publish) override;
  Status cancelUpload(const std::string& uploadId) override;

  Status withBlobLocked(const oci::Digest& digest, const std::function<Status()>& fn) override;
  SweepStats sweep(const std::function<bool(const oci::Digest&)>& isReferenced, std::chrono::seconds grace,
                   std::chrono::seconds uploadExpiry) override;

  const std::string& root() const { return root_; }

 private:
  BlobStoreImpl(std::string root, const Clock& clock, Random& random)
      : root_(std::move(root)), clock_(clock), random_(random) {}

  // --- committed blobs (blob_store_impl.cc) ---
  int algorithmFd(oci::DigestAlgorithm algorithm) const;
  // blobs/<alg>/<shard> as a descriptor; -1 with errno when missing or not a plain directory.
  int openShard(const oci::Digest& digest) const;
  // The blob's file, opened read-only; kBlobUnknown when absent.
  Result<UniqueFd> openBlobFile(const oci::Digest& digest, std::uint64_t* size) const;
  // Commit's final step (under the digest's lock): rename `session`'s data into
  // place, or keep the copy already there.
  Status placeBlob(UploadSession& session, const oci::Digest& digest);
  // The sweeper's check+unlink of one blob (takes the digest's lock).
  void sweepBlob(const oci::Digest& digest, const std::function<bool(const oci::Digest&)>& isReferenced,
                 std::chrono::seconds grace, SweepStats& stats);

  // --- uploads (upload_ops.cc) ---
  // The session for a syntactically valid id whose directory exists (an
  // unloaded placeholder after a restart), else kUploadNotFound.
  Result<std::shared_ptr<UploadSession>> findSession(const std::string& uploadId) const;
  // findSession + load under the session's lock. Returns with `lock` holding
  // session->mu. A session that fails to load is retired (gone, dropped).
  Result<std::shared_ptr<UploadSession>> lockedSession(const std::string& uploadId,
                                                       std::unique_lock<std::mutex>& lock) const;
  // Takes exclusive ownership (busy) of a loaded, live session.
  Result<std::shared_ptr<UploadSession>> claimSession(const std::string& uploadId);
  void release(UploadSession& session);
  // Removes a session that was just marked gone: its directory, then its map entry.
  Status retire(const std::shared_ptr<UploadSession>& session);
  void dropFromMap(const std::shared_ptr<UploadSession>& session) const;
  std::string uploadPath(const std::string& uploadId) const;
  void expireUpload(const std::string& uploadId, std::chrono::seconds uploadExpiry, SweepStats& stats);

  const std::string root_;
  const Clock& clock_;
  Random& random_;
  UniqueFd rootFd_, blobsFd_, uploadsFd_, sha256Fd_, sha512Fd_;
  DigestLocks locks_;
  // Sessions are loaded lazily, also from const lookups (uploadState).
  mutable std::mutex sessionsMu_;
  mutable std::unordered_map<std::string, std::shared_ptr<UploadSession>> sessions_;
};

}  // namespace berth::blobstore
