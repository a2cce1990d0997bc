// BlobStoreImpl: upload sessions (begin, state, append, commit, cancel, expiry).
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "blobstore/blob_layout.h"
#include "blobstore/blob_store_impl.h"
#include "blobstore/fd_ops.h"
#include "common/fs_util.h"
#include "common/log.h"

namespace berth::blobstore {
namespace {

Error uploadNotFound(const std::string& uploadId) {
  return Error::make(ErrorCode::kUploadNotFound,
                     "upload " + uploadId + " does not exist (unknown id, or finished, cancelled or expired)",
                     uploadId);
}

Error uploadBusy(const std::string& uploadId) {
  return Error::make(ErrorCode::kUploadInvalid,
                     "upload " + uploadId + " is busy with another request; send its chunks one at a time", uploadId);
}

}  // namespace

std::string BlobStoreImpl::uploadPath(const std::string& uploadId) const {
  return root_ + "/" + layout::kUploadsDir + "/" + uploadId;
}

Result<std::shared_ptr<UploadSession>> BlobStoreImpl::findSession(const std::string& uploadId) const {
  // Validated before any path is built: "../x" never reaches openat.
  if (!layout::isUploadId(uploadId)) return uploadNotFound(uploadId);
  std::lock_guard lock(sessionsMu_);
  if (auto it = sessions_.find(uploadId); it != sessions_.end()) return it->second;
  // Not in memory: maybe an upload from before a restart. The placeholder is
  // loaded by the first caller that locks it.
  struct stat st;
  if (::fstatat(uploadsFd_.get(), uploadId.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) {
    return uploadNotFound(uploadId);
  }
  auto session = std::make_shared<UploadSession>(uploadId, uploadPath(uploadId));
  sessions_.emplace(uploadId, session);
  return session;
}

Result<std::shared_ptr<UploadSession>> BlobStoreImpl::lockedSession(const std::string& uploadId,
                                                                    std::unique_lock<std::mutex>& lock) const {
  auto found = findSession(uploadId);
  if (!found.ok()) return found.takeError();
  std::shared_ptr<UploadSession> session = std::move(found).value();
  lock = std::unique_lock(session->mu);
  if (session->gone) return uploadNotFound(uploadId);
  if (!session->loaded) {
    if (auto st = session->load(uploadsFd_.get()); !st.ok()) {
      // Retire this object so every waiter sees "gone"; a later lookup starts
      // afresh from the directory (still there for the sweeper if unusable).
      session->gone = true;
      lock.unlock();
      dropFromMap(session);
      return st.takeError();
    }
  }
  return session;
}

Result<std::shared_ptr<UploadSession>> BlobStoreImpl::claimSession(const std::string& uploadId) {
  std::unique_lock<std::mutex> lock;
  auto session = lockedSession(uploadId, lock);
  if (!session.ok()) return session.takeError();
  if ((*session)->busy) return uploadBusy(uploadId);
  (*session)->busy = true;
  return session;
}

void BlobStoreImpl::release(UploadSession& session) {
  std::lock_guard lock(session.mu);
  session.busy = false;
}

void BlobStoreImpl::dropFromMap(const std::shared_ptr<UploadSession>& session) const {
  std::lock_guard lock(sessionsMu_);
  auto it = sessions_.find(session->id());
  if (it != sessions_.end() && it->second == session) sessions_.erase(it);
}

Status BlobStoreImpl::retire(const std::shared_ptr<UploadSession>& session) {
  // Directory first, map entry second: while the directory exists, lookups
  // still find this (gone) session instead of reloading the directory.
  Status removed = removeFlatDir(uploadsFd_.get(), session->id(), session->path());
  dropFromMap(session);
  if (!removed.ok()) {
    log::warn("blob store: cannot remove upload directory",
              {{"upload", session->id()}, {"error", removed.error().message}});
  }
  return removed;
}

Result<UploadState> BlobStoreImpl::beginUpload() {
  constexpr int kAttempts = 8;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    std::string id = random_.uuid();
    auto session = std::make_shared<UploadSession>(id, uploadPath(id));
    // Locked before it is findable, so nobody sees it half created.
    std::unique_lock lock(session->mu);
    {
      std::lock_guard mapLock(sessionsMu_);
      struct stat st;
      // An id in use in memory or on disk (a replayed seed after a restart) is skipped.
      if (sessions_.count(id) != 0 || ::fstatat(uploadsFd_.get(), id.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) continue;
      sessions_.emplace(id, session);
    }
    if (auto st = session->create(uploadsFd_.get(), clock_.now()); !st.ok()) {
      session->gone = true;
      lock.unlock();
      (void)retire(session);  // the directory is ours: create() made it
      return st.takeError();
    }
    return UploadState{.id = id, .size = 0, .startedAt = session->startedAt};
  }
  return Error::make(ErrorCode::kInternal, "could not pick an unused upload id", root_);
}

Result<UploadState> BlobStoreImpl::uploadState(const std::string& uploadId) const {
  std::unique_lock<std::mutex> lock;
  auto session = lockedSession(uploadId, lock);
  if (!session.ok()) return session.takeError();
  return UploadState{.id = uploadId, .size = (*session)->size, .startedAt = (*session)->startedAt};
}

Result<std::uint64_t> BlobStoreImpl::append(const std::string& uploadId, std::uint64_t expectedOffset,
                                            const ByteSource& source, std::uint64_t maxTotalBytes) {
  std::shared_ptr<UploadSession> session;
  {
    std::unique_lock<std::mutex> lock;
    auto found = lockedSession(uploadId, lock);
    if (!found.ok()) return found.takeError();
    session = std::move(found).value();
    if (session->busy) return uploadBusy(uploadId);
    if (expectedOffset != session->size) {
      return Error::make(ErrorCode::kRangeNotSatisfiable,
                         "upload " + uploadId + " has " + std::to_string(session->size) +
                             " bytes; the next chunk must start at offset " + std::to_string(session->size) +
                             ", not " + std::to_string(expectedOffset),
                         uploadId);
    }
    session->busy = true;
  }

  auto outcome = session->appendFrom(source, maxTotalBytes);
  if (outcome.tooLarge) {
    {
      std::lock_guard lock(session->mu);
      session->gone = true;
    }
    (void)retire(session);
    return Error::make(ErrorCode::kPayloadTooLarge,
                       "upload " + uploadId + " would grow beyond the limit of " + std::to_string(maxTotalBytes) +
                           " bytes; the upload is cancelled",
                       uploadId);
  }
  if (outcome.gone) return uploadNotFound(uploadId);
  // Even after a source error some bytes may have landed: the upload was touched.
  if (auto st = setFileTime(session->dataFd.get(), clock_.now(), session->dataPath()); !st.ok()) {
    log::warn("blob store: cannot mark upload as active", {{"upload", uploadId}, {"error", st.error().message}});
  }
  std::uint64_t size;
  {
    std::lock_guard lock(session->mu);
    session->busy = false;
    size = session->size;
  }
  if (outcome.error) return std::move(*outcome.error);
  return size;
}

Result<BlobInfo> BlobStoreImpl::commitUpload(const std::string& uploadId, const oci::Digest& expected,
                                             const std::function<Status(const BlobInfo&)>& publish) {
  if (expected.empty()) {
    return Error::make(ErrorCode::kDigestInvalid, "a digest is required to complete upload " + uploadId, uploadId);
  }
  auto claimed = claimSession(uploadId);
  if (!claimed.ok()) return claimed.takeError();
  std::shared_ptr<UploadSession> session = std::move(claimed).value();
  {
    // The id is finished whatever happens below.
    std::lock_guard lock(session->mu);
    session->gone = true;
  }
  auto actual = session->finishDigest(expected.algorithm());
  if (!actual.ok()) {
    (void)retire(session);
    return actual.takeError();
  }
  if (*actual != expected) {
    (void)retire(session);
    return Error::make(ErrorCode::kDigestInvalid,
                       "uploaded content has digest " + actual->str() + ", not the " + expected.str() +
                           " given; the upload is discarded",
                       expected.str());
  }

  Status prepared = [&]() -> Status {
    const int fd = session->dataFd.get();
    const std::string path = session->dataPath();
    struct stat st;
    if (::fstat(fd, &st) != 0) return ioError("cannot stat", path, errno);
    // Only after a failed write that could not be undone is the file longer than what was hashed.
    if (static_cast<std::uint64_t>(st.st_size) != session->size &&
        ::ftruncate(fd, static_cast<off_t>(session->size)) != 0) {
      return ioError("cannot truncate", path, errno);
    }
    if (::fchmod(fd, layout::kBlobMode) != 0) return ioError("cannot make read-only", path, errno);
    BERTH_TRY(setFileTime(fd, clock_.now(), path));
    return fsyncFd(fd, path);
  }();
  if (!prepared.ok()) {
    (void)retire(session);
    return prepared.takeError();
  }

  BlobInfo info{.digest = expected, .size = session->size};
  Status placed = okStatus();
  Status published = okStatus();
  {
    std::lock_guard lock(locks_.forDigest(expected));
    placed = placeBlob(*session, expected);
    if (placed.ok() && publish) published = publish(info);
  }
  (void)retire(session);  // the blob is in place; a leftover directory is only litter for the sweeper
  if (!placed.ok()) return placed.takeError();
  if (!published.ok()) return published.takeError();
  return info;
}

Status BlobStoreImpl::cancelUpload(const std::string& uploadId) {
  std::shared_ptr<UploadSession> session;
  {
    std::unique_lock<std::mutex> lock;
    auto found = lockedSession(uploadId, lock);
    if (!found.ok()) return found.takeError();
    session = std::move(found).value();
    // A running append notices at its next write and stops; its descriptor
    // keeps the unlinked file alive until then.
    session->gone = true;
  }
  return retire(session);
}

void BlobStoreImpl::expireUpload(const std::string& uploadId, std::chrono::seconds uploadExpiry, SweepStats& stats) {
  auto found = findSession(uploadId);
  if (!found.ok()) return;
  std::shared_ptr<UploadSession> session = std::move(found).value();
  {
    std::lock_guard lock(session->mu);
    if (session->gone || session->busy) return;
    // The data file's mtime is the last append (clock time); a directory
    // without one is a crash leftover and ages by its own mtime.
    struct stat st;
    int rc;
    if (session->loaded) {
      rc = ::fstat(session->dataFd.get(), &st);
    } else {
      UniqueFd dir(openDirNoFollow(uploadsFd_.get(), uploadId));
      if (!dir.valid()) return;
      rc = ::fstatat(dir.get(), layout::kDataFile, &st, AT_SYMLINK_NOFOLLOW);
      if (rc != 0) rc = ::fstat(dir.get(), &st);
    }
    if (rc != 0) return;
    if (clock_.now() - fromTimespec(st.st_mtim) < uploadExpiry) return;
    session->gone = true;
  }
  if (retire(session).ok()) {
    ++stats.uploadsExpired;
    log::info("blob store: removed expired upload", {{"upload", uploadId}});
  }
}

}  // namespace berth::blobstore
