// BlobStoreImpl: opening the layout, committed blobs, locking and sweeping.
// Upload sessions are in upload_ops.cc.
#include "blobstore/blob_store_impl.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "blobstore/blob_layout.h"
#include "blobstore/fd_ops.h"
#include "blobstore/file_blob_reader.h"
#include "common/fs_util.h"
#include "common/log.h"

namespace berth::blobstore {
namespace {

// errno values meaning "there is no plain file/directory of ours here" (ELOOP
// and ENOTDIR are what O_NOFOLLOW and O_DIRECTORY answer for a symlink).
bool isMissing(int err) { return err == ENOENT || err == ELOOP || err == ENOTDIR; }

Error blobUnknown(const oci::Digest& digest) {
  return Error::make(ErrorCode::kBlobUnknown, "blob " + digest.str() + " is not in the registry's blob store",
                     digest.str());
}

// Opens (creating if needed) one directory of the layout. A symlink in its place
// is refused rather than followed: the store never writes outside its root.
Status openLayoutDir(int parentFd, const std::string& parentPath, const std::string& name, UniqueFd& out) {
  const std::string path = parentPath + "/" + name;
  bool created = false;
  BERTH_TRY(makeDirAt(parentFd, name, path, &created));
  out.reset(openDirNoFollow(parentFd, name));
  if (!out.valid()) {
    if (errno == ELOOP || errno == ENOTDIR) {
      return Error::make(ErrorCode::kIo,
                         path + " is not a directory (a symlink or a file); the blob store does not follow symlinks "
                                "out of its root: move it away",
                         path);
    }
    return ioError("cannot open directory", path, errno);
  }
  // A read-only root would only fail at the first push; say so at startup.
  if (::faccessat(parentFd, name.c_str(), W_OK | X_OK, AT_EACCESS) != 0) {
    return ioError("blob store directory is not writable:", path, errno);
  }
  if (created) return fsyncFd(parentFd, parentPath);
  return okStatus();
}

}  // namespace

Result<std::unique_ptr<BlobStore>> BlobStore::open(const std::string& root, const Clock& clock, Random& random) {
  auto store = BlobStoreImpl::create(root, clock, random);
  if (!store.ok()) return store.takeError();
  return std::unique_ptr<BlobStore>(std::move(store).value());
}

Result<std::unique_ptr<BlobStoreImpl>> BlobStoreImpl::create(const std::string& root, const Clock& clock,
                                                             Random& random) {
  if (root.empty()) return Error::make(ErrorCode::kIo, "blob store root is empty: configure a directory");
  if (auto st = makeDirs(root); !st.ok()) {
    return Error::make(ErrorCode::kIo, "blob store root is unusable: " + st.error().message, root);
  }
  std::unique_ptr<BlobStoreImpl> store(new BlobStoreImpl(root, clock, random));
  store->rootFd_.reset(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!store->rootFd_.valid()) return ioError("cannot open blob store root", root, errno);
  const std::string blobs = root + "/" + layout::kBlobsDir;
  BERTH_TRY(openLayoutDir(store->rootFd_.get(), root, layout::kBlobsDir, store->blobsFd_));
  BERTH_TRY(openLayoutDir(store->rootFd_.get(), root, layout::kUploadsDir, store->uploadsFd_));
  BERTH_TRY(openLayoutDir(store->blobsFd_.get(), blobs, "sha256", store->sha256Fd_));
  BERTH_TRY(openLayoutDir(store->blobsFd_.get(), blobs, "sha512", store->sha512Fd_));
  return store;
}

// --- committed blobs ---------------------------------------------------------

int BlobStoreImpl::algorithmFd(oci::DigestAlgorithm algorithm) const {
  return algorithm == oci::DigestAlgorithm::kSha256 ? sha256Fd_.get() : sha512Fd_.get();
}

int BlobStoreImpl::openShard(const oci::Digest& digest) const {
  return openDirNoFollow(algorithmFd(digest.algorithm()), layout::shardName(digest));
}

Result<UniqueFd> BlobStoreImpl::openBlobFile(const oci::Digest& digest, std::uint64_t* size) const {
  if (digest.empty()) return blobUnknown(digest);
  const std::string path = root_ + "/" + layout::blobRelPath(digest);
  UniqueFd shard(openShard(digest));
  if (!shard.valid()) {
    if (isMissing(errno)) return blobUnknown(digest);
    return ioError("cannot open directory of", path, errno);
  }
  UniqueFd fd(::openat(shard.get(), digest.hex().c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    if (isMissing(errno)) return blobUnknown(digest);
    return ioError("cannot open blob", path, errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ioError("cannot stat blob", path, errno);
  if (!S_ISREG(st.st_mode)) return blobUnknown(digest);
  *size = static_cast<std::uint64_t>(st.st_size);
  return fd;
}

Result<std::uint64_t> BlobStoreImpl::stat(const oci::Digest& digest) const {
  if (digest.empty()) return blobUnknown(digest);
  UniqueFd shard(openShard(digest));
  if (!shard.valid()) {
    if (isMissing(errno)) return blobUnknown(digest);
    return ioError("cannot open directory of", root_ + "/" + layout::blobRelPath(digest), errno);
  }
  struct stat st;
  if (::fstatat(shard.get(), digest.hex().c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (isMissing(errno)) return blobUnknown(digest);
    return ioError("cannot stat blob", root_ + "/" + layout::blobRelPath(digest), errno);
  }
  if (!S_ISREG(st.st_mode)) return blobUnknown(digest);
  return static_cast<std::uint64_t>(st.st_size);
}

bool BlobStoreImpl::exists(const oci::Digest& digest) const { return stat(digest).ok(); }

Result<std::unique_ptr<BlobReader>> BlobStoreImpl::openBlob(const oci::Digest& digest) const {
  std::uint64_t size = 0;
  auto fd = openBlobFile(digest, &size);
  if (!fd.ok()) return fd.takeError();
  return std::unique_ptr<BlobReader>(
      std::make_unique<FileBlobReader>(std::move(fd).value(), size, root_ + "/" + layout::blobRelPath(digest)));
}

Result<std::string> BlobStoreImpl::readSmall(const oci::Digest& digest, std::size_t maxBytes) const {
  std::uint64_t size = 0;
  auto fd = openBlobFile(digest, &size);
  if (!fd.ok()) return fd.takeError();
  if (size > maxBytes) {
    return Error::make(ErrorCode::kPayloadTooLarge,
                       "blob " + digest.str() + " is " + std::to_string(size) + " bytes, more than the " +
                           std::to_string(maxBytes) + " allowed here",
                       digest.str());
  }
  std::string out(static_cast<std::size_t>(size), '\0');
  const std::string path = root_ + "/" + layout::blobRelPath(digest);
  auto n = preadFull(fd->get(), out.data(), out.size(), 0, path);
  if (!n.ok()) return n.takeError();
  if (*n != out.size()) return Error::make(ErrorCode::kIo, "blob " + path + " shrank while being read", path);
  return out;
}

std::vector<BlobInfo> BlobStoreImpl::list() const {
  std::vector<BlobInfo> out;
  for (auto algorithm : {oci::DigestAlgorithm::kSha256, oci::DigestAlgorithm::kSha512}) {
    const std::string algPath = root_ + "/" + layout::kBlobsDir + "/" + std::string(layout::algorithmDir(algorithm));
    auto shards = listDir(algorithmFd(algorithm), algPath);
    if (!shards.ok()) {
      log::warn("blob store: cannot list blobs", {{"error", shards.error().message}});
      continue;
    }
    for (const auto& shard : *shards) {
      UniqueFd shardFd(openDirNoFollow(algorithmFd(algorithm), shard));
      if (!shardFd.valid()) continue;  // a stray file or symlink: not ours
      auto names = listDir(shardFd.get(), algPath + "/" + shard);
      if (!names.ok()) {
        log::warn("blob store: cannot list blobs", {{"error", names.error().message}});
        continue;
      }
      for (const auto& name : *names) {
        auto digest = layout::digestFromEntry(algorithm, shard, name);
        if (!digest) continue;
        struct stat st;
        if (::fstatat(shardFd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
        out.push_back(BlobInfo{std::move(*digest), static_cast<std::uint64_t>(st.st_size)});
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const BlobInfo& a, const BlobInfo& b) {
    return a.digest.algorithm() != b.digest.algorithm() ? a.digest.algorithm() < b.digest.algorithm()
                                                        : a.digest.hex() < b.digest.hex();
  });
  return out;
}

Status BlobStoreImpl::placeBlob(UploadSession& session, const oci::Digest& digest) {
  const std::string path = root_ + "/" + layout::blobRelPath(digest);
  const int algFd = algorithmFd(digest.algorithm());
  const std::string shardName = layout::shardName(digest);
  bool created = false;
  BERTH_TRY(makeDirAt(algFd, shardName, path, &created));
  if (created) BERTH_TRY(fsyncFd(algFd, root_ + "/" + layout::kBlobsDir));
  UniqueFd shard(openShard(digest));
  if (!shard.valid()) return ioError("cannot open directory of", path, errno);

  struct stat st;
  if (::fstatat(shard.get(), digest.hex().c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
      static_cast<std::uint64_t>(st.st_size) == session.size) {
    // Same content is already there (first commit won). Restart its grace
    // period: this push is about to reference it too.
    struct timespec times[2] = {toTimespec(clock_.now()), toTimespec(clock_.now())};
    if (::utimensat(shard.get(), digest.hex().c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      return ioError("cannot set the time of", path, errno);
    }
    return okStatus();
  }
  // Anything else under that name (a truncated file, a symlink) is replaced.
  if (::renameat(session.dirFd.get(), layout::kDataFile, shard.get(), digest.hex().c_str()) != 0) {
    return ioError("cannot move upload into", path, errno);
  }
  return fsyncFd(shard.get(), path);
}

// --- locking and sweeping --------------------------------------------------

Status BlobStoreImpl::withBlobLocked(const oci::Digest& digest, const std::function<Status()>& fn) {
  std::lock_guard lock(locks_.forDigest(digest));
  return fn();
}

void BlobStoreImpl::sweepBlob(const oci::Digest& digest, const std::function<bool(const oci::Digest&)>& isReferenced,
                              std::chrono::seconds grace, SweepStats& stats) {
  std::lock_guard lock(locks_.forDigest(digest));
  UniqueFd shard(openShard(digest));
  if (!shard.valid()) return;
  struct stat st;
  if (::fstatat(shard.get(), digest.hex().c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) return;
  // A blob exactly `grace` old is collected, so grace 0 means "no grace".
  if (clock_.now() - fromTimespec(st.st_mtim) < grace) return;
  if (isReferenced(digest)) return;
  if (::unlinkat(shard.get(), digest.hex().c_str(), 0) != 0) {
    log::warn("blob store: cannot remove unreferenced blob",
              {{"digest", digest.str()}, {"error", ioError("unlink", layout::blobRelPath(digest), errno).message}});
    return;
  }
  ++stats.blobsRemoved;
  stats.bytesRemoved += static_cast<std::uint64_t>(st.st_size);
  log::info("blob store: removed unreferenced blob", {{"digest", digest.str()}, {"size", st.st_size}});
}

SweepStats BlobStoreImpl::sweep(const std::function<bool(const oci::Digest&)>& isReferenced,
                                std::chrono::seconds grace, std::chrono::seconds uploadExpiry) {
  SweepStats stats;
  for (const auto& blob : list()) {
    ++stats.blobsExamined;
    sweepBlob(blob.digest, isReferenced, grace, stats);
  }
  auto uploads = listDir(uploadsFd_.get(), root_ + "/" + layout::kUploadsDir);
  if (!uploads.ok()) {
    log::warn("blob store: cannot list uploads", {{"error", uploads.error().message}});
    return stats;
  }
  for (const auto& id : *uploads) {
    if (layout::isUploadId(id)) expireUpload(id, uploadExpiry, stats);
  }
  return stats;
}

}  // namespace berth::blobstore
