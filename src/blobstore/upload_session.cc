#include "blobstore/upload_session.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <memory>

#include "blobstore/background_hasher.h"
#include "blobstore/blob_layout.h"
#include "blobstore/fd_ops.h"
#include "common/fs_util.h"

namespace berth::blobstore {
namespace {

Error notFound(const std::string& id) {
  return Error::make(ErrorCode::kUploadNotFound, "upload " + id + " does not exist (finished, cancelled or expired)",
                     id);
}

bool isMissing(int err) { return err == ENOENT || err == ELOOP || err == ENOTDIR; }

// 'started' holds the clock's nanoseconds since the epoch as decimal text.
std::optional<std::chrono::system_clock::time_point> readStarted(int dirFd) {
  UniqueFd fd(::openat(dirFd, layout::kStartedFile, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  char buf[32];
  auto n = preadFull(fd.get(), buf, sizeof buf, 0, layout::kStartedFile);
  if (!n.ok()) return std::nullopt;
  std::int64_t ns = 0;
  auto [end, ec] = std::from_chars(buf, buf + *n, ns);
  if (ec != std::errc() || end == buf) return std::nullopt;
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(ns)));
}

}  // namespace

std::string UploadSession::dataPath() const { return path_ + "/" + layout::kDataFile; }

Status UploadSession::create(int uploadsFd, std::chrono::system_clock::time_point now) {
  if (::mkdirat(uploadsFd, id_.c_str(), 0755) != 0) return ioError("cannot create upload directory", path_, errno);
  dirFd.reset(openDirNoFollow(uploadsFd, id_));
  if (!dirFd.valid()) return ioError("cannot open upload directory", path_, errno);
  dataFd.reset(::openat(dirFd.get(), layout::kDataFile, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!dataFd.valid()) return ioError("cannot create", dataPath(), errno);
  std::string startedPath = path_ + "/" + layout::kStartedFile;
  UniqueFd started(
      ::openat(dirFd.get(), layout::kStartedFile, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!started.valid()) return ioError("cannot create", startedPath, errno);
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  BERTH_TRY(writeAll(started.get(), std::to_string(ns) + "\n", startedPath));
  // The data file's mtime is the upload's "last touched" time for expiry.
  BERTH_TRY(setFileTime(dataFd.get(), now, dataPath()));
  startedAt = now;
  size = 0;
  loaded = true;
  return okStatus();
}

Status UploadSession::load(int uploadsFd) {
  dirFd.reset(openDirNoFollow(uploadsFd, id_));
  if (!dirFd.valid()) {
    if (isMissing(errno)) return notFound(id_);
    return ioError("cannot open upload directory", path_, errno);
  }
  dataFd.reset(::openat(dirFd.get(), layout::kDataFile, O_RDWR | O_NOFOLLOW | O_CLOEXEC));
  if (!dataFd.valid()) {
    if (isMissing(errno)) return notFound(id_);  // a crash between mkdir and create: sweep removes it
    return ioError("cannot open", dataPath(), errno);
  }
  struct stat st;
  if (::fstat(dataFd.get(), &st) != 0) return ioError("cannot stat", dataPath(), errno);
  if (!S_ISREG(st.st_mode)) return notFound(id_);

  oci::DigestHasher hasher;
  std::unique_ptr<char[]> buf(new char[kAppendBufferBytes]);
  std::uint64_t total = 0;
  while (true) {
    auto n = preadFull(dataFd.get(), buf.get(), kAppendBufferBytes, total, dataPath());
    if (!n.ok()) return n.takeError();
    if (*n == 0) break;
    hasher.update(buf.get(), *n);
    total += *n;
  }
  hasher_ = std::move(hasher);
  size = total;
  startedAt = readStarted(dirFd.get()).value_or(fromTimespec(st.st_mtim));
  loaded = true;
  return okStatus();
}

void UploadSession::startWriteback(std::uint64_t written) {
  // Start (not wait for) writeback of what was written so far, so the fsync at
  // commit finds little left to do instead of flushing a whole GiB at once.
  // Only a hint: failures are harmless, the fsync at commit is what counts.
  if (written - writebackStarted_ < kWritebackBytes) return;
  (void)::sync_file_range(dataFd.get(), static_cast<off_t>(writebackStarted_),
                          static_cast<off_t>(written - writebackStarted_), SYNC_FILE_RANGE_WRITE);
  writebackStarted_ = written;
}

UploadSession::AppendOutcome UploadSession::appendFrom(const ByteSource& source, std::uint64_t maxTotalBytes) {
  // Two buffers: while one is hashed in the background, the next is filled and
  // written. A small append (one buffer) is hashed inline, without a thread.
  std::unique_ptr<char[]> buffers[2];
  buffers[0].reset(new char[kAppendBufferBytes]);
  int current = 0;
  // Declared after the buffers: its destructor drains before they are freed,
  // and before we return, so the hash always covers exactly `size` bytes.
  std::optional<BackgroundHasher> background;
  std::uint64_t written = size;  // only the busy owner changes size
  while (true) {
    char* buf = buffers[current].get();
    std::size_t fill = 0;
    bool end = false;
    std::optional<Error> sourceError;
    while (fill < kAppendBufferBytes) {
      auto n = source(buf + fill, kAppendBufferBytes - fill);
      if (!n.ok()) {
        sourceError = n.takeError();
        break;
      }
      if (*n == 0) {
        end = true;
        break;
      }
      if (*n > kAppendBufferBytes - fill) {
        sourceError = Error::make(ErrorCode::kInternal, "byte source returned more bytes than requested", id_);
        break;
      }
      fill += *n;
      if (written + fill > maxTotalBytes) return AppendOutcome{.error = std::nullopt, .tooLarge = true};
    }
    if (fill > 0) {
      if (auto st = pwriteAll(dataFd.get(), buf, fill, written, dataPath()); !st.ok()) {
        // Drop a partial write so the file matches the hash again. If even that
        // fails, commit trims the file to `size` before using it.
        (void)::ftruncate(dataFd.get(), static_cast<off_t>(written));
        return AppendOutcome{.error = st.takeError()};
      }
      // Hash only what is on disk, so file and hash agree whatever fails next.
      if (!background && !end && !sourceError) {
        buffers[1].reset(new char[kAppendBufferBytes]);
        background.emplace(hasher_);
      }
      if (background) {
        background->submit(buf, fill);  // returns once the other buffer is free
        current ^= 1;
      } else {
        hasher_.update(buf, fill);
      }
      written += fill;
      startWriteback(written);
      std::lock_guard lock(mu);
      size = written;
      if (gone) return AppendOutcome{.error = std::nullopt, .gone = true};
    }
    if (sourceError) return AppendOutcome{.error = std::move(sourceError)};
    if (end) return AppendOutcome{};
  }
}

Result<oci::Digest> UploadSession::finishDigest(oci::DigestAlgorithm algorithm) {
  if (algorithm == oci::DigestAlgorithm::kSha256) return hasher_.finish();
  // Clients push sha256 in practice; the rare sha512 commit pays one re-read
  // instead of every upload paying for two hashes.
  oci::DigestHasher hasher(algorithm);
  std::unique_ptr<char[]> buf(new char[kAppendBufferBytes]);
  std::uint64_t offset = 0;
  while (offset < size) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kAppendBufferBytes, size - offset));
    auto n = preadFull(dataFd.get(), buf.get(), want, offset, dataPath());
    if (!n.ok()) return n.takeError();
    if (*n == 0) {
      return Error::make(ErrorCode::kIo, dataPath() + " is shorter than the " + std::to_string(size) +
                                             " bytes received", dataPath());
    }
    hasher.update(buf.get(), *n);
    offset += *n;
  }
  return hasher.finish();
}

}  // namespace berth::blobstore
