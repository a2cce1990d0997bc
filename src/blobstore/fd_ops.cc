#include "blobstore/fd_ops.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "common/fs_util.h"

namespace berth::blobstore {

int openDirNoFollow(int dirfd, const std::string& name) {
  return ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

Status makeDirAt(int dirfd, const std::string& name, const std::string& path, bool* created) {
  if (created != nullptr) *created = false;
  if (::mkdirat(dirfd, name.c_str(), 0755) == 0) {
    if (created != nullptr) *created = true;
    return okStatus();
  }
  if (errno != EEXIST) return ioError("cannot create directory", path, errno);
  return okStatus();
}

Status fsyncFd(int fd, const std::string& path) {
  if (::fsync(fd) != 0) return ioError("cannot fsync", path, errno);
  return okStatus();
}

Status pwriteAll(int fd, const char* data, std::size_t size, std::uint64_t offset, const std::string& path) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ioError("cannot write", path, errno);
    }
    data += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return okStatus();
}

Result<std::size_t> preadFull(int fd, char* out, std::size_t size, std::uint64_t offset, const std::string& path) {
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, out + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ioError("cannot read", path, errno);
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

Result<std::vector<std::string>> listDir(int dirfd, const std::string& path) {
  int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ioError("cannot open directory", path, errno);
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    int err = errno;
    ::close(fd);
    return ioError("cannot read directory", path, err);
  }
  std::vector<std::string> names;
  while (true) {
    errno = 0;
    struct dirent* e = ::readdir(dir);
    if (e == nullptr) break;
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) return ioError("cannot read directory", path, err);
  return names;
}

Status removeFlatDir(int parentFd, const std::string& name, const std::string& path) {
  UniqueFd dir(openDirNoFollow(parentFd, name));
  if (!dir.valid()) {
    if (errno == ENOENT) return okStatus();
    if (errno == ELOOP || errno == ENOTDIR) {
      // Not a directory we made: drop the entry itself, never what it points to.
      if (::unlinkat(parentFd, name.c_str(), 0) != 0 && errno != ENOENT) return ioError("cannot remove", path, errno);
      return okStatus();
    }
    return ioError("cannot open directory", path, errno);
  }
  auto names = listDir(dir.get(), path);
  if (!names.ok()) return names.takeError();
  for (const auto& entry : *names) {
    if (::unlinkat(dir.get(), entry.c_str(), 0) != 0 && errno != ENOENT) {
      return ioError("cannot remove", path + "/" + entry, errno);
    }
  }
  if (::unlinkat(parentFd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return ioError("cannot remove directory", path, errno);
  }
  return okStatus();
}

std::chrono::system_clock::time_point fromTimespec(const struct timespec& ts) {
  using namespace std::chrono;
  return system_clock::time_point(duration_cast<system_clock::duration>(seconds(ts.tv_sec) + nanoseconds(ts.tv_nsec)));
}

struct timespec toTimespec(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  auto ns = duration_cast<nanoseconds>(t.time_since_epoch()).count();
  struct timespec ts;
  ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  if (ts.tv_nsec < 0) {
    ts.tv_nsec += 1'000'000'000;
    ts.tv_sec -= 1;
  }
  return ts;
}

Status setFileTime(int fd, std::chrono::system_clock::time_point t, const std::string& path) {
  struct timespec times[2] = {toTimespec(t), toTimespec(t)};
  if (::futimens(fd, times) != 0) return ioError("cannot set the time of", path, errno);
  return okStatus();
}

}  // namespace berth::blobstore
